//! What every request handler shares: the published catalog, limits, auth, metrics.

use std::collections::BTreeSet;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use vexil_flags::LoadOptions;

use crate::auth::Auth;
use crate::catalog::{Catalog, ReloadClock};
use crate::http::{AppError, BufferBudget};
use crate::metrics::{Metrics, Rejection};
use crate::signing::{Signer, Signing};

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
    /// The longest request target (path and query).
    pub max_uri_bytes: usize,
    /// The most request headers, and their names' and values' bytes together.
    pub max_headers: usize,
    pub max_header_bytes: usize,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// The largest response a request may build: the most one connection holds in flight, as
    /// HTTP/1.1 answers its requests in order.
    pub max_response_bytes: usize,
    /// What request bodies being read and built responses not yet sent may hold together.
    pub buffer_memory_bytes: usize,
    /// Evaluation requests in progress at once; more are answered 429.
    pub max_concurrent_evaluations: usize,
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
            max_uri_bytes: 8 * 1024,
            max_headers: 64,
            max_header_bytes: 32 * 1024,
            body_timeout: Duration::from_secs(10),
            max_response_bytes: 32 * 1024 * 1024,
            buffer_memory_bytes: 256 * 1024 * 1024,
            max_concurrent_evaluations: 64,
        }
    }
}

/// The handlers' state: cheap to clone, one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// One environment, as Flipt v2 has them: a flag directory and the catalog published from it.
/// `--flags DIR` is the `default` environment; `--environment NAME=DIR` adds others.
pub struct Environment {
    pub name: String,
    pub flags_dir: PathBuf,
    /// The published catalog; swapped whole on reload, read without locks.
    pub catalog: Arc<ArcSwap<Catalog>>,
    /// Tells push streams that a new catalog is out (its generation).
    pub changes: watch::Sender<u64>,
    /// The namespaces the first load found, for readiness.
    startup_namespaces: OnceLock<Vec<String>>,
    ready: AtomicBool,
}

/// The environment requests name none of.
pub const DEFAULT_ENVIRONMENT: &str = "default";

/// The shared part of [`AppState`].
pub struct Shared {
    /// Every environment, `default` first.
    pub environments: Vec<Arc<Environment>>,
    /// Becomes `true` when the server shuts down, so open push streams end.
    pub shutting_down: watch::Sender<bool>,
    /// Limits on each flag file as it is read.
    pub file_limits: vexil_flags::Limits,
    pub limits: Limits,
    /// One permit per evaluation in progress.
    evaluations: Arc<Semaphore>,
    /// The memory request bodies and built responses may hold until they are done with.
    pub buffer_budget: BufferBudget,
    pub auth: Option<Auth>,
    pub metrics: Metrics,
    /// How often push streams send a keep-alive comment.
    pub keep_alive: Duration,
    /// How long a namespace no file declares is still served (the debounce).
    pub removal_grace: Duration,
    /// Signs each revision's compiled snapshot (`--signing-key`).
    signer: OnceLock<Signer>,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Environment {
    fn new(name: String, flags_dir: PathBuf) -> Environment {
        Environment {
            name,
            flags_dir,
            catalog: Arc::new(ArcSwap::from_pointee(Catalog::default())),
            changes: watch::channel(0).0,
            startup_namespaces: OnceLock::new(),
            ready: AtomicBool::new(false),
        }
    }

    /// Ready once every namespace found by the first load has a good revision and no file is
    /// left unattributed; then ready for good, so a bad edit never takes every replica out.
    fn update_readiness(&self, catalog: &Catalog) {
        let startup = self
            .startup_namespaces
            .get_or_init(|| catalog.namespaces.keys().cloned().collect());
        if self.ready.load(Ordering::Relaxed) {
            return;
        }
        let all_served = startup.iter().all(|key| {
            catalog
                .namespaces
                .get(key)
                .is_none_or(|entry| entry.current.is_some())
        });
        if all_served && catalog.errors.is_empty() {
            self.ready.store(true, Ordering::Relaxed);
        }
    }

    /// The namespaces found at start that still have no good revision.
    fn not_ready_namespaces(&self) -> Vec<String> {
        let catalog = self.catalog.load();
        self.startup_namespaces
            .get()
            .map(|keys| {
                keys.iter()
                    .filter(|key| {
                        catalog
                            .namespaces
                            .get(*key)
                            .is_some_and(|e| e.current.is_none())
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl AppState {
    /// A state with one environment, `default`, reading `flags_dir`, and an empty catalog;
    /// call [`AppState::reload`] to load the flag files.
    pub fn new(
        flags_dir: PathBuf,
        file_limits: vexil_flags::Limits,
        limits: Limits,
        auth: Option<Auth>,
        keep_alive: Duration,
        removal_grace: Duration,
    ) -> AppState {
        let environments = vec![(DEFAULT_ENVIRONMENT.to_owned(), flags_dir)];
        AppState::with_environments(
            environments,
            file_limits,
            limits,
            auth,
            keep_alive,
            removal_grace,
        )
    }

    /// A state with the given environments (name and flag directory, `default` first).
    pub fn with_environments(
        environments: Vec<(String, PathBuf)>,
        file_limits: vexil_flags::Limits,
        limits: Limits,
        auth: Option<Auth>,
        keep_alive: Duration,
        removal_grace: Duration,
    ) -> AppState {
        let (shutting_down, _) = watch::channel(false);
        let environments: Vec<Arc<Environment>> = environments
            .into_iter()
            .map(|(name, dir)| Arc::new(Environment::new(name, dir)))
            .collect();
        let catalogs = environments
            .iter()
            .map(|env| (env.name.clone(), env.catalog.clone()))
            .collect();
        AppState(Arc::new(Shared {
            metrics: Metrics::new(catalogs),
            environments,
            shutting_down,
            file_limits,
            evaluations: Arc::new(Semaphore::new(limits.max_concurrent_evaluations.max(1))),
            buffer_budget: BufferBudget::new(limits.buffer_memory_bytes),
            limits,
            auth,
            keep_alive,
            removal_grace,
            signer: OnceLock::new(),
        }))
    }

    /// Signs every compiled snapshot published from now on; set once, before the first load.
    pub fn set_signer(&self, signer: Signer) {
        if self.signer.set(signer).is_err() {
            tracing::warn!("a signing key was set twice; the first is kept");
        }
    }

    /// The environment named `name`, or 404 (asked only once the caller was let in).
    pub fn environment(&self, name: &str) -> Result<&Arc<Environment>, AppError> {
        self.environments
            .iter()
            .find(|env| env.name == name)
            .ok_or_else(|| AppError::NotFound(format!("environment {name} not found")))
    }

    /// The `default` environment.
    pub fn default_environment(&self) -> &Arc<Environment> {
        &self.environments[0]
    }

    /// Reloads every environment (see [`AppState::reload_environment`]); returns the earliest
    /// time a reload is due without a file event.
    pub fn reload(&self, being_written: &BTreeSet<PathBuf>) -> Option<Instant> {
        self.environments
            .iter()
            .filter_map(|env| self.reload_environment(env, being_written))
            .min()
    }

    /// Reads an environment's flag files again and publishes what changed; `being_written` are
    /// files a writer has open (not read: what they fed is held). Returns when a reload is due
    /// even without a file event. Blocking: run it off the runtime.
    pub fn reload_environment(
        &self,
        env: &Environment,
        being_written: &BTreeSet<PathBuf>,
    ) -> Option<Instant> {
        let previous = env.catalog.load();
        let options = LoadOptions {
            limits: self.file_limits,
            being_written: being_written.clone(),
            // A write that began after the watcher's last look shows in the file's time. The
            // first load has no last good state to keep, so it takes the files as they are.
            settle: if previous.generation == 0 {
                Duration::ZERO
            } else {
                self.removal_grace
            },
        };
        let loaded = vexil_flags::load_dir_with(&env.flags_dir, &options);
        let clock = ReloadClock::now(self.removal_grace);
        let signing = self.signer.get().map(|signer| Signing {
            signer,
            environment: &env.name,
        });
        let next = previous.reload(&loaded, &env.flags_dir, &clock, signing);
        let environment = env.name.as_str();
        for (key, entry) in &next.namespaces {
            let before = previous.namespaces.get(key);
            let was = before.and_then(|entry| entry.current.as_ref());
            if was.map(|r| r.digest()) != entry.current.as_ref().map(|r| r.digest()) {
                if let Some(revision) = &entry.current {
                    self.metrics.record_revision(environment, key);
                    tracing::info!(environment, namespace = %key, revision = %revision.digest(), flags = revision.flag_count, "published");
                }
            }
            if before.map(|entry| &entry.held) != Some(&entry.held) {
                for held in &entry.held {
                    tracing::warn!(environment, namespace = %key, "{} {}: holding the revision it fed until it is written", held.file, held.reason);
                }
            }
            if entry.gone_since.is_some() && before.is_some_and(|entry| entry.gone_since.is_none())
            {
                tracing::warn!(environment, namespace = %key, "no flag file declares it any more: removing it in {:?} unless one does again", self.removal_grace);
            }
            if before.map(|entry| &entry.warnings) != Some(&entry.warnings) {
                for warning in &entry.warnings {
                    tracing::warn!(environment, namespace = %key, "{}", warning.text);
                }
            }
            for problem in &entry.last_error {
                tracing::warn!(environment, namespace = %key, "{}; keeping the last good revision", problem.text);
            }
            self.metrics.record_namespace(environment, key, entry);
        }
        for key in previous.namespaces.keys() {
            if !next.namespaces.contains_key(key) {
                tracing::info!(environment, namespace = %key, "removed: no flag file declares it");
            }
        }
        for problem in &next.errors {
            tracing::warn!(environment, "{}", problem.text);
        }
        self.metrics.record_reload(
            environment,
            next.errors.len()
                + next
                    .namespaces
                    .values()
                    .map(|e| e.last_error.len())
                    .sum::<usize>(),
        );
        let generation = next.generation;
        let just_modified = loaded
            .unfinished
            .iter()
            .any(|file| file.reason == vexil_flags::UnfinishedReason::JustModified);
        // Files too fresh to trust are read again once they have settled.
        let settled = just_modified.then(|| Instant::now() + self.removal_grace);
        let recheck_at = match (next.recheck_at, settled) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        env.update_readiness(&next);
        env.catalog.store(Arc::new(next));
        env.changes.send_replace(generation);
        // The replaced state is freed here (unless a request still holds it): give its pages back.
        drop(previous);
        crate::alloc::release_free_memory();
        recheck_at
    }

    /// A place for one evaluation, taken once its body is read and held while it is parsed,
    /// evaluated and answered; 429 when all are taken. (Slow bodies hold no place: what they
    /// cost is the memory they send, counted in the buffer budget.)
    /// Owned, so work moved to the blocking pool keeps its place even if the request that
    /// started it is dropped (a client that hung up).
    pub fn evaluation_permit(&self) -> Result<OwnedSemaphorePermit, AppError> {
        self.evaluations.clone().try_acquire_owned().map_err(|_| {
            self.metrics.record_rejection(Rejection::Busy);
            AppError::TooManyRequests(format!(
                "more than {} evaluation requests at once: retry in a moment",
                self.limits.max_concurrent_evaluations
            ))
        })
    }

    /// A state for unit tests: no files, default limits, the given tokens.
    #[cfg(test)]
    pub fn for_tests(auth: Option<Auth>) -> AppState {
        AppState::new(
            PathBuf::from("/nonexistent"),
            vexil_flags::Limits::default(),
            Limits::default(),
            auth,
            Duration::from_secs(15),
            Duration::from_millis(50),
        )
    }

    /// A state for unit tests with the given limits.
    #[cfg(test)]
    pub fn for_tests_with(limits: Limits) -> AppState {
        AppState::new(
            PathBuf::from("/nonexistent"),
            vexil_flags::Limits::default(),
            limits,
            None,
            Duration::from_secs(15),
            Duration::from_millis(50),
        )
    }

    /// Whether `/ready` answers 200: every environment is ready (see
    /// [`Environment::update_readiness`]).
    pub fn is_ready(&self) -> bool {
        self.environments
            .iter()
            .all(|env| env.ready.load(Ordering::Relaxed))
    }

    /// The namespaces found at start that still have no good revision, as `environment/key`
    /// outside the default environment.
    pub fn not_ready_namespaces(&self) -> Vec<String> {
        self.environments
            .iter()
            .flat_map(|env| {
                env.not_ready_namespaces().into_iter().map(move |key| {
                    if env.name == DEFAULT_ENVIRONMENT {
                        key
                    } else {
                        format!("{}/{key}", env.name)
                    }
                })
            })
            .collect()
    }
}
