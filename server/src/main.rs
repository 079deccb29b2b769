//! The `vexil` binary: the server and the command-line tool.

use std::process::ExitCode;

use vexil::{alloc, commands, config};

/// Every allocation is counted, for `/metrics`.
#[global_allocator]
static ALLOCATOR: alloc::CountingAllocator = alloc::CountingAllocator;

fn main() -> ExitCode {
    let cli = match config::parse_args(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(config::ParseError::Usage(error)) => error.exit(),
        Err(config::ParseError::Config(error)) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
