//! Flag files to namespaces, for the commands: every diagnostic is fatal here.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use vexil_eval::model::Namespace;
use vexil_flags::{Diagnostic, Limits, LoadOptions, Loaded, UnfinishedReason};

/// Every valid namespace of a directory; any error in it fails the whole load.
pub fn load_all(dir: &Path, limits: &Limits) -> anyhow::Result<Vec<Namespace>> {
    let loaded = vexil_flags::load_dir_with(dir, &options(limits));
    warn_unfinished(&loaded)?;
    let diagnostics = all_diagnostics(&loaded);
    if !diagnostics.is_empty() {
        let listing: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        bail!(
            "{} has errors (run `vexil validate {}`):\n{}",
            dir.display(),
            dir.display(),
            listing.join("\n")
        );
    }
    Ok(loaded
        .namespaces
        .into_values()
        .filter_map(|load| load.result.ok())
        .collect())
}

/// One namespace of a directory.
pub fn load_namespace(dir: &Path, key: &str, limits: &Limits) -> anyhow::Result<Namespace> {
    load_all(dir, limits)?
        .into_iter()
        .find(|namespace| namespace.key == key)
        .with_context(|| format!("{} defines no namespace {key:?}", dir.display()))
}

/// One flag set as `vexil validate` checks it: a directory, or the loose files given together.
pub struct FlagSet {
    /// The directory, or the loose files, as given.
    pub label: String,
    pub loaded: Loaded,
}

/// The given paths as flag sets, each loaded as the server would load it: every directory on
/// its own, and the loose files together.
pub fn flag_sets(paths: &[PathBuf], limits: &Limits) -> anyhow::Result<Vec<FlagSet>> {
    let (dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| p.is_dir());
    let mut sets = Vec::with_capacity(dirs.len() + 1);
    for dir in dirs {
        let loaded = vexil_flags::load_dir_with(dir, &options(limits));
        warn_unfinished(&loaded)?;
        sets.push(FlagSet {
            label: dir.display().to_string(),
            loaded,
        });
    }
    if !files.is_empty() {
        let files: Vec<PathBuf> = files.into_iter().cloned().collect();
        let loaded = vexil_flags::load_files_with(&files, &options(limits));
        warn_unfinished(&loaded)?;
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        sets.push(FlagSet {
            label: names.join(", "),
            loaded,
        });
    }
    Ok(sets)
}

fn options(limits: &Limits) -> LoadOptions {
    LoadOptions {
        limits: *limits,
        ..LoadOptions::default()
    }
}

/// An empty file defines nothing, which is worth a warning; a file that changed under every
/// read cannot be checked at all.
fn warn_unfinished(loaded: &Loaded) -> anyhow::Result<()> {
    for unfinished in &loaded.unfinished {
        let file = unfinished.file.display();
        match unfinished.reason {
            UnfinishedReason::Empty => {
                eprintln!("warning: {file} {}: it defines nothing", unfinished.reason)
            }
            reason => bail!("{file} {reason}: try again once it is written"),
        }
    }
    Ok(())
}

fn all_diagnostics(loaded: &Loaded) -> Vec<Diagnostic> {
    loaded.diagnostics().into_iter().cloned().collect()
}

/// A whole file, refused once more than `max_bytes` were read (`--max-file-bytes`).
pub fn read_bounded(file: &Path, max_bytes: u64) -> anyhow::Result<Vec<u8>> {
    read_limited(file, max_bytes, "--max-file-bytes")
}

/// A whole file, refused once more than `max_bytes` were read; `limit` names the limit.
pub fn read_limited(file: &Path, max_bytes: u64, limit: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|opened| {
            opened
                .take(max_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
        })
        .with_context(|| format!("reading {}", file.display()))?;
    if bytes.len() as u64 > max_bytes {
        bail!(
            "{} is larger than {max_bytes} bytes ({limit})",
            file.display()
        );
    }
    Ok(bytes)
}
