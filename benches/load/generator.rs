//! Load: `oha` at a constant rate (open loop, `--latency-correction`: no coordinated omission),
//! or, where it is not installed (CI), a built-in sequential client that measures allocations
//! and counts errors but whose latencies are closed-loop and say so.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

/// One HTTP request, repeated.
#[derive(Clone, Debug)]
pub struct Target {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

/// How hard, how long.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Requests per second; 0: as fast as the connections go.
    pub rate: u32,
    pub duration: Duration,
    pub connections: u32,
}

/// What a run measured, latencies in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Measured {
    pub generator: String,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// Where the load comes from.
pub enum Generator {
    Oha(PathBuf),
    /// Sequential requests on one keep-alive connection, `count` of them.
    Builtin {
        count: u64,
    },
}

impl Generator {
    /// `oha` from `.tools/` (`just setup-oha`) or `OHA`, else the built-in client.
    pub fn find(workspace: &std::path::Path, builtin_count: u64) -> Generator {
        let candidates = [
            std::env::var_os("OHA").map(PathBuf::from),
            Some(workspace.join(".tools/oha-1.12.0/bin/oha")),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|path| path.is_file())
            .map_or(
                Generator::Builtin {
                    count: builtin_count,
                },
                Generator::Oha,
            )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Generator::Oha(_) => "oha",
            Generator::Builtin { .. } => "builtin",
        }
    }

    pub async fn run(&self, target: &Target, load: Load) -> anyhow::Result<Measured> {
        match self {
            // oha runs as a child process: waited for off the runtime, so what the harness does
            // meanwhile (sampling RSS, rewriting flag files) keeps running.
            Generator::Oha(oha) => {
                let (oha, target) = (oha.clone(), target.clone());
                tokio::task::spawn_blocking(move || run_oha(&oha, &target, load)).await?
            }
            Generator::Builtin { count } => run_builtin(target, *count).await,
        }
    }
}

fn run_oha(oha: &std::path::Path, target: &Target, load: Load) -> anyhow::Result<Measured> {
    let mut command = Command::new(oha);
    command
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "--latency-correction",
        ])
        .args(["-z", &format!("{}s", load.duration.as_secs().max(1))])
        .args(["-c", &load.connections.to_string()])
        .args(["-m", target.method]);
    if load.rate > 0 {
        command.args(["-q", &load.rate.to_string()]);
    }
    for (name, value) in &target.headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    if let Some(body) = &target.body {
        command.args(["-d", body]);
    }
    let output = command.arg(&target.url).output()?;
    anyhow::ensure!(
        output.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let seconds = |value: &serde_json::Value| value.as_f64().unwrap_or(f64::NAN) * 1000.0;
    let percentiles = &report["latencyPercentiles"];
    let statuses = report["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let count = |ok: bool| -> u64 {
        statuses
            .iter()
            // A 304 is the answer a revalidation asks for.
            .filter(|(status, _)| (status.starts_with('2') || status.as_str() == "304") == ok)
            .filter_map(|(_, n)| n.as_u64())
            .sum()
    };
    // oha counts the requests still in flight when the duration ends as "aborted due to
    // deadline": the end of the run, not a failure of the server.
    let failed: u64 = report["errorDistribution"]
        .as_object()
        .map(|errors| {
            errors
                .iter()
                .filter(|(error, _)| !error.contains("aborted due to deadline"))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0);
    Ok(Measured {
        generator: "oha (open loop, latency-corrected)".into(),
        requests: count(true) + count(false),
        errors: count(false) + failed,
        requests_per_second: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_ms: seconds(&percentiles["p50"]),
        p90_ms: seconds(&percentiles["p90"]),
        p99_ms: seconds(&percentiles["p99"]),
        p999_ms: seconds(&percentiles["p99.9"]),
        max_ms: seconds(&report["summary"]["slowest"]),
    })
}

async fn run_builtin(target: &Target, count: u64) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let mut latencies = Vec::with_capacity(count as usize);
    let mut errors = 0;
    let started = Instant::now();
    for _ in 0..count {
        let mut request = client.request(target.method.parse()?, &target.url);
        for (name, value) in &target.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &target.body {
            request = request.body(body.clone());
        }
        let sent = Instant::now();
        match request.send().await {
            Ok(response) if response.status().is_success() || response.status() == 304 => {
                let _ = response.bytes().await?;
            }
            _ => errors += 1,
        }
        latencies.push(sent.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |quantile: f64| {
        let index =
            ((latencies.len() as f64 * quantile) as usize).min(latencies.len().saturating_sub(1));
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Measured {
        generator: "builtin (sequential, closed loop: latencies not comparable)".into(),
        requests: count,
        errors,
        requests_per_second: count as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.5),
        p90_ms: at(0.9),
        p99_ms: at(0.99),
        p999_ms: at(0.999),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    })
}
