//! A soak under faults: many clients download snapshots, follow push streams and evaluate,
//! while the flag files are rewritten in place, atomically and through a Kubernetes `..data`
//! symlink swap, and broken and restored, cycle after cycle. Through all of it: no 5xx, no 404
//! (no namespace is ever removed), every body is the revision its ETag names, every evaluation
//! answer comes from one whole revision (the one its `X-Vexil-Revision` names), push streams
//! never end, and the server's memory stays flat after warm-up.
//!
//! `cargo test` runs a short version; `./x soak` (`VEXIL_SOAK_CYCLES=100`, a release build)
//! runs the full one and prints the figures recorded in `docs/reliability.md`.

mod support;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{eventually_value, write_atomic, Server};

/// The namespaces, each written its own way.
const NAMESPACES: [&str; 3] = ["alpha", "beta", "gamma"];

/// Version `k` of a namespace: two flags whose default variant is `v<k>` (so one batch over
/// both tells whether its answers come from one revision), and padding so the snapshot is big
/// enough to be written in several pieces.
fn version(namespace: &str, k: usize) -> String {
    let mut text = format!("namespace: {namespace}\nflags:\n");
    for flag in ["one", "two"] {
        text.push_str(&format!(
            "  - key: {flag}\n    name: {flag}\n    description: \"{}\"\n    variants:\n      - key: v{k}\n        name: V{k}\n        default: true\n",
            "padding ".repeat(200)
        ));
    }
    text
}

fn broken(namespace: &str, k: usize) -> String {
    version(namespace, k).replace("default: true", "default: perhaps")
}

/// Digest of version `k`, computed as the server computes it.
fn digest_of(namespace: &str, k: usize) -> String {
    let loaded = vexil_flags::load_str(Path::new("features.yml"), &version(namespace, k));
    let model = match &loaded.namespaces[namespace].result {
        Ok(model) => model,
        Err(errors) => panic!("{errors:?}"),
    };
    vexil_eval::write_snapshot(model).digest
}

/// Where each namespace's file lives and how it is rewritten.
struct Files {
    root: PathBuf,
}

impl Files {
    fn create(root: &Path) -> Files {
        let files = Files {
            root: root.to_path_buf(),
        };
        write_atomic(&root.join("alpha/features.yml"), &version("alpha", 0));
        write_atomic(&root.join("beta/features.yml"), &version("beta", 0));
        files.configmap(0, &version("gamma", 0));
        std::os::unix::fs::symlink("..data/gamma.features.yml", root.join("gamma.features.yml"))
            .unwrap();
        files
    }

    /// Writes `text` for `namespace` its own way.
    fn write(&self, namespace: &str, generation: usize, text: &str) {
        match namespace {
            // In place, as shell `>` does, with a pause half-way.
            "alpha" => {
                let mut out = std::fs::File::create(self.root.join("alpha/features.yml")).unwrap();
                let half = text.len() / 2;
                out.write_all(&text.as_bytes()[..half]).unwrap();
                out.flush().unwrap();
                std::thread::sleep(Duration::from_millis(30));
                out.write_all(&text.as_bytes()[half..]).unwrap();
            }
            "beta" => write_atomic(&self.root.join("beta/features.yml"), text),
            _ => self.configmap(generation, text),
        }
    }

    /// A ConfigMap update: a new timestamped directory, `..data` renamed onto it, the old one
    /// removed.
    fn configmap(&self, generation: usize, text: &str) {
        let dir = format!("..{generation:04}");
        write_atomic(&self.root.join(&dir).join("gamma.features.yml"), text);
        let link = self.root.join("..data_tmp");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let old = std::fs::read_link(self.root.join("..data")).ok();
        std::fs::rename(&link, self.root.join("..data")).unwrap();
        if let Some(old) = old.filter(|old| *old != Path::new(&dir)) {
            let _ = std::fs::remove_dir_all(self.root.join(old));
        }
    }
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    snapshots: AtomicU64,
    not_modified: AtomicU64,
    evaluations: AtomicU64,
    events: AtomicU64,
    failures: Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, what: String) {
        let mut failures = self.failures.lock().unwrap();
        if failures.len() < 20 {
            failures.push(what);
        }
    }
}

/// Digest to version, per namespace, for every version the writer may publish.
type Known = Arc<HashMap<String, HashMap<String, usize>>>;

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn download(
    client: reqwest::Client,
    base: String,
    known: Known,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    seed: usize,
) {
    let mut etags: HashMap<&str, String> = HashMap::new();
    let mut turn = seed;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        let namespace = NAMESPACES[turn % NAMESPACES.len()];
        let gzip = turn % 2 == 0;
        let mut request = client.get(format!(
            "{base}/internal/v1/evaluation/snapshot/namespace/{namespace}"
        ));
        if gzip {
            request = request.header("accept-encoding", "gzip");
        }
        if let Some(etag) = etags.get(namespace).filter(|_| turn % 3 == 0) {
            request = request.header("if-none-match", etag.as_str());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tally.fail(format!("snapshot {namespace}: {error}"));
                continue;
            }
        };
        let status = response.status();
        let etag = support::header(&response, "etag");
        if status == StatusCode::NOT_MODIFIED {
            tally.not_modified.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if status != StatusCode::OK {
            let body = response.text().await.unwrap_or_default();
            tally.fail(format!("snapshot {namespace}: {status} {body}"));
            continue;
        }
        let bytes = response.bytes().await.unwrap_or_default();
        let json = if gzip {
            miniz_oxide::inflate::decompress_to_vec(&bytes[10..bytes.len() - 8]).unwrap_or_default()
        } else {
            bytes.to_vec()
        };
        // The body is the revision its ETag names: read it, write it again, same digest.
        let digest = etag.trim_matches('"');
        let rewritten =
            vexil_eval::read_snapshot(&json).map(|model| vexil_eval::write_snapshot(&model).digest);
        if rewritten.as_deref() != Ok(digest) || !known[namespace].contains_key(digest) {
            tally.fail(format!(
                "snapshot {namespace}: body {rewritten:?} is not ETag {digest}"
            ));
        }
        etags.insert(namespace, etag);
        tally.snapshots.fetch_add(1, Ordering::Relaxed);
    }
}

async fn evaluate(
    client: reqwest::Client,
    base: String,
    known: Known,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    seed: usize,
) {
    let mut turn = seed;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        let namespace = NAMESPACES[turn % NAMESPACES.len()];
        let body = json!({"requests": [
            {"namespaceKey": namespace, "flagKey": "one", "entityId": format!("e{turn}")},
            {"namespaceKey": namespace, "flagKey": "two", "entityId": format!("e{turn}")},
        ]});
        let response = match client
            .post(format!("{base}/evaluate/v1/batch"))
            .json(&body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                tally.fail(format!("batch {namespace}: {error}"));
                continue;
            }
        };
        let status = response.status();
        let revision = support::header(&response, "x-vexil-revision");
        let text = response.text().await.unwrap_or_default();
        if status != StatusCode::OK {
            tally.fail(format!("batch {namespace}: {status} {text}"));
            continue;
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or_default();
        let keys: Vec<&str> = answer["responses"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item["variantResponse"]["variantKey"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let expected = known[namespace].get(&revision).map(|k| format!("v{k}"));
        let whole = keys.len() == 2
            && expected
                .as_deref()
                .is_some_and(|key| keys.iter().all(|k| *k == key));
        if !whole {
            tally.fail(format!(
                "batch {namespace}: answers {keys:?} from revision {revision} ({expected:?})"
            ));
        }
        tally.evaluations.fetch_add(1, Ordering::Relaxed);
    }
}

async fn follow(
    base: String,
    namespace: &'static str,
    known: Known,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let url = format!("{base}/client/v2/environments/default/namespaces/{namespace}/stream");
    let mut response = match reqwest::Client::new()
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
    {
        Ok(response) if response.status() == StatusCode::OK => response,
        other => {
            tally.fail(format!("stream {namespace}: {other:?}"));
            return;
        }
    };
    let mut text = String::new();
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(200), response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(other) => {
                tally.fail(format!("stream {namespace} ended: {other:?}"));
                return;
            }
            Err(_) => {}
        }
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(id) = event.lines().find_map(|line| line.strip_prefix("id: ")) {
                if !known[namespace].contains_key(id) {
                    tally.fail(format!("stream {namespace}: unknown revision {id}"));
                }
                tally.events.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A push stream held for the whole run: records the version of the last event it got.
async fn hold(
    client: reqwest::Client,
    base: String,
    namespace: &'static str,
    known: Known,
    seen: Arc<AtomicU64>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let url = format!("{base}/client/v2/environments/default/namespaces/{namespace}/stream");
    let mut response = match client
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
    {
        Ok(response) if response.status() == StatusCode::OK => response,
        other => {
            tally.fail(format!(
                "held stream {namespace}: {:?}",
                other.map(|r| r.status())
            ));
            return;
        }
    };
    let mut text = String::new();
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(500), response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(other) => {
                tally.fail(format!("held stream {namespace} ended: {other:?}"));
                return;
            }
            Err(_) => continue,
        }
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(k) = event
                .lines()
                .find_map(|line| known[namespace].get(line.strip_prefix("id: ")?))
            {
                seen.store(*k as u64, Ordering::Relaxed);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_stays_correct_and_flat_under_file_faults_and_load() {
    let cycles: usize = std::env::var("VEXIL_SOAK_CYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    let clients: usize = std::env::var("VEXIL_SOAK_CLIENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    let held_streams: usize = std::env::var("VEXIL_SOAK_STREAMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    // Each held stream is a descriptor here and one in the server.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let known: Known = Arc::new(
        NAMESPACES
            .iter()
            .map(|namespace| {
                let versions = (0..=cycles).map(|k| (digest_of(namespace, k), k)).collect();
                (namespace.to_string(), versions)
            })
            .collect(),
    );
    let dir = tempfile::tempdir().unwrap();
    let files = Files::create(dir.path());
    let server = Server::start_in(dir, &[]);
    let base = server.base.clone();
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for namespace in NAMESPACES {
        tasks.push(tokio::spawn(follow(
            base.clone(),
            namespace,
            known.clone(),
            tally.clone(),
            stop.clone(),
        )));
    }
    let held: Vec<Arc<AtomicU64>> = (0..held_streams)
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let holder = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for (index, seen) in held.iter().enumerate() {
        let namespace = NAMESPACES[index % NAMESPACES.len()];
        tasks.push(tokio::spawn(hold(
            holder.clone(),
            base.clone(),
            namespace,
            known.clone(),
            seen.clone(),
            tally.clone(),
            stop.clone(),
        )));
    }
    for seed in 0..clients {
        let client = reqwest::Client::new();
        tasks.push(tokio::spawn(download(
            client.clone(),
            base.clone(),
            known.clone(),
            tally.clone(),
            stop.clone(),
            seed,
        )));
        tasks.push(tokio::spawn(evaluate(
            client,
            base.clone(),
            known.clone(),
            tally.clone(),
            stop.clone(),
            seed,
        )));
    }

    let started = Instant::now();
    let pid = server.pid();
    let writer = tokio::task::spawn_blocking(move || {
        let mut rss = Vec::new();
        for k in 1..=cycles {
            for (index, namespace) in NAMESPACES.iter().enumerate() {
                let generation = 2 * k + index;
                // Every third cycle, each namespace is broken first and restored a moment later.
                if k % 3 == index % 3 {
                    files.write(namespace, generation, &broken(namespace, k));
                    std::thread::sleep(Duration::from_millis(80));
                }
                files.write(namespace, generation + 1, &version(namespace, k));
            }
            std::thread::sleep(Duration::from_millis(60));
            rss.push(resident_kib(pid));
        }
        rss
    });
    let rss = writer.await.unwrap();
    // The last version is served everywhere, then the clients stop.
    let client = reqwest::Client::new();
    for namespace in NAMESPACES {
        let want = digest_of(namespace, cycles);
        eventually_value(Duration::from_secs(15), || async {
            let status = support::namespace_status(&client, &base, namespace).await;
            (
                status["revision"] == want && status["state"] == "serving",
                status,
            )
        })
        .await
        .unwrap_or_else(|last| panic!("{namespace} never served version {cycles}: {last:?}"));
    }
    // Every held stream was told of the last version.
    let told = Instant::now();
    let all_told = eventually_value(Duration::from_secs(60), || async {
        let behind = held
            .iter()
            .filter(|seen| seen.load(Ordering::Relaxed) != cycles as u64)
            .count();
        (behind == 0, behind)
    })
    .await;
    let told_within = told.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let failures = tally.failures.lock().unwrap();
    let warm = rss[rss.len() / 4];
    let last = *rss.last().unwrap();
    println!(
        "soak: {held_streams} push streams held throughout, all told of the last version within {:.1} s of it being served",
        told_within.as_secs_f64()
    );
    println!(
        "soak: {} cycles x 3 namespaces (one broken and restored each cycle) in {:.1} s; {} snapshots, {} not modified, {} batches, {} push events; RSS {} KiB after warm-up, {} KiB at the end, max {} KiB",
        cycles,
        started.elapsed().as_secs_f64(),
        tally.snapshots.load(Ordering::Relaxed),
        tally.not_modified.load(Ordering::Relaxed),
        tally.evaluations.load(Ordering::Relaxed),
        tally.events.load(Ordering::Relaxed),
        warm,
        last,
        rss.iter().max().unwrap(),
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        all_told.is_ok(),
        "held streams not told of the last version: {all_told:?}"
    );
    assert!(
        tally.snapshots.load(Ordering::Relaxed) > 50
            && tally.evaluations.load(Ordering::Relaxed) > 50
    );
    assert!(tally.events.load(Ordering::Relaxed) >= 3);
    // Flat: no more than a quarter, plus a little slack for the allocator, over warm-up.
    assert!(
        last <= warm + warm / 4 + 4096,
        "RSS grew from {warm} KiB to {last} KiB"
    );
}
