//! One module per subcommand.

mod completions;
mod evaluate;
mod inspect;
mod keygen;
mod probe;
pub mod serve;
mod snapshot;
mod validate;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Snapshot(args) => snapshot::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Probe(args) => probe::run(&args),
        Command::Completions(args) => completions::run(&args),
    }
}
