//! Growth: one namespace of 10 to 10,000 flags, each on its own server. How long the first load
//! and a reload take (from the flag file's rename to the new revision served), what the snapshot
//! weighs in each encoding and form, and what the namespace adds to the server's resident memory.
//! Then requests under load while a 10,000-flag namespace beside them reloads over and over.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::generator::Target;
use crate::process::{live_heap_bytes, Server};
use crate::{seed, Row, Run};

const DEBOUNCE_MS: u64 = 20;
/// How often a reload is polled for: a conditional request that costs the server a 304.
const POLL: Duration = Duration::from_millis(5);
/// The longest a reload may take before the run fails.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);
const RELOADS_PER_SIZE: usize = 10;
const JSON: &str = "application/json";
const COMPILED: &str = "application/vnd.vexil.snapshot";
const ENCODINGS: [&str; 4] = ["identity", "gzip", "br", "zstd"];

/// One namespace size.
#[derive(Debug, Serialize)]
pub struct GrowthRow {
    pub flags: usize,
    /// Process start to listening: reading, compiling and publishing the namespace once.
    pub start_ms: f64,
    /// Rename of the flag file to the new revision served (median and slowest of the reloads),
    /// the debounce included.
    pub reload_median_ms: f64,
    pub reload_max_ms: f64,
    pub debounce_ms: u64,
    /// Bytes sent per encoding (`identity`, `gzip`, `br`, `zstd`), JSON and compiled.
    pub json_bytes: Vec<(String, Option<u64>)>,
    pub compiled_bytes: Vec<(String, Option<u64>)>,
    pub rss_empty_kib: u64,
    pub rss_loaded_kib: u64,
    pub rss_after_reloads_kib: u64,
    /// The heap in use (the server's counting allocator: allocated, not freed) at the same
    /// moments: what is live, where RSS also has what the allocator keeps.
    pub heap_loaded_kib: u64,
    pub heap_after_reloads_kib: u64,
}

pub fn sizes(ci: bool) -> &'static [usize] {
    if ci {
        &[10, 1000]
    } else {
        &[10, 100, 1000, 10_000]
    }
}

/// The server on `flags`, reloading 20 ms after a change.
fn start(flags: &Path) -> anyhow::Result<Server> {
    Server::vexil(flags, &["--debounce-ms", &DEBOUNCE_MS.to_string()])
}

fn snapshot_url(server: &Server, namespace: &str) -> String {
    format!(
        "{}/internal/v1/evaluation/snapshot/namespace/{namespace}",
        server.url
    )
}

/// Writes namespace `key`'s flag file as an editor saving atomically would: beside, then renamed
/// over.
fn write_namespace(dir: &Path, key: &str, flags: usize, salt: usize) -> anyhow::Result<()> {
    let staging = dir.join(format!(".{key}.features.yml.new"));
    std::fs::write(&staging, vexil_benches::flag_file(key, flags, salt))?;
    std::fs::rename(&staging, dir.join(format!("{key}.features.yml")))?;
    Ok(())
}

async fn etag(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let response = client.get(url).send().await?.error_for_status()?;
    Ok(response
        .headers()
        .get("etag")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| anyhow::anyhow!("{url} sent no ETag"))?
        .to_owned())
}

/// Waits until `url` no longer matches `old` (a 200 instead of a 304): the reload is served.
async fn until_changed(client: &reqwest::Client, url: &str, old: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + RELOAD_TIMEOUT;
    while Instant::now() < deadline {
        let response = client
            .get(url)
            .header("if-none-match", old)
            .header("accept-encoding", "gzip")
            .send()
            .await?;
        match response.status().as_u16() {
            304 => tokio::time::sleep(POLL).await,
            200 => return Ok(()),
            status => anyhow::bail!("{url} answered {status} while reloading"),
        }
    }
    anyhow::bail!("{url} not reloaded within {} s", RELOAD_TIMEOUT.as_secs())
}

/// Rewrites the namespace and times it until the new revision is served.
async fn reload(
    client: &reqwest::Client,
    dir: &Path,
    url: &str,
    (key, flags, salt): (&str, usize, usize),
) -> anyhow::Result<Duration> {
    let old = etag(client, url).await?;
    let written = Instant::now();
    write_namespace(dir, key, flags, salt)?;
    until_changed(client, url, &old).await?;
    Ok(written.elapsed())
}

/// The bytes sent for one form and encoding (reqwest here decompresses nothing); `None` when the
/// server sent another encoding (it keeps brotli and zstd only where they beat gzip).
async fn sent_bytes(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    encoding: &str,
) -> anyhow::Result<Option<u64>> {
    let response = client
        .get(url)
        .header("accept", accept)
        .header("accept-encoding", encoding)
        .send()
        .await?
        .error_for_status()?;
    let sent = response
        .headers()
        .get("content-encoding")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("identity")
        .to_owned();
    let bytes = response.bytes().await?.len() as u64;
    Ok((sent == encoding).then_some(bytes))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub async fn run(run: &Run, sizes: &[usize]) -> anyhow::Result<Vec<GrowthRow>> {
    let empty = tempfile::tempdir()?;
    let rss_empty_kib = start(empty.path())?.rss_kib();
    let mut rows = Vec::new();
    for &flags in sizes {
        let dir = tempfile::tempdir()?;
        write_namespace(dir.path(), "grow", flags, 0)?;
        let started = Instant::now();
        let server = start(dir.path())?;
        let start_ms = ms(started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rss_loaded_kib = server.rss_kib();
        let heap_loaded_kib = live_heap_bytes(&run.client, &server.url).await? / 1024;
        let url = snapshot_url(&server, "grow");
        let mut json_bytes = Vec::new();
        let mut compiled_bytes = Vec::new();
        for encoding in ENCODINGS {
            json_bytes.push((
                encoding.to_owned(),
                sent_bytes(&run.client, &url, JSON, encoding).await?,
            ));
            compiled_bytes.push((
                encoding.to_owned(),
                sent_bytes(&run.client, &url, COMPILED, encoding).await?,
            ));
        }
        let mut reloads = Vec::with_capacity(RELOADS_PER_SIZE);
        for salt in 1..=RELOADS_PER_SIZE {
            reloads.push(reload(&run.client, dir.path(), &url, ("grow", flags, salt)).await?);
        }
        reloads.sort_unstable();
        // The last revision replaced is dropped just after its successor is served.
        tokio::time::sleep(Duration::from_millis(200)).await;
        rows.push(GrowthRow {
            flags,
            start_ms,
            reload_median_ms: ms(reloads[reloads.len() / 2]),
            reload_max_ms: reloads.last().copied().map_or(f64::NAN, ms),
            debounce_ms: DEBOUNCE_MS,
            json_bytes,
            compiled_bytes,
            rss_empty_kib,
            rss_loaded_kib,
            rss_after_reloads_kib: server.rss_kib(),
            heap_loaded_kib,
            heap_after_reloads_kib: live_heap_bytes(&run.client, &server.url).await? / 1024,
        });
    }
    Ok(rows)
}

/// The flags of the namespace that reloads while requests are measured.
pub fn reloading_flags(ci: bool) -> usize {
    if ci {
        1000
    } else {
        10_000
    }
}

/// A gzip snapshot download and a single evaluation, each quiet and then while namespace `big`
/// (served beside them) is rewritten every `every`.
pub async fn under_reload(run: &Run, big: usize, every: Duration) -> anyhow::Result<Vec<Row>> {
    let flags = seed::flag_dir(&run.workspace)?;
    write_namespace(flags.path(), "big", big, 0)?;
    let server = start(flags.path())?;
    let targets = [
        (
            "gzip snapshot, 100 flags",
            Target {
                method: "GET",
                url: snapshot_url(&server, "bench"),
                headers: vec![("accept-encoding", "gzip".to_owned())],
                body: None,
            },
        ),
        (
            "POST /evaluate/v1/variant",
            Target {
                method: "POST",
                url: format!("{}/evaluate/v1/variant", server.url),
                headers: vec![
                    ("content-type", "application/json".to_owned()),
                    ("accept-encoding", "identity".to_owned()),
                ],
                body: Some(
                    serde_json::json!({
                        "namespaceKey": "default", "flagKey": "new-checkout", "entityId": "user-7",
                        "context": { "plan": "pro", "country": "NL", "seats": "4" },
                    })
                    .to_string(),
                ),
            },
        ),
    ];
    let scenario = format!("beside a {big}-flag namespace");
    let big_url = snapshot_url(&server, "big");
    let mut salt = 0;
    let mut rows = Vec::new();
    for (name, target) in &targets {
        rows.push(
            run.measure(&format!("{scenario}: {name}"), "quiet", &server, target)
                .await?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let reloader = tokio::spawn({
            let (client, dir, url, stop) = (
                run.client.clone(),
                flags.path().to_owned(),
                big_url.clone(),
                stop.clone(),
            );
            let first_salt = salt;
            async move {
                let mut took = Vec::new();
                let mut salt = first_salt;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    salt += 1;
                    took.push(reload(&client, &dir, &url, ("big", big, salt)).await?);
                    tokio::time::sleep(every.saturating_sub(started.elapsed())).await;
                }
                anyhow::Ok((took, salt))
            }
        });
        let mut row = run
            .measure(
                &format!("{scenario}: {name}"),
                "while it reloads",
                &server,
                target,
            )
            .await?;
        stop.store(true, Ordering::Relaxed);
        let (mut took, last_salt) = reloader.await??;
        salt = last_salt;
        anyhow::ensure!(!took.is_empty(), "{name}: no reload happened under load");
        took.sort_unstable();
        row.mode = format!(
            "while it reloads every {} s ({} reloads, median {:.0} ms)",
            every.as_secs_f64(),
            took.len(),
            ms(took[took.len() / 2])
        );
        rows.push(row);
    }
    Ok(rows)
}

pub fn print(rows: &[GrowthRow]) {
    let list = |sizes: &[(String, Option<u64>)]| {
        sizes
            .iter()
            .map(|(_, bytes)| bytes.map_or("—".to_owned(), |bytes| crate::bytes(bytes as f64)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!("| flags | start | reload (median, max) | JSON: identity / gzip / br / zstd | compiled: identity / gzip / br / zstd | RSS empty / loaded / after {RELOADS_PER_SIZE} reloads | heap in use loaded / after |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {:.0} ms | {:.0} ms, {:.0} ms | {} | {} | {} / {} / {} MiB | {} / {} MiB |",
            row.flags,
            row.start_ms,
            row.reload_median_ms,
            row.reload_max_ms,
            list(&row.json_bytes),
            list(&row.compiled_bytes),
            crate::mib(row.rss_empty_kib),
            crate::mib(row.rss_loaded_kib),
            crate::mib(row.rss_after_reloads_kib),
            crate::mib(row.heap_loaded_kib),
            crate::mib(row.heap_after_reloads_kib),
        );
    }
}

/// Growth's own invariants: compression shrinks every snapshot and the compiled form is the
/// smaller one, plain.
pub fn check(rows: &[GrowthRow]) -> anyhow::Result<()> {
    for row in rows {
        let plain = |sizes: &[(String, Option<u64>)]| sizes.first().and_then(|(_, bytes)| *bytes);
        for (form, sizes) in [("JSON", &row.json_bytes), ("compiled", &row.compiled_bytes)] {
            anyhow::ensure!(
                plain(sizes).is_some() && sizes.get(1).is_some_and(|(_, gzip)| gzip.is_some()),
                "{} flags: the {form} snapshot is not served plain and gzip",
                row.flags
            );
            for (encoding, bytes) in sizes[1..].iter().filter_map(|(e, b)| Some((e, (*b)?))) {
                anyhow::ensure!(
                    Some(bytes) < plain(sizes),
                    "{} flags: the {form} snapshot in {encoding} ({bytes} B) is not smaller than plain",
                    row.flags
                );
            }
        }
        anyhow::ensure!(
            plain(&row.compiled_bytes) < plain(&row.json_bytes),
            "{} flags: the compiled snapshot is not smaller than the JSON",
            row.flags
        );
    }
    Ok(())
}
