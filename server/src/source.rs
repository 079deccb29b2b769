//! Flag files to namespaces, for the commands: every diagnostic is fatal here.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use vexil_eval::model::Namespace;
use vexil_flags::{Diagnostic, Loaded};

/// Every valid namespace of a directory; any error in it fails the whole load.
pub fn load_all(dir: &Path) -> anyhow::Result<Vec<Namespace>> {
    let loaded = vexil_flags::load_dir(dir);
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
pub fn load_namespace(dir: &Path, key: &str) -> anyhow::Result<Namespace> {
    load_all(dir)?
        .into_iter()
        .find(|namespace| namespace.key == key)
        .with_context(|| format!("{} defines no namespace {key:?}", dir.display()))
}

/// Every diagnostic for the given files and directories, sorted by file and position.
pub fn validate(paths: &[PathBuf]) -> Vec<Diagnostic> {
    all_diagnostics(&vexil_flags::load_files(paths))
}

fn all_diagnostics(loaded: &Loaded) -> Vec<Diagnostic> {
    loaded.diagnostics().into_iter().cloned().collect()
}
