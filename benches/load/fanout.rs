//! SSE fan-out: N clients hold the push stream of one namespace; one flag file changes; how long
//! until each has the new revision's event (from the file's rename to the event's arrival, the
//! reload's debounce included), and what each connection costs the server in resident memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};

use crate::process::Server;
use crate::{seed, Run};

const STREAM: &str = "/client/v2/environments/default/namespaces/default/stream";
/// Connection attempts at once: the listen backlog is finite.
const CONNECTING_AT_ONCE: usize = 256;
const DEBOUNCE_MS: u64 = 20;
/// Every wait of the scenario is bounded by this.
const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Serialize)]
pub struct FanoutRow {
    pub clients: usize,
    pub connected: usize,
    pub received: usize,
    pub debounce_ms: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub rss_before_kib: u64,
    pub rss_connected_kib: u64,
    pub rss_per_connection_bytes: f64,
}

/// What a client reports: connected (it had the current revision's event), then the time the
/// next revision's event arrived.
enum Report {
    Connected,
    Changed(Instant),
}

async fn client(
    http: reqwest::Client,
    url: String,
    reports: mpsc::UnboundedSender<Report>,
    gate: Arc<Semaphore>,
) -> anyhow::Result<()> {
    let permit = gate.acquire_owned().await?;
    let response = http
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await?
        .error_for_status()?;
    let mut body = response.bytes_stream();
    let mut first: Option<String> = None;
    let mut pending = String::new();
    let mut permit = Some(permit);
    while let Some(chunk) = body.next().await {
        pending.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            let Some(id) = line.trim_end().strip_prefix("id: ") else {
                continue;
            };
            match &first {
                None => {
                    first = Some(id.to_owned());
                    drop(permit.take());
                    let _ = reports.send(Report::Connected);
                }
                Some(seen) if seen != id => {
                    let _ = reports.send(Report::Changed(Instant::now()));
                    return Ok(());
                }
                Some(_) => {}
            }
        }
        // A stream that sends no line ending is not SSE: bounded all the same.
        anyhow::ensure!(pending.len() < 64 * 1024, "an SSE line over 64 KiB");
    }
    Ok(())
}

pub async fn run(run: &Run, clients: usize) -> anyhow::Result<FanoutRow> {
    let flags = seed::flag_dir(&run.workspace)?;
    let debounce = DEBOUNCE_MS.to_string();
    let server = Server::vexil(flags.path(), &["--debounce-ms", &debounce])?;
    let rss_before_kib = server.rss_kib();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let (sender, mut reports) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let url = format!("{}{STREAM}", server.url);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(client(
                http.clone(),
                url.clone(),
                sender.clone(),
                gate.clone(),
            ))
        })
        .collect();
    drop(sender);

    let mut connected = 0;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while connected < clients {
        match tokio::time::timeout_at(deadline, reports.recv()).await {
            Ok(Some(Report::Connected)) => connected += 1,
            Ok(Some(Report::Changed(_))) => {
                anyhow::bail!("a revision changed before the flag file did")
            }
            Ok(None) | Err(_) => break,
        }
    }
    // Settle, then measure what the open streams hold.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected_kib = server.rss_kib();

    let file = flags.path().join("default/features.yml");
    let text = std::fs::read_to_string(&file)?;
    let changed = text.replacen("enabled: true", "enabled: false", 1);
    anyhow::ensure!(changed != text, "nothing to change in {}", file.display());
    let staging = flags.path().join("default/.features.yml.new");
    std::fs::write(&staging, changed)?;
    let written = Instant::now();
    std::fs::rename(&staging, &file)?;

    let mut latencies = Vec::with_capacity(connected);
    while latencies.len() < connected {
        match tokio::time::timeout_at(deadline + TIMEOUT, reports.recv()).await {
            Ok(Some(Report::Changed(at))) => latencies.push(at.duration_since(written)),
            Ok(Some(Report::Connected)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    for task in tasks {
        task.abort();
    }
    latencies.sort_unstable();
    let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let at = |q: f64| {
        ms(latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1))))
    };
    Ok(FanoutRow {
        clients,
        connected,
        received: latencies.len(),
        debounce_ms: DEBOUNCE_MS,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: ms(latencies.last()),
        rss_before_kib,
        rss_connected_kib,
        rss_per_connection_bytes: (rss_connected_kib.saturating_sub(rss_before_kib) * 1024) as f64
            / connected.max(1) as f64,
    })
}

pub fn print(rows: &[FanoutRow]) {
    println!("| clients | connected | told of the change | p50 | p99 | max | RSS before / with the streams open | RSS per connection |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} / {:.1} MiB | {:.1} KiB |",
            row.clients,
            row.connected,
            row.received,
            row.p50_ms,
            row.p99_ms,
            row.max_ms,
            row.rss_before_kib as f64 / 1024.0,
            row.rss_connected_kib as f64 / 1024.0,
            row.rss_per_connection_bytes / 1024.0
        );
    }
}

/// Every client connected and was told.
pub fn check(rows: &[FanoutRow]) -> anyhow::Result<()> {
    for row in rows {
        anyhow::ensure!(
            row.connected == row.clients,
            "{} of {} clients connected",
            row.connected,
            row.clients
        );
        anyhow::ensure!(
            row.received == row.clients,
            "{} of {} clients were told of the change",
            row.received,
            row.clients
        );
    }
    Ok(())
}
