//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Vexil: feature flags evaluated where the user is, compatible with Flipt.
#[derive(Parser, Debug)]
#[command(name = "vexil", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check flag files and report every error as `file:line:col: message`.
    Validate(ValidateArgs),
    /// Evaluate flags: a Flipt batch request, or one flag explained step by step.
    Evaluate(EvaluateArgs),
    /// Print a namespace's snapshot JSON, as clients download it.
    Snapshot(SnapshotArgs),
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Flag files or directories to check (directories are searched as `vexil serve` would).
    #[arg(default_value = "examples/flags")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Where flags come from: a directory of flag files or a snapshot file.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct FlagSource {
    /// Directory of flag files.
    #[arg(long, env = "VEXIL_FLAGS")]
    pub flags: Option<PathBuf>,
    /// A snapshot JSON file (as `vexil snapshot` prints or a Flipt server serves).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub source: FlagSource,
    /// Namespace of requests that name none.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// A Flipt batch request file (`-` for standard input); prints Flipt's batch response.
    #[arg(long, conflicts_with_all = ["flag", "entity", "context"])]
    pub batch: Option<PathBuf>,
    /// The flag to explain.
    #[arg(long, requires = "entity", required_unless_present = "batch")]
    pub flag: Option<String>,
    /// The entity to evaluate for.
    #[arg(long)]
    pub entity: Option<String>,
    /// A context property as `key=value`; repeat for more.
    #[arg(long, value_parser = parse_pair)]
    pub context: Vec<(String, String)>,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// Directory of flag files.
    #[arg(long, env = "VEXIL_FLAGS", default_value = "examples/flags")]
    pub flags: PathBuf,
    /// The namespace to print.
    #[arg(long, default_value = "default")]
    pub namespace: String,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected key=value, got {text:?}"))
}
