//! `--config vexil.toml`: `vexil serve`'s options in a file, each under its long name.
//!
//! A value from the file becomes that option's default, so clap's own order decides: a flag
//! wins over an environment variable, which wins over the file, which wins over the built-in
//! default; and each value is read by the option's own parser, so the file accepts exactly what
//! the command line does. `validate`, `snapshot` and `evaluate` take the file's `flags` and file
//! limits (their other options mean other things). Relative paths in the file are relative to
//! the file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Arg, ArgAction, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// The largest config file read: far above any real one, so a wrong path (a log, a device)
/// fails fast instead of filling memory.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The keys the one-shot commands take from the file: where the flags are and how to read them.
const SHARED_KEYS: [&str; 4] = [
    "flags",
    "max-file-bytes",
    "max-yaml-depth",
    "max-yaml-alias-nodes",
];

/// The options that exist only on the command line.
const NOT_IN_FILE: [&str; 3] = ["help", "version", "config"];

/// How parsing the command line failed.
pub enum ParseError {
    /// Clap's own (usage, `--help`, `--version`): it prints and exits as it always does.
    Usage(clap::Error),
    /// The config file could not be used.
    Config(anyhow::Error),
}

/// The command line, with the config file's values as defaults when one is given.
pub fn parse_args(args: Vec<OsString>) -> Result<Cli, ParseError> {
    // A first, forgiving pass only to find `--config`; the real parse follows.
    let config = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(&args)
        .ok()
        .and_then(|matches| matches.get_one::<PathBuf>("config").cloned());
    let command = match config {
        None => Cli::command(),
        Some(file) => with_config(&file).map_err(ParseError::Config)?,
    };
    let matches = command
        .try_get_matches_from(args)
        .map_err(ParseError::Usage)?;
    Cli::from_arg_matches(&matches).map_err(ParseError::Usage)
}

/// The command with `file`'s values as its options' defaults.
pub fn with_config(file: &Path) -> anyhow::Result<clap::Command> {
    let text = read_bounded(file)?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("config file {}", file.display()))?;
    let base = file.parent().unwrap_or(Path::new(""));
    let mut command = Cli::command();
    let serve = command
        .find_subcommand("serve")
        .context("the serve command")?
        .clone();
    for (key, value) in &table {
        let arg = serve
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key.as_str()))
            .filter(|_| !NOT_IN_FILE.contains(&key.as_str()))
            .with_context(|| {
                format!(
                    "config file {}: unknown option `{key}` (the keys are `vexil serve`'s long \
                     option names)",
                    file.display()
                )
            })?;
        let values = values_of(arg, key, value, base)
            .with_context(|| format!("config file {}: `{key}`", file.display()))?;
        check_values(&serve, key, &values)
            .with_context(|| format!("config file {}: `{key}`", file.display()))?;
        command = command.mut_subcommands(|sub| set_default(sub, key, &values));
    }
    Ok(command)
}

fn read_bounded(file: &Path) -> anyhow::Result<String> {
    let bytes = crate::source::read_limited(file, MAX_CONFIG_BYTES, "a config file's limit")
        .with_context(|| format!("config file {}", file.display()))?;
    String::from_utf8(bytes).with_context(|| format!("config file {}: not UTF-8", file.display()))
}

/// A TOML value as the command-line values it stands for.
fn values_of(
    arg: &Arg,
    key: &str,
    value: &toml::Value,
    base: &Path,
) -> anyhow::Result<Vec<String>> {
    let is_path = arg.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>();
    let repeatable = matches!(arg.get_action(), ArgAction::Append);
    let path = |text: &str| base.join(text).display().to_string();
    let one = |value: &toml::Value| -> anyhow::Result<String> {
        Ok(match value {
            toml::Value::String(text) if is_path => path(text),
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            other => bail!(
                "expected a string, number or boolean, not {}",
                other.type_str()
            ),
        })
    };
    match value {
        // `[environment]`: one `NAME = "DIR"` line each, as `--environment NAME=DIR`.
        toml::Value::Table(table) if key == "environment" => table
            .iter()
            .map(|(name, dir)| match dir {
                toml::Value::String(dir) => Ok(format!("{name}={}", path(dir))),
                other => bail!("{name}: expected a directory, not {}", other.type_str()),
            })
            .collect(),
        _ if key == "environment" => bail!("expected a table of NAME = \"DIR\""),
        toml::Value::Array(items) if repeatable => items.iter().map(one).collect(),
        toml::Value::Array(_) => bail!("takes one value, not a list"),
        value => Ok(vec![one(value)?]),
    }
}

/// Each value read by the option's own parser, so a bad one is reported against the file.
fn check_values(serve: &clap::Command, key: &str, values: &[String]) -> anyhow::Result<()> {
    let mut line = vec![OsString::from("serve")];
    for value in values {
        line.push(format!("--{key}").into());
        line.push(value.into());
    }
    match serve.clone().try_get_matches_from(line) {
        Ok(_) => Ok(()),
        Err(error) => bail!("{}", first_line(&error)),
    }
}

/// Makes `values` the default of `key` on `command`, where `command` takes it from the file.
fn set_default(command: clap::Command, key: &str, values: &[String]) -> clap::Command {
    let takes = command.get_name() == "serve" || SHARED_KEYS.contains(&key);
    // `validate` names its flag directories as arguments, not with `--flags`.
    let id = match (command.get_name(), key) {
        ("validate", "flags") => Some("paths".to_owned()),
        _ => command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key))
            .map(|arg| arg.get_id().to_string()),
    };
    match id {
        Some(id) if takes => {
            let values = values.to_vec();
            command.mut_arg(id, |arg| arg.default_values(values))
        }
        _ => command,
    }
}

/// clap's message for an error, without its usage lines and `--help` hint.
fn first_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let line = rendered.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn example() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/vexil.toml")
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("vexil.toml");
        std::fs::write(&file, text).expect("written");
        (dir, file)
    }

    fn serve_args(file: &Path, line: &[&str]) -> crate::cli::ServeArgs {
        let mut args: Vec<OsString> = vec!["vexil".into(), "--config".into(), file.into()];
        args.extend(line.iter().map(OsString::from));
        match parse_args(args) {
            Ok(Cli {
                command: Command::Serve(args),
                ..
            }) => args,
            Ok(other) => panic!("not serve: {other:?}"),
            Err(ParseError::Usage(error)) => panic!("{error}"),
            Err(ParseError::Config(error)) => panic!("{error:#}"),
        }
    }

    fn config_error(text: &str) -> String {
        let (_dir, file) = write(text);
        match with_config(&file) {
            Ok(_) => panic!("{text:?} was accepted"),
            Err(error) => format!("{error:#}"),
        }
    }

    /// The example is the file's documentation: it must name every option, at its default.
    #[test]
    fn the_example_names_every_serve_option_at_its_default() {
        let text = std::fs::read_to_string(example()).expect("the example");
        let table: toml::Table = toml::from_str(&text).expect("TOML");
        let command = Cli::command();
        let serve = command.find_subcommand("serve").expect("serve");
        for arg in serve.get_arguments() {
            let Some(long) = arg.get_long().filter(|long| !NOT_IN_FILE.contains(long)) else {
                continue;
            };
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|value| value.to_string_lossy().into_owned())
                .collect();
            match table.get(long) {
                Some(value) if !defaults.is_empty() => assert_eq!(
                    values_of(arg, long, value, Path::new("")).expect("values"),
                    defaults,
                    "{long}"
                ),
                Some(_) => {}
                None => assert!(
                    text.contains(&format!("# {long} =")) || text.contains(&format!("# [{long}]")),
                    "examples/vexil.toml does not name --{long}"
                ),
            }
        }
        let args = serve_args(&example(), &["serve"]);
        let flags = args.flags.expect("flags");
        assert!(flags.join("default/features.yml").is_file(), "{flags:?}");
    }

    #[test]
    fn a_flag_wins_over_the_file_which_wins_over_the_default() {
        let (dir, file) = write(
            "flags = \"flags\"\nmax-batch = 7\nlisten = \"127.0.0.1:9\"\n\
             [environment]\nstaging = \"/srv/staging\"\nqa = \"qa-flags\"\n",
        );
        let args = serve_args(&file, &["serve", "--max-batch", "5"]);
        assert_eq!(args.max_batch, 5);
        assert_eq!(args.listen.port(), 9);
        assert_eq!(args.max_context_entries, 256);
        // Relative paths are the file's.
        assert_eq!(args.flags, Some(dir.path().join("flags")));
        let mut environments = args.environments.clone();
        environments.sort();
        assert_eq!(
            environments,
            [
                ("qa".to_owned(), dir.path().join("qa-flags")),
                ("staging".to_owned(), PathBuf::from("/srv/staging")),
            ]
        );
        let args = serve_args(&file, &["serve", "--environment", "x=/x"]);
        assert_eq!(args.environments, [("x".to_owned(), PathBuf::from("/x"))]);
        assert_eq!(serve_args(&file, &["serve"]).max_batch, 7);
    }

    #[test]
    fn the_one_shot_commands_take_only_the_flags_and_file_limits() {
        let (dir, file) = write("flags = \"f\"\nmax-file-bytes = 99\n");
        let args: Vec<OsString> = ["vexil", "validate", "--config"]
            .iter()
            .map(OsString::from)
            .chain([file.clone().into()])
            .collect();
        let Ok(Cli {
            command: Command::Validate(validate),
            ..
        }) = parse_args(args)
        else {
            panic!("validate parses");
        };
        assert_eq!(validate.paths, [dir.path().join("f")]);
        assert_eq!(validate.file_limits.max_file_bytes, 99);
        // `format` is a serve option nowhere, and would mean another thing to `validate`.
        assert!(config_error("format = \"json\"\n").contains("unknown option `format`"));
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        let error = config_error("max-body-bytes = \"lots\"\n");
        assert!(error.contains("vexil.toml: `max-body-bytes`"), "{error}");
        assert!(error.contains("invalid value 'lots'"), "{error}");
        let error = config_error("max-bdy-bytes = 3\n");
        assert!(error.contains("unknown option `max-bdy-bytes`"), "{error}");
        let error = config_error("listen = [\"127.0.0.1:1\"]\n");
        assert!(error.contains("takes one value"), "{error}");
        let error = config_error("environment = [\"a=b\"]\n");
        assert!(error.contains("a table of NAME"), "{error}");
        let error = config_error("config = \"other.toml\"\n");
        assert!(error.contains("unknown option `config`"), "{error}");
        let error = config_error("listen = \"127.0.0.1:1\"\nlisten = \"x\"\n");
        assert!(error.contains("line 2"), "{error}");
        let error = config_error(&"# padding\n".repeat(120_000));
        assert!(error.contains("larger than"), "{error}");
    }
}
