//! Prometheus metrics: requests by route and status, latency, snapshots, reloads, allocations.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::catalog::{Catalog, NamespaceEntry};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: &'static str,
}

/// Why a request or connection was turned away.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Rejection {
    /// Over a size or count limit.
    Limit,
    /// Too slow: the head, the body, or reading the response.
    Timeout,
    /// No valid token, or not enough scope.
    Auth,
    /// Over the connection cap.
    Cap,
    /// Too many evaluations at once, or no response memory left.
    Busy,
    /// Not HTTP at all (hyper's own 400).
    Malformed,
}

impl EncodeLabelValue for Rejection {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        encoder.write_str(match self {
            Rejection::Limit => "limit",
            Rejection::Timeout => "timeout",
            Rejection::Auth => "auth",
            Rejection::Cap => "cap",
            Rejection::Busy => "busy",
            Rejection::Malformed => "malformed",
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabel {
    reason: Rejection,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabel {
    environment: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvironmentLabel {
    environment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SnapshotLabel {
    environment: String,
    namespace: String,
    encoding: &'static str,
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RouteStatus, Counter>,
    latency: Family<Route, Histogram, fn() -> Histogram>,
    handler_allocations: Family<Route, Counter>,
    handler_allocated_bytes: Family<Route, Counter>,
    snapshot_bytes: Family<SnapshotLabel, Gauge>,
    revisions: Family<NamespaceLabel, Counter>,
    namespace_errors: Family<NamespaceLabel, Gauge>,
    reloads: Family<EnvironmentLabel, Counter>,
    reload_errors: Family<EnvironmentLabel, Counter>,
    rejections: Family<RejectionLabel, Counter>,
    accept_errors: Counter,
}

fn latency_histogram() -> Histogram {
    // 10 µs to ~5 s.
    Histogram::new(exponential_buckets(0.000_01, 2.5, 15))
}

/// Each namespace's age of its served revision and how long it has been failing, read from the
/// catalog at each scrape (ages grow between reloads, so they cannot be set at reload time).
#[derive(Debug)]
struct NamespaceAgeCollector {
    /// Each environment's name and catalog.
    catalogs: Vec<(String, Arc<ArcSwap<Catalog>>)>,
}

impl Collector for NamespaceAgeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let catalogs: Vec<(&str, _)> = self
            .catalogs
            .iter()
            .map(|(name, catalog)| (name.as_str(), catalog.load()))
            .collect();
        let now = SystemTime::now();
        let seconds =
            |since: SystemTime| now.duration_since(since).unwrap_or_default().as_secs_f64();
        let unix = |at: SystemTime| {
            at.duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
        };
        let ages = ConstGauge::new(0.0);
        let mut metric = encoder.encode_descriptor(
            "vexil_namespace_revision_age_seconds",
            "Seconds since the namespace's served revision was published",
            None,
            ages.metric_type(),
        )?;
        let entries = || {
            catalogs.iter().flat_map(|(environment, catalog)| {
                catalog
                    .namespaces
                    .iter()
                    .map(move |(key, entry)| (*environment, key, entry))
            })
        };
        for (environment, key, entry) in entries() {
            if let Some(revision) = &entry.current {
                let label = [("environment", environment), ("namespace", key.as_str())];
                ConstGauge::new(seconds(revision.published_at))
                    .encode(metric.encode_family(&label)?)?;
            }
        }
        let mut metric = encoder.encode_descriptor(
            "vexil_namespace_failing_since_seconds",
            "Unix time since which the namespace's flag files have failed to load (0: they load)",
            None,
            ages.metric_type(),
        )?;
        for (environment, key, entry) in entries() {
            let label = [("environment", environment), ("namespace", key.as_str())];
            let since = entry.failing_since.map_or(0.0, unix);
            ConstGauge::new(since).encode(metric.encode_family(&label)?)?;
        }
        Ok(())
    }
}

/// The counting allocator's totals, read at each scrape.
#[derive(Debug)]
struct AllocationCollector;

impl Collector for AllocationCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let (allocations, bytes) = crate::alloc::totals();
        let allocations = ConstCounter::new(allocations);
        let metric = encoder.encode_descriptor(
            "vexil_heap_allocations",
            "Heap allocations made by the process since it started",
            None,
            allocations.metric_type(),
        )?;
        allocations.encode(metric)?;
        let bytes = ConstCounter::new(bytes);
        let metric = encoder.encode_descriptor(
            "vexil_heap_allocated_bytes",
            "Bytes of heap allocated by the process since it started",
            None,
            bytes.metric_type(),
        )?;
        bytes.encode(metric)?;
        let live = ConstGauge::new(crate::alloc::live_bytes() as i64);
        let metric = encoder.encode_descriptor(
            "vexil_heap_live_bytes",
            "Bytes of heap allocated and not yet freed (resident memory also counts what the allocator keeps)",
            None,
            live.metric_type(),
        )?;
        live.encode(metric)
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new(catalogs: Vec<(String, Arc<ArcSwap<Catalog>>)>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "vexil_http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "vexil_http_request_duration_seconds",
            "Time to the response head, by route",
            latency.clone(),
        );
        let handler_allocations = Family::<Route, Counter>::default();
        registry.register(
            "vexil_handler_allocations",
            "Heap allocations made while each route's handler ran (not hyper's own)",
            handler_allocations.clone(),
        );
        let handler_allocated_bytes = Family::<Route, Counter>::default();
        registry.register(
            "vexil_handler_allocated_bytes",
            "Bytes of heap allocated while each route's handler ran (not hyper's own)",
            handler_allocated_bytes.clone(),
        );
        let snapshot_bytes = Family::<SnapshotLabel, Gauge>::default();
        registry.register(
            "vexil_snapshot_bytes",
            "Size of the served snapshot, by encoding",
            snapshot_bytes.clone(),
        );
        let revisions = Family::<NamespaceLabel, Counter>::default();
        registry.register(
            "vexil_revisions_published",
            "Revisions published per namespace",
            revisions.clone(),
        );
        let namespace_errors = Family::<NamespaceLabel, Gauge>::default();
        registry.register(
            "vexil_namespace_load_errors",
            "Errors in the namespace's flag files at the last reload (0 when it loaded)",
            namespace_errors.clone(),
        );
        let reloads = Family::<EnvironmentLabel, Counter>::default();
        registry.register(
            "vexil_reloads",
            "Reloads of the flag files, by environment",
            reloads.clone(),
        );
        let reload_errors = Family::<EnvironmentLabel, Counter>::default();
        registry.register(
            "vexil_reload_errors",
            "Errors found in flag files, summed over reloads, by environment",
            reload_errors.clone(),
        );
        let rejections = Family::<RejectionLabel, Counter>::default();
        registry.register(
            "vexil_http_rejections",
            "Requests and connections turned away, by reason (limit, timeout, auth, cap, busy, malformed)",
            rejections.clone(),
        );
        let accept_errors = Counter::default();
        registry.register(
            "vexil_accept_errors",
            "Connections the listener failed to accept (out of file descriptors, most often)",
            accept_errors.clone(),
        );
        registry.register_collector(Box::new(AllocationCollector));
        registry.register_collector(Box::new(NamespaceAgeCollector { catalogs }));
        Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
            handler_allocations,
            handler_allocated_bytes,
            snapshot_bytes,
            revisions,
            namespace_errors,
            reloads,
            reload_errors,
            rejections,
            accept_errors,
        }
    }

    /// Counts a request or connection turned away.
    pub fn record_rejection(&self, reason: Rejection) {
        self.rejections
            .get_or_create(&RejectionLabel { reason })
            .inc();
    }

    /// Counts a failed `accept`.
    pub fn record_accept_error(&self) {
        self.accept_errors.inc();
    }

    /// Counts one finished request.
    pub fn record_request(
        &self,
        route: &'static str,
        status: u16,
        seconds: f64,
        (allocations, bytes): (u64, u64),
    ) {
        self.requests
            .get_or_create(&RouteStatus { route, status })
            .inc();
        self.latency
            .get_or_create(&Route { route })
            .observe(seconds);
        self.handler_allocations
            .get_or_create(&Route { route })
            .inc_by(allocations);
        self.handler_allocated_bytes
            .get_or_create(&Route { route })
            .inc_by(bytes);
    }

    /// Records a namespace's state after a reload.
    pub fn record_namespace(&self, environment: &str, namespace: &str, entry: &NamespaceEntry) {
        let label = NamespaceLabel {
            environment: environment.to_owned(),
            namespace: namespace.to_owned(),
        };
        self.namespace_errors
            .get_or_create(&label)
            .set(entry.last_error.len() as i64);
        if let Some(revision) = &entry.current {
            let snapshot = &revision.documents.snapshot;
            for (encoding, body) in [
                ("identity", Some(&snapshot.identity)),
                ("gzip", Some(&snapshot.gzip)),
                ("deflate", Some(&snapshot.deflate)),
                ("br", snapshot.brotli.as_ref()),
                ("zstd", snapshot.zstd.as_ref()),
            ] {
                let Some(body) = body else { continue };
                self.snapshot_bytes
                    .get_or_create(&SnapshotLabel {
                        environment: environment.to_owned(),
                        namespace: namespace.to_owned(),
                        encoding,
                    })
                    .set(body.len() as i64);
            }
        }
    }

    /// Counts a published revision.
    pub fn record_revision(&self, environment: &str, namespace: &str) {
        self.revisions
            .get_or_create(&NamespaceLabel {
                environment: environment.to_owned(),
                namespace: namespace.to_owned(),
            })
            .inc();
    }

    /// Counts a reload and the errors it found.
    pub fn record_reload(&self, environment: &str, errors: usize) {
        let label = EnvironmentLabel {
            environment: environment.to_owned(),
        };
        self.reloads.get_or_create(&label).inc();
        self.reload_errors
            .get_or_create(&label)
            .inc_by(errors as u64);
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
            tracing::error!("encoding metrics failed");
        }
        text
    }
}
