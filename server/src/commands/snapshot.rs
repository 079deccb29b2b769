//! `vexil snapshot`: print a namespace's snapshot JSON.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::SnapshotArgs;
use crate::source;

pub fn run(args: &SnapshotArgs) -> anyhow::Result<ExitCode> {
    let namespace =
        source::load_namespace(&args.flags, &args.namespace, &args.file_limits.limits())?;
    let snapshot = vexil_eval::write_snapshot(&namespace);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(snapshot.json.as_bytes())?;
    stdout.write_all(b"\n")?;
    Ok(ExitCode::SUCCESS)
}
