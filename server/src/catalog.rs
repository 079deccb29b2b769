//! The published state of every namespace, and how a reload of the flag files changes it.
//!
//! A `Catalog` is immutable; a reload builds the next one from the previous and swaps it in whole
//! (see `state`), so a reader sees either the old state or the new, never a mix.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use vexil_flags::{Diagnostic, Loaded};

use crate::publish::{publish, Revision};

/// How many revisions of a namespace stay reachable at their immutable URL.
pub const KEPT_REVISIONS: usize = 4;

/// Every namespace's published state.
#[derive(Debug, Default)]
pub struct Catalog {
    pub namespaces: BTreeMap<String, NamespaceEntry>,
    /// Problems that belong to no namespace (an unreadable directory, a file whose namespace
    /// cannot be told).
    pub errors: Vec<Problem>,
    /// Counts reloads, so watchers can tell a new catalog from the old.
    pub generation: u64,
}

/// One namespace: what is served, what was served, and why the files were last refused.
#[derive(Debug, Clone)]
pub struct NamespaceEntry {
    /// The revision served; `None` until the namespace's files first load without error.
    pub current: Option<Arc<Revision>>,
    /// Newest first, the current one included; at most `KEPT_REVISIONS`.
    pub history: Vec<Arc<Revision>>,
    /// The problems of the last load, if it failed; the current revision is then the last good.
    pub last_error: Vec<Problem>,
}

/// One load problem, as status reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
    /// `file:line:col: path: message`, as `vexil validate` prints it.
    pub text: String,
}

impl Problem {
    /// A diagnostic, its file named relative to the flag directory (the server's own paths are
    /// nobody's business).
    fn new(diagnostic: &Diagnostic, flags_dir: &Path) -> Problem {
        let file = diagnostic.file();
        let file = file.strip_prefix(flags_dir).unwrap_or(file);
        let text = format!(
            "{}:{}:{}: {}{}",
            file.display(),
            diagnostic.line(),
            diagnostic.column(),
            if diagnostic.path().is_empty() {
                String::new()
            } else {
                format!("{}: ", diagnostic.path())
            },
            diagnostic.message()
        );
        Problem {
            file: file.display().to_string(),
            line: diagnostic.line(),
            column: diagnostic.column(),
            path: diagnostic.path().to_owned(),
            message: diagnostic.message().to_owned(),
            text,
        }
    }
}

impl Catalog {
    /// The revision served for a namespace.
    pub fn current(&self, namespace: &str) -> Option<&Arc<Revision>> {
        self.namespaces.get(namespace)?.current.as_ref()
    }

    /// A kept revision of a namespace, by digest.
    pub fn revision(&self, namespace: &str, digest: &str) -> Option<&Arc<Revision>> {
        self.namespaces
            .get(namespace)?
            .history
            .iter()
            .find(|revision| revision.digest == digest)
    }

    /// The catalog after a load of the flag files.
    ///
    /// A namespace that loads keeps its revision object when its digest is unchanged, so
    /// nothing is recompressed and watchers see no change. A namespace that fails keeps serving
    /// its last good revision and records the problems. A namespace no longer in the files is
    /// dropped, unless some file could not be read or attributed (it may be in that file).
    pub fn reload(&self, loaded: &Loaded, flags_dir: &Path) -> Catalog {
        let mut namespaces = BTreeMap::new();
        for (key, load) in &loaded.namespaces {
            let previous = self.namespaces.get(key);
            let entry = match &load.result {
                Ok(namespace) => match publish(namespace) {
                    Ok(revision) => advance(previous, revision),
                    // Loaded namespaces always compile; this guards against a loader bug.
                    Err(error) => failed(
                        previous,
                        vec![Problem {
                            file: String::new(),
                            line: 0,
                            column: 0,
                            path: error.path().to_owned(),
                            message: error.message().to_owned(),
                            text: error.to_string(),
                        }],
                    ),
                },
                Err(diagnostics) => failed(
                    previous,
                    diagnostics
                        .iter()
                        .map(|d| Problem::new(d, flags_dir))
                        .collect(),
                ),
            };
            namespaces.insert(key.clone(), entry);
        }
        let errors: Vec<Problem> = loaded
            .errors
            .iter()
            .map(|d| Problem::new(d, flags_dir))
            .collect();
        if !errors.is_empty() {
            for (key, entry) in &self.namespaces {
                namespaces
                    .entry(key.clone())
                    .or_insert_with(|| NamespaceEntry {
                        last_error: errors.clone(),
                        ..entry.clone()
                    });
            }
        }
        Catalog {
            namespaces,
            errors,
            generation: self.generation + 1,
        }
    }
}

fn advance(previous: Option<&NamespaceEntry>, revision: Revision) -> NamespaceEntry {
    let history = previous
        .map(|entry| entry.history.as_slice())
        .unwrap_or(&[]);
    if let Some(current) = previous.and_then(|entry| entry.current.as_ref()) {
        if current.digest == revision.digest {
            return NamespaceEntry {
                current: Some(current.clone()),
                history: history.to_vec(),
                last_error: Vec::new(),
            };
        }
    }
    let revision = Arc::new(revision);
    let mut kept = vec![revision.clone()];
    kept.extend(
        history
            .iter()
            .filter(|old| old.digest != revision.digest)
            .take(KEPT_REVISIONS - 1)
            .cloned(),
    );
    NamespaceEntry {
        current: Some(revision),
        history: kept,
        last_error: Vec::new(),
    }
}

fn failed(previous: Option<&NamespaceEntry>, problems: Vec<Problem>) -> NamespaceEntry {
    NamespaceEntry {
        current: previous.and_then(|entry| entry.current.clone()),
        history: previous
            .map(|entry| entry.history.clone())
            .unwrap_or_default(),
        last_error: problems,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    impl Catalog {
        fn reload_in(&self, loaded: &Loaded) -> Catalog {
            self.reload(loaded, Path::new(""))
        }
    }

    fn load(text: &str) -> Loaded {
        vexil_flags::load_str(Path::new("features.yml"), text)
    }

    fn flags(enabled: bool) -> String {
        format!(
            "namespace: shop\nflags:\n  - key: dark-mode\n    name: Dark mode\n    type: BOOLEAN_FLAG_TYPE\n    enabled: {enabled}\n"
        )
    }

    #[test]
    fn a_good_load_publishes_and_an_unchanged_one_keeps_the_revision() {
        let first = Catalog::default().reload_in(&load(&flags(true)));
        let revision = first.current("shop").expect("published").clone();
        assert_eq!(
            revision.etag.to_str().unwrap(),
            format!("\"{}\"", revision.digest)
        );
        let again = first.reload_in(&load(&flags(true)));
        assert!(Arc::ptr_eq(again.current("shop").unwrap(), &revision));
        assert_eq!(again.generation, 2);
    }

    #[test]
    fn a_bad_load_keeps_the_last_good_revision_and_records_the_error() {
        let good = Catalog::default().reload_in(&load(&flags(true)));
        let digest = good.current("shop").unwrap().digest.clone();
        let bad = good.reload_in(&load(
            &flags(true).replace("enabled: true", "enabled: maybe"),
        ));
        let entry = &bad.namespaces["shop"];
        assert_eq!(entry.current.as_ref().unwrap().digest, digest);
        assert_eq!(entry.last_error.len(), 1);
        assert_eq!(entry.last_error[0].line, 6);
        assert_eq!(
            entry.last_error[0].text,
            "features.yml:6:14: flags[0].enabled: expected a boolean, found a string"
        );
        let fixed = bad.reload_in(&load(&flags(false)));
        assert!(fixed.namespaces["shop"].last_error.is_empty());
        assert_ne!(fixed.current("shop").unwrap().digest, digest);
    }

    #[test]
    fn old_revisions_stay_reachable_for_a_while() {
        let mut catalog = Catalog::default();
        let mut digests = Vec::new();
        for n in 0..6 {
            let text = flags(true).replace("Dark mode", &format!("Dark mode {n}"));
            catalog = catalog.reload_in(&load(&text));
            digests.push(catalog.current("shop").unwrap().digest.clone());
        }
        let kept: Vec<bool> = digests
            .iter()
            .map(|digest| catalog.revision("shop", digest).is_some())
            .collect();
        assert_eq!(kept, [false, false, true, true, true, true]);
    }

    #[test]
    fn namespaces_gone_from_the_files_are_dropped() {
        let catalog = Catalog::default().reload_in(&load(&flags(true)));
        let other = load(&flags(true).replace("namespace: shop", "namespace: other"));
        let next = catalog.reload_in(&other);
        assert!(next.current("shop").is_none());
        assert!(next.current("other").is_some());
    }
}
