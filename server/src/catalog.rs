//! The published state of every namespace, and how a reload of the flag files changes it.
//!
//! A `Catalog` is immutable; a reload builds the next one from the previous and swaps it in whole
//! (see `state`), so a reader sees either the old state or the new, never a mix.
//!
//! A reload never takes the last good state away by accident. A namespace whose files failed
//! keeps its last good revision; one whose files look like a write in progress (empty, being
//! written, changing while read) is held at what it was; one that no file declares any more is
//! removed only once that has lasted the grace period (the debounce), so a file that is deleted
//! and written again, or a directory that is replaced, never makes it vanish for clients.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use vexil_flags::{Diagnostic, Loaded, UnfinishedReason};

use crate::publish::{Documents, Revision};
use crate::signing::Signing;

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
    /// When a reload is due without any file event: a namespace is waiting out its grace
    /// period before removal.
    pub recheck_at: Option<Instant>,
}

/// One namespace: what is served, what was served, and why the files were last refused.
#[derive(Debug, Clone, Default)]
pub struct NamespaceEntry {
    /// The revision served; `None` until the namespace's files first load without error.
    pub current: Option<Arc<Revision>>,
    /// The documents of the revisions served at their immutable URLs: newest first, the current
    /// one included; at most `KEPT_REVISIONS`.
    pub history: Vec<Arc<Documents>>,
    /// The problems of the last load, if it failed; the current revision is then the last good.
    pub last_error: Vec<Problem>,
    /// What the last load accepted with a change (distributions above 100, rules on a boolean
    /// flag).
    pub warnings: Vec<Problem>,
    /// When the files started failing (they still are).
    pub failing_since: Option<SystemTime>,
    /// The files that fed the namespace when they were last read.
    pub files: Vec<PathBuf>,
    /// Those of its files that look like a write in progress: while there are any, the
    /// namespace is held at what it was.
    pub held: Vec<HeldFile>,
    /// Since when no file declares the namespace: it is removed once the grace period is over.
    pub gone_since: Option<(Instant, SystemTime)>,
}

impl NamespaceEntry {
    /// One word for the namespace's state, for status and logs.
    pub fn state(&self) -> &'static str {
        if self.gone_since.is_some() {
            "removing"
        } else if !self.held.is_empty() {
            "holding"
        } else if !self.last_error.is_empty() {
            "failing"
        } else if self.current.is_none() {
            "waiting"
        } else {
            "serving"
        }
    }
}

/// A file that holds its namespace back, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldFile {
    pub file: String,
    pub reason: String,
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
        let file = relative(diagnostic.file(), flags_dir);
        // As `vexil validate` prints it: no position for a whole file, `.` for the directory.
        let text = format!(
            "{}{}: {}{}",
            if file.is_empty() { "." } else { &file },
            if diagnostic.line() == 0 {
                String::new()
            } else {
                format!(":{}:{}", diagnostic.line(), diagnostic.column())
            },
            if diagnostic.path().is_empty() {
                String::new()
            } else {
                format!("{}: ", diagnostic.path())
            },
            diagnostic.message()
        );
        Problem {
            file,
            line: diagnostic.line(),
            column: diagnostic.column(),
            path: diagnostic.path().to_owned(),
            message: diagnostic.message().to_owned(),
            text,
        }
    }
}

fn relative(file: &Path, flags_dir: &Path) -> String {
    file.strip_prefix(flags_dir)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// When a reload happens, and how long a namespace no file declares is kept.
#[derive(Clone, Copy, Debug)]
pub struct ReloadClock {
    pub now: Instant,
    pub wall: SystemTime,
    pub grace: Duration,
}

impl ReloadClock {
    pub fn now(grace: Duration) -> ReloadClock {
        ReloadClock {
            now: Instant::now(),
            wall: SystemTime::now(),
            grace,
        }
    }
}

impl Catalog {
    /// The revision served for a namespace.
    #[cfg(test)]
    pub fn current(&self, namespace: &str) -> Option<&Arc<Revision>> {
        self.namespaces.get(namespace)?.current.as_ref()
    }

    /// A kept revision by either of its digests (its JSON snapshot's or its compiled
    /// document's); `true` when the digest named the compiled document.
    pub fn revision(&self, namespace: &str, digest: &str) -> Option<(&Arc<Documents>, bool)> {
        self.namespaces
            .get(namespace)?
            .history
            .iter()
            .find_map(|documents| {
                if documents.digest == digest {
                    Some((documents, false))
                } else if documents.compiled_digest == digest {
                    Some((documents, true))
                } else {
                    None
                }
            })
    }

    /// The catalog after a load of the flag files (see the module's notes for the rules).
    ///
    /// A namespace whose snapshot digest is unchanged keeps its revision object: nothing is
    /// compiled or compressed again, and push streams see no change.
    pub fn reload(
        &self,
        loaded: &Loaded,
        flags_dir: &Path,
        clock: &ReloadClock,
        signing: Option<Signing<'_>>,
    ) -> Catalog {
        let unfinished: HashMap<&Path, UnfinishedReason> = loaded
            .unfinished
            .iter()
            .map(|file| (file.file.as_path(), file.reason))
            .collect();
        let errors: Vec<Problem> = loaded
            .errors
            .iter()
            .map(|d| Problem::new(d, flags_dir))
            .collect();
        // The default namespace always exists, as in Flipt: empty while no file declares it.
        let default_key = DEFAULT_NAMESPACE.to_owned();
        let empty_default = empty_namespace(DEFAULT_NAMESPACE);
        let keys: BTreeSet<&String> = self
            .namespaces
            .keys()
            .chain(loaded.namespaces.keys())
            .chain([&default_key])
            .collect();
        let mut namespaces = BTreeMap::new();
        let mut recheck_at: Option<Instant> = None;
        for key in keys {
            let previous = self.namespaces.get(key);
            let held: Vec<HeldFile> = previous
                .map(|entry| entry.files.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|file| {
                    let reason = unfinished.get(file.as_path())?;
                    Some(HeldFile {
                        file: relative(file, flags_dir),
                        reason: reason.to_string(),
                    })
                })
                .collect();
            let entry = match (previous, loaded.namespaces.get(key)) {
                (Some(previous), _) if !held.is_empty() => NamespaceEntry {
                    held,
                    gone_since: None,
                    ..previous.clone()
                },
                (previous, Some(load)) => {
                    let files = load.files.clone();
                    match &load.result {
                        Ok(namespace) => NamespaceEntry {
                            warnings: warnings(load, flags_dir),
                            ..advance(previous, namespace, files, clock, signing)
                        },
                        Err(diagnostics) => {
                            let problems = diagnostics
                                .iter()
                                .map(|d| Problem::new(d, flags_dir))
                                .collect();
                            failed(previous, problems, files, clock)
                        }
                    }
                }
                // Some file could not be read or attributed: the namespace may be in it.
                (Some(previous), None) if !errors.is_empty() => {
                    let files = previous.files.clone();
                    failed(Some(previous), errors.clone(), files, clock)
                }
                // The default namespace no file declares (or declared): empty.
                (previous, None)
                    if *key == default_key
                        && previous.is_none_or(|entry| entry.files.is_empty()) =>
                {
                    advance(previous, &empty_default, Vec::new(), clock, signing)
                }
                (Some(previous), None) => {
                    let since = previous.gone_since.unwrap_or((clock.now, clock.wall));
                    let removal = since.0 + clock.grace;
                    if clock.now >= removal {
                        // Gone for the whole grace period; the default namespace stays, empty.
                        if *key == default_key {
                            let emptied =
                                advance(Some(previous), &empty_default, Vec::new(), clock, signing);
                            namespaces.insert(key.clone(), emptied);
                        }
                        continue;
                    }
                    recheck_at = Some(recheck_at.map_or(removal, |at| at.min(removal)));
                    NamespaceEntry {
                        gone_since: Some(since),
                        held: Vec::new(),
                        ..previous.clone()
                    }
                }
                (None, None) => continue,
            };
            namespaces.insert(key.clone(), entry);
        }
        Catalog {
            namespaces,
            errors,
            generation: self.generation + 1,
            recheck_at,
        }
    }
}

/// The namespace a request naming none is asked of.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A namespace with nothing in it, named as Flipt names its default one.
fn empty_namespace(key: &str) -> vexil_eval::model::Namespace {
    vexil_eval::model::Namespace {
        key: key.to_owned(),
        name: "Default".to_owned(),
        description: "Default namespace".to_owned(),
        flags: Vec::new(),
        segments: Vec::new(),
    }
}

/// A loaded namespace's warnings, without the notes on differences from Flipt (which
/// `vexil validate --report-differences` lists).
fn warnings(load: &vexil_flags::NamespaceLoad, flags_dir: &Path) -> Vec<Problem> {
    load.warnings
        .iter()
        .filter(|w| w.kind() != vexil_flags::DiagnosticKind::DiffersFromFlipt)
        .map(|w| Problem::new(w, flags_dir))
        .collect()
}

/// A namespace that loaded: its revision, new or (same digest) the one already served.
fn advance(
    previous: Option<&NamespaceEntry>,
    namespace: &vexil_eval::model::Namespace,
    files: Vec<PathBuf>,
    clock: &ReloadClock,
    signing: Option<Signing<'_>>,
) -> NamespaceEntry {
    let history = previous
        .map(|entry| entry.history.as_slice())
        .unwrap_or(&[]);
    // Serializing and hashing is all a reload of unchanged files costs.
    let snapshot = vexil_eval::write_snapshot(namespace);
    if let Some(current) = previous.and_then(|entry| entry.current.as_ref()) {
        if current.digest() == snapshot.digest {
            return NamespaceEntry {
                current: Some(current.clone()),
                history: history.to_vec(),
                files,
                ..NamespaceEntry::default()
            };
        }
    }
    let revision = match Revision::build(namespace, snapshot, clock.wall, signing) {
        Ok(revision) => Arc::new(revision),
        // Loaded namespaces always compile; this guards against a loader bug.
        Err(error) => {
            let problem = Problem {
                file: String::new(),
                line: 0,
                column: 0,
                path: error.path().to_owned(),
                message: error.message().to_owned(),
                text: error.to_string(),
            };
            return failed(previous, vec![problem], files, clock);
        }
    };
    let mut kept = vec![revision.documents.clone()];
    kept.extend(
        history
            .iter()
            .filter(|old| old.digest != revision.digest())
            .take(KEPT_REVISIONS - 1)
            .cloned(),
    );
    NamespaceEntry {
        current: Some(revision),
        history: kept,
        files,
        ..NamespaceEntry::default()
    }
}

fn failed(
    previous: Option<&NamespaceEntry>,
    problems: Vec<Problem>,
    files: Vec<PathBuf>,
    clock: &ReloadClock,
) -> NamespaceEntry {
    NamespaceEntry {
        current: previous.and_then(|entry| entry.current.clone()),
        history: previous
            .map(|entry| entry.history.clone())
            .unwrap_or_default(),
        last_error: problems,
        warnings: Vec::new(),
        failing_since: Some(
            previous
                .and_then(|entry| entry.failing_since)
                .unwrap_or(clock.wall),
        ),
        files,
        held: Vec::new(),
        gone_since: None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const GRACE: Duration = Duration::from_millis(200);

    impl Catalog {
        fn reload_in(&self, loaded: &Loaded) -> Catalog {
            self.reload(loaded, Path::new(""), &ReloadClock::now(GRACE), None)
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
    fn a_directory_that_cannot_be_read_is_named_without_a_position() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("flags");
        let loaded = vexil_flags::load_dir(&missing);
        let catalog = Catalog::default().reload(&loaded, &missing, &ReloadClock::now(GRACE), None);
        let text = &catalog.errors.first().expect("an error").text;
        assert!(text.starts_with(".: cannot read: "), "{text}");
    }

    #[test]
    fn a_good_load_publishes_and_an_unchanged_one_keeps_the_revision() {
        let first = Catalog::default().reload_in(&load(&flags(true)));
        let revision = first.current("shop").expect("published").clone();
        assert_eq!(
            revision.documents.etag.to_str().unwrap(),
            format!("\"{}\"", revision.digest())
        );
        let again = first.reload_in(&load(&flags(true)));
        assert!(Arc::ptr_eq(again.current("shop").unwrap(), &revision));
        assert_eq!(again.generation, 2);
        assert_eq!(again.namespaces["shop"].state(), "serving");
    }

    #[test]
    fn a_bad_load_keeps_the_last_good_revision_and_records_the_error() {
        let good = Catalog::default().reload_in(&load(&flags(true)));
        let digest = good.current("shop").unwrap().digest().to_owned();
        let bad = good.reload_in(&load(
            &flags(true).replace("enabled: true", "enabled: maybe"),
        ));
        let entry = &bad.namespaces["shop"];
        assert_eq!(entry.current.as_ref().unwrap().digest(), digest);
        assert_eq!(entry.last_error.len(), 1);
        assert_eq!(entry.last_error[0].line, 6);
        assert_eq!(
            entry.last_error[0].text,
            "features.yml:6:14: flags[0].enabled: expected a boolean, found a string"
        );
        assert_eq!(entry.state(), "failing");
        let since = entry.failing_since.expect("failing since");
        // Still failing: still failing since the first time.
        let still = bad.reload_in(&load(&flags(true).replace("true", "maybe")));
        assert_eq!(still.namespaces["shop"].failing_since, Some(since));
        let fixed = still.reload_in(&load(&flags(false)));
        assert!(fixed.namespaces["shop"].last_error.is_empty());
        assert_eq!(fixed.namespaces["shop"].failing_since, None);
        assert_ne!(fixed.current("shop").unwrap().digest(), digest);
    }

    #[test]
    fn old_revisions_stay_reachable_for_a_while() {
        let mut catalog = Catalog::default();
        let mut digests = Vec::new();
        for n in 0..6 {
            let text = flags(true).replace("Dark mode", &format!("Dark mode {n}"));
            catalog = catalog.reload_in(&load(&text));
            let revision = catalog.current("shop").unwrap();
            digests.push((revision.digest().to_owned(), Arc::downgrade(revision)));
        }
        let kept: Vec<bool> = digests
            .iter()
            .map(|(digest, _)| catalog.revision("shop", digest).is_some())
            .collect();
        assert_eq!(kept, [false, false, true, true, true, true]);
        // What the older ones keep is their documents: the revisions themselves (their index
        // and read API documents) are gone.
        let alive: Vec<bool> = digests
            .iter()
            .map(|(_, revision)| revision.upgrade().is_some())
            .collect();
        assert_eq!(alive, [false, false, false, false, false, true]);
    }

    #[test]
    fn an_empty_or_unfinished_file_holds_what_it_fed() {
        let good = Catalog::default().reload_in(&load(&flags(true)));
        let revision = good.current("shop").unwrap().clone();
        for text in ["", "# being rewritten\n", "---\n"] {
            let held = good.reload_in(&load(text));
            let entry = &held.namespaces["shop"];
            assert!(
                Arc::ptr_eq(entry.current.as_ref().unwrap(), &revision),
                "{text:?}"
            );
            assert_eq!(entry.state(), "holding");
            assert_eq!(
                entry.held,
                [HeldFile {
                    file: "features.yml".into(),
                    reason: "is empty or holds only comments".into()
                }]
            );
            let written = held.reload_in(&load(&flags(false)));
            assert_eq!(written.namespaces["shop"].state(), "serving");
            assert_ne!(written.current("shop").unwrap().digest(), revision.digest());
        }
    }

    #[test]
    fn a_namespace_no_file_declares_goes_only_after_the_grace_period() {
        let start = ReloadClock::now(GRACE);
        let catalog = Catalog::default().reload(&load(&flags(true)), Path::new(""), &start, None);
        let other = load(&flags(true).replace("namespace: shop", "namespace: other"));
        let later = |by: Duration| ReloadClock {
            now: start.now + by,
            ..start
        };
        let next = catalog.reload(&other, Path::new(""), &later(Duration::ZERO), None);
        assert!(next.current("shop").is_some(), "still served");
        assert_eq!(next.namespaces["shop"].state(), "removing");
        assert_eq!(next.recheck_at, Some(start.now + GRACE));
        assert!(next.current("other").is_some());
        let still = next.reload(&other, Path::new(""), &later(GRACE / 2), None);
        assert!(still.current("shop").is_some());
        // Back within the grace period: served as if it had never left.
        let back = still.reload(&load(&flags(true)), Path::new(""), &later(GRACE / 2), None);
        assert_eq!(back.namespaces["shop"].state(), "serving");
        // ... while `other`, no longer declared, starts its own grace period.
        assert_eq!(back.namespaces["other"].state(), "removing");
        let gone = still.reload(&other, Path::new(""), &later(GRACE), None);
        assert!(!gone.namespaces.contains_key("shop"));
        assert_eq!(gone.recheck_at, None);
    }
}
