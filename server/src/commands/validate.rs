//! `vexil validate`: every error in the given flag files, as a compiler prints them.

use std::process::ExitCode;

use crate::cli::{Format, ValidateArgs};
use crate::source;

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let diagnostics = source::validate(&args.paths, &args.file_limits.limits())?;
    match args.format {
        Format::Text => {
            for diagnostic in &diagnostics {
                println!("{diagnostic}");
            }
            if diagnostics.is_empty() {
                eprintln!("ok: no errors");
            } else {
                eprintln!("{} error(s)", diagnostics.len());
            }
        }
        Format::Json => {
            let list: Vec<serde_json::Value> = diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "file": d.file().display().to_string(),
                        "line": d.line(),
                        "column": d.column(),
                        "path": d.path(),
                        "message": d.message(),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
        }
    }
    Ok(if diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
