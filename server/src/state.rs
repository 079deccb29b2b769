//! What every request handler shares: the published catalog, limits, auth, metrics.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::metrics::Metrics;

/// Request limits, each configurable (DESIGN §6).
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_batch_requests: usize,
    pub max_context_entries: usize,
    pub max_key_bytes: usize,
    pub max_value_bytes: usize,
    /// Evaluation responses at least this large are compressed when the client accepts it.
    pub compress_min_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            max_batch_requests: 10_000,
            max_context_entries: 256,
            max_key_bytes: 256,
            max_value_bytes: 4 * 1024,
            compress_min_bytes: 1024,
        }
    }
}

/// The handlers' state: cheap to clone, one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The shared part of [`AppState`].
pub struct Shared {
    /// The published catalog; swapped whole on reload, read without locks.
    pub catalog: ArcSwap<Catalog>,
    /// Tells push streams that a new catalog is out (its generation).
    pub changes: watch::Sender<u64>,
    /// Becomes `true` when the server shuts down, so open push streams end.
    pub shutting_down: watch::Sender<bool>,
    pub flags_dir: PathBuf,
    /// Limits on each flag file as it is read.
    pub file_limits: vexil_flags::Limits,
    pub limits: Limits,
    pub auth: Option<Auth>,
    pub metrics: Metrics,
    /// How often push streams send a keep-alive comment.
    pub keep_alive: Duration,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// A state with an empty catalog; call [`AppState::reload`] to load the flag files.
    pub fn new(
        flags_dir: PathBuf,
        file_limits: vexil_flags::Limits,
        limits: Limits,
        auth: Option<Auth>,
        keep_alive: Duration,
    ) -> AppState {
        let (changes, _) = watch::channel(0);
        let (shutting_down, _) = watch::channel(false);
        AppState(Arc::new(Shared {
            catalog: ArcSwap::from_pointee(Catalog::default()),
            changes,
            shutting_down,
            flags_dir,
            file_limits,
            limits,
            auth,
            metrics: Metrics::new(),
            keep_alive,
        }))
    }

    /// Reads the flag files again and publishes what changed. Blocking: run it off the runtime.
    pub fn reload(&self) {
        let loaded = vexil_flags::load_dir_with(&self.flags_dir, &self.file_limits);
        let previous = self.catalog.load();
        let next = previous.reload(&loaded, &self.flags_dir);
        for (key, entry) in &next.namespaces {
            let was = previous
                .current(key)
                .map(|revision| revision.digest.as_str());
            let now = entry
                .current
                .as_ref()
                .map(|revision| revision.digest.as_str());
            if was != now {
                if let Some(revision) = &entry.current {
                    self.metrics.record_revision(key);
                    tracing::info!(namespace = %key, revision = %revision.digest, flags = revision.flag_count, "published");
                }
            }
            for problem in &entry.last_error {
                tracing::warn!(namespace = %key, "{}; keeping the last good revision", problem.text);
            }
            self.metrics.record_namespace(key, entry);
        }
        for problem in &next.errors {
            tracing::warn!("{}", problem.text);
        }
        self.metrics.record_reload(
            next.errors.len()
                + next
                    .namespaces
                    .values()
                    .map(|e| e.last_error.len())
                    .sum::<usize>(),
        );
        let generation = next.generation;
        self.catalog.store(Arc::new(next));
        self.changes.send_replace(generation);
    }
}
