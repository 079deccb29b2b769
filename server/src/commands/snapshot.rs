//! `vexil snapshot`: a namespace's snapshot, as Flipt's JSON or compiled.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{SnapshotArgs, SnapshotFormat};
use crate::source;

pub fn run(args: &SnapshotArgs) -> anyhow::Result<ExitCode> {
    let limits = args.file_limits.limits();
    let namespace = match &args.from_snapshot {
        Some(file) => {
            let bytes = source::read_bounded(file, limits.max_file_bytes)?;
            vexil_eval::read_snapshot(&bytes)
                .with_context(|| format!("reading {}", file.display()))?
        }
        None => {
            let flags = args.flags.as_deref().context(crate::cli::NO_FLAGS)?;
            source::load_namespace(flags, &args.namespace, &limits)?
        }
    };
    let bytes = match args.format {
        SnapshotFormat::Json => {
            let mut json = vexil_eval::write_snapshot(&namespace).json.into_bytes();
            json.push(b'\n');
            json
        }
        SnapshotFormat::Compiled => {
            let index = vexil_eval::Index::compile(&namespace)
                .map_err(|error| anyhow::anyhow!("{}: {error}", namespace.key))?;
            let document = vexil_eval::write_compiled(&index).bytes;
            match &args.signing_key {
                Some(file) => {
                    let issued_at = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |since| since.as_secs());
                    crate::signing::Signer::load(file)?.sign(
                        &document,
                        issued_at,
                        &args.environment,
                    )
                }
                None => document,
            }
        }
    };
    match &args.output {
        Some(file) => {
            std::fs::write(file, &bytes).with_context(|| format!("writing {}", file.display()))?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
