//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Vexil: feature flags evaluated where the user is, compatible with Flipt.
#[derive(Parser, Debug)]
#[command(name = "vexil", version = crate::build_info::VERSION_LINE, about)]
pub struct Cli {
    /// A TOML file of `vexil serve`'s options, each under its long name (`examples/vexil.toml`);
    /// `validate`, `snapshot` and `evaluate` take its `flags` and file limits. Environment
    /// variables and flags override it.
    #[arg(long, global = true, env = "VEXIL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the flags over HTTP: snapshots, push, evaluation; reloads when the files change.
    Serve(ServeArgs),
    /// Check flag files and report every error as `file:line:col: message`.
    Validate(ValidateArgs),
    /// Evaluate flags: a Flipt batch request, or one flag explained step by step.
    Evaluate(EvaluateArgs),
    /// Print a namespace's snapshot, as clients download it: Flipt's JSON, or compiled.
    Snapshot(SnapshotArgs),
    /// Decode a compiled snapshot file, check its signature, and describe it.
    Inspect(InspectArgs),
    /// Make an Ed25519 key pair for signing compiled snapshots.
    Keygen(KeygenArgs),
    /// Check that a Vexil server answers: exit 0 when `GET URL` is a 2xx, 1 otherwise (a
    /// container's health check, where there is no curl).
    Probe(ProbeArgs),
    /// Print a shell's completion script for `vexil` to standard output.
    Completions(CompletionsArgs),
}

/// `vexil probe URL`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// What to ask for: `http://HOST:PORT/PATH` (plain HTTP: a probe runs beside the server).
    #[arg(default_value = "http://127.0.0.1:8080/health")]
    pub url: String,
    /// Seconds to wait for the whole answer.
    #[arg(long, default_value_t = 5)]
    pub timeout_seconds: u64,
}

/// `vexil completions SHELL`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// `vexil keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM, readable by its owner only); it must not
    /// exist yet.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Limits on each flag file, checked while it is read and parsed (`vexil_flags::Limits`).
#[derive(Args, Debug, Clone)]
pub struct FileLimits {
    /// Largest flag file, in bytes.
    #[arg(long, env = "VEXIL_MAX_FILE_BYTES", default_value_t = vexil_flags::Limits::DEFAULT_MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
    /// Deepest nesting of lists and mappings in a flag file (at most 128, the depth every
    /// snapshot reader accepts).
    #[arg(long, env = "VEXIL_MAX_YAML_DEPTH", default_value_t = vexil_flags::Limits::DEFAULT_MAX_DEPTH,
          value_parser = parse_depth)]
    pub max_yaml_depth: usize,
    /// Most nodes that YAML anchors and aliases may copy in one flag file.
    #[arg(long, env = "VEXIL_MAX_YAML_ALIAS_NODES", default_value_t = vexil_flags::Limits::DEFAULT_MAX_ALIAS_NODES)]
    pub max_yaml_alias_nodes: usize,
}

impl FileLimits {
    pub fn limits(&self) -> vexil_flags::Limits {
        vexil_flags::Limits {
            max_file_bytes: self.max_file_bytes,
            max_depth: self.max_yaml_depth,
            max_alias_nodes: self.max_yaml_alias_nodes,
        }
    }
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Flag files or directories to check (default: the `--flags` directory, from `VEXIL_FLAGS`
    /// or the config file). Each directory is its own flag set, searched as `vexil serve` would;
    /// the loose files together form one more.
    #[arg(env = "VEXIL_FLAGS")]
    pub paths: Vec<PathBuf>,
    /// Succeed when a flag set holds no flag files (otherwise that is an error).
    #[arg(long)]
    pub allow_empty: bool,
    /// Also list every place where Vexil deliberately differs from Flipt: values it answers
    /// otherwise, and what it refuses that Flipt loads.
    #[arg(long)]
    pub report_differences: bool,
    #[command(flatten)]
    pub file_limits: FileLimits,
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
#[group(multiple = false)]
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
    #[command(flatten)]
    pub file_limits: FileLimits,
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
    #[arg(long, env = "VEXIL_FLAGS")]
    pub flags: Option<PathBuf>,
    /// Read Flipt's JSON snapshot from this file instead (one a Flipt server served, or a JSON
    /// seed), to write it again, compiled for the SDK with `--format compiled`.
    #[arg(long, value_name = "FILE")]
    pub from_snapshot: Option<PathBuf>,
    /// The namespace to print (from `--flags`).
    #[arg(long, default_value = "default", conflicts_with = "from_snapshot")]
    pub namespace: String,
    /// `json` (Flipt's snapshot) or `compiled` (Vexil's binary form, for seeds and edge caches).
    #[arg(long, value_enum, default_value_t = SnapshotFormat::Json)]
    pub format: SnapshotFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Sign the compiled snapshot with this Ed25519 key (PKCS#8 PEM, `vexil keygen`).
    #[arg(long, env = "VEXIL_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// The environment a signed snapshot is for (signed with it, so it passes for no other).
    #[arg(long, default_value = "default")]
    pub environment: String,
    #[command(flatten)]
    pub file_limits: FileLimits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where a command was given no flag directory.
pub const NO_FLAGS: &str =
    "no flag directory: give --flags DIR, or set VEXIL_FLAGS or `flags` in the --config file";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SnapshotFormat {
    Json,
    Compiled,
}

/// `vexil inspect FILE`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A compiled snapshot (`vexil snapshot --format compiled`).
    pub file: PathBuf,
    /// A public key (base64url, as `vexil keygen` prints it) to verify the signature with;
    /// repeat for several (key rotation). Base64url may start with `-`, which is taken as the
    /// value, not an option.
    #[arg(long = "public-key", value_name = "KEY", allow_hyphen_values = true)]
    pub public_keys: Vec<String>,
}

fn parse_depth(text: &str) -> Result<usize, String> {
    let max = vexil_flags::MAX_DEPTH;
    match text.parse::<usize>() {
        Ok(depth) if (1..=max).contains(&depth) => Ok(depth),
        _ => Err(format!("expected a depth from 1 to {max}")),
    }
}

fn parse_environment(text: &str) -> Result<(String, PathBuf), String> {
    let (name, dir) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=DIR, got {text:?}"))?;
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(format!(
            "environment name {name:?}: use letters, digits, '-' and '_'"
        ));
    }
    if name == crate::state::DEFAULT_ENVIRONMENT {
        return Err("the default environment is --flags DIR".into());
    }
    if dir.is_empty() {
        return Err(format!("environment {name} names no directory"));
    }
    Ok((name.to_owned(), PathBuf::from(dir)))
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected key=value, got {text:?}"))
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Directory of flag files, watched for changes: the `default` environment.
    #[arg(long, env = "VEXIL_FLAGS")]
    pub flags: Option<PathBuf>,
    /// Another environment, as Flipt v2 has them: `NAME=DIR` (repeatable). Clients choose it
    /// by path (`/client/v2/environments/NAME/...`) or with `X-Flipt-Environment: NAME`.
    #[arg(long = "environment", value_name = "NAME=DIR", value_parser = parse_environment)]
    pub environments: Vec<(String, PathBuf)>,
    /// Sign each revision's compiled snapshot with this Ed25519 key (PKCS#8 PEM, as `vexil
    /// keygen` or `openssl genpkey -algorithm ed25519` writes it).
    #[arg(long, env = "VEXIL_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "VEXIL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Log lines as text for people or as JSON objects for log collectors (levels: `VEXIL_LOG`).
    #[arg(long, env = "VEXIL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub file_limits: FileLimits,
    /// A folder served at `/` (the demo page).
    #[arg(long, env = "VEXIL_WWW")]
    pub www: Option<PathBuf>,
    /// Tokens file (YAML list of `{token, role: client|admin, namespaces: [..] | "*"}`); without
    /// it, every route is open.
    #[arg(long, env = "VEXIL_TOKENS")]
    pub tokens: Option<PathBuf>,
    /// Serve `/metrics` and `/debug/pprof/*` on this address too, without auth.
    #[arg(long, env = "VEXIL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Average bytes allocated between two allocations whose stack `/debug/pprof/allocs`
    /// records (Go's `MemProfileRate`); 0 records none.
    #[arg(long, env = "VEXIL_ALLOC_SAMPLE_BYTES", default_value_t = crate::profiling::sampler::DEFAULT_SAMPLE_BYTES)]
    pub alloc_sample_bytes: u64,
    /// Largest request body, in bytes.
    #[arg(long, env = "VEXIL_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most requests in one batch.
    #[arg(long, env = "VEXIL_MAX_BATCH", default_value_t = 10_000)]
    pub max_batch: usize,
    /// Most context entries in one request.
    #[arg(long, env = "VEXIL_MAX_CONTEXT_ENTRIES", default_value_t = 256)]
    pub max_context_entries: usize,
    /// Longest flag key, entity id or context key, in bytes.
    #[arg(long, env = "VEXIL_MAX_KEY_BYTES", default_value_t = 256)]
    pub max_key_bytes: usize,
    /// Longest context value, in bytes.
    #[arg(long, env = "VEXIL_MAX_VALUE_BYTES", default_value_t = 4096)]
    pub max_value_bytes: usize,
    /// Evaluation responses from this size up are compressed, if the client accepts it.
    #[arg(long, env = "VEXIL_COMPRESS_MIN_BYTES", default_value_t = 1024)]
    pub compress_min_bytes: usize,
    /// Seconds between keep-alive comments on push streams.
    #[arg(long, env = "VEXIL_KEEP_ALIVE_SECONDS", default_value_t = 15)]
    pub keep_alive_seconds: u64,
    /// Milliseconds of quiet after a file change before reloading; also how long a namespace
    /// no file declares any more is still served.
    #[arg(long, env = "VEXIL_DEBOUNCE_MS", default_value_t = 200)]
    pub debounce_ms: u64,
    /// Seconds a request head may take, counted from the connection's start or the end of the
    /// previous response (so also how long an idle keep-alive connection stays open).
    #[arg(long, env = "VEXIL_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_timeout_seconds: u64,
    /// Seconds a request body may take to arrive.
    #[arg(long, env = "VEXIL_BODY_TIMEOUT_SECONDS", default_value_t = 10)]
    pub body_timeout_seconds: u64,
    /// Seconds a response write may make no progress before the connection is closed.
    #[arg(long, env = "VEXIL_WRITE_TIMEOUT_SECONDS", default_value_t = 30)]
    pub write_timeout_seconds: u64,
    /// Most connections open at once (kept below the file-descriptor limit); more are answered
    /// 503 and closed.
    #[arg(long, env = "VEXIL_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Longest request target (path and query), in bytes; longer is 414.
    #[arg(long, env = "VEXIL_MAX_URI_BYTES", default_value_t = 8 * 1024)]
    pub max_uri_bytes: usize,
    /// Most request headers; more is 431.
    #[arg(long, env = "VEXIL_MAX_HEADERS", default_value_t = 64)]
    pub max_headers: usize,
    /// Most bytes of request header names and values together; more is 431.
    #[arg(long, env = "VEXIL_MAX_HEADER_BYTES", default_value_t = 32 * 1024)]
    pub max_header_bytes: usize,
    /// Largest response one request may build (so the most one connection holds unsent); a
    /// larger answer is 413.
    #[arg(long, env = "VEXIL_MAX_RESPONSE_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_response_bytes: usize,
    /// What request bodies being read and built responses not yet sent may hold together;
    /// past it requests are 503.
    #[arg(long, env = "VEXIL_BUFFER_MEMORY_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub buffer_memory_bytes: usize,
    /// Evaluations in progress at once (from a whole body to the answer); more are 429.
    #[arg(long, env = "VEXIL_MAX_CONCURRENT_EVALUATIONS", default_value_t = 64)]
    pub max_concurrent_evaluations: usize,
}
