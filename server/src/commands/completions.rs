//! `vexil completions SHELL`: the shell's completion script, written by clap_complete from the
//! same definitions the command line parses with.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "vexil",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
