//! The load harness (`just bench-load`, `just bench-quick`): the seed story's experiment, run
//! against the real server, with Vexil's modes side by side.
//!
//!   vexil-load [--quick] [--ci] [--only seed|limit|evaluate|growth|fanout] [--json FILE]
//!   vexil-load compare OLD.json NEW.json
//!   vexil-load chart OUT_DIR RESULTS.json...
//!
//! `--quick` runs every mode briefly; `--ci` uses the built-in sequential client instead of oha
//! (allocations are measured the same way; latencies are closed-loop and not comparable). Each
//! run prints a Markdown table and, with `--json`, writes the rows as JSON.

mod chart;
mod compare;
mod evaluate;
mod fanout;
mod generator;
mod growth;
mod limit;
mod process;
mod seed;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use generator::{Generator, Load, Measured, Target};
use process::Server;

/// One mode's run: what the load generator saw and what the server allocated meanwhile.
#[derive(Debug, Serialize)]
pub struct Row {
    pub scenario: String,
    pub mode: String,
    #[serde(flatten)]
    pub measured: Measured,
    pub allocations_per_request: f64,
    pub bytes_per_request: f64,
    pub rss_before_kib: u64,
    pub rss_max_kib: u64,
    pub rss_after_kib: u64,
}

/// The settings of one harness run.
pub struct Run {
    pub workspace: PathBuf,
    pub generator: Generator,
    pub load: Load,
    pub client: reqwest::Client,
}

impl Run {
    /// Puts `target` under load on `server`, sampling its memory and allocation counters.
    pub async fn measure(
        &self,
        scenario: &str,
        mode: &str,
        server: &Server,
        target: &Target,
    ) -> anyhow::Result<Row> {
        self.measure_with(scenario, mode, server, target, self.load)
            .await
    }

    /// The same at another load.
    pub async fn measure_with(
        &self,
        scenario: &str,
        mode: &str,
        server: &Server,
        target: &Target,
        load: Load,
    ) -> anyhow::Result<Row> {
        // A server without Vexil's counters (nginx) has its allocations left out (null).
        let before = process::allocation_totals(&self.client, &server.url)
            .await
            .ok();
        let rss_before_kib = server.rss_kib();
        let pid = server.pid();
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = tokio::spawn({
            let sampling = sampling.clone();
            async move {
                let mut max = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    max = max.max(process::rss_kib(pid));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                max
            }
        });
        let measured = self.generator.run(target, load).await?;
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let rss_max_kib = sampler.await?.max(rss_before_kib);
        let after = process::allocation_totals(&self.client, &server.url)
            .await
            .ok();
        let requests = measured.requests.max(1) as f64;
        let per_request = |field: fn((u64, u64)) -> u64| match (before, after) {
            (Some(before), Some(after)) => (field(after) - field(before)) as f64 / requests,
            _ => f64::NAN,
        };
        Ok(Row {
            scenario: scenario.into(),
            mode: mode.into(),
            allocations_per_request: per_request(|totals| totals.0),
            bytes_per_request: per_request(|totals| totals.1),
            rss_before_kib,
            rss_max_kib,
            rss_after_kib: server.rss_kib(),
            measured,
        })
    }
}

/// The binaries beside this one (`cargo build -p vexil-benches --bins` builds them together).
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    anyhow::ensure!(
        path.is_file(),
        "{} is not built (cargo build -p vexil-benches --bins)",
        path.display()
    );
    Ok(path)
}

fn print_table(rows: &[Row]) {
    println!("| scenario | mode | requests | errors | req/s | p50 | p99 | p99.9 | max | allocations / request | bytes / request | RSS before / max / after |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let m = &row.measured;
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} | {} / {} / {} MiB |",
            row.scenario,
            row.mode,
            m.requests,
            m.errors,
            m.requests_per_second,
            m.p50_ms,
            m.p99_ms,
            m.p999_ms,
            m.max_ms,
            count(row.allocations_per_request),
            bytes(row.bytes_per_request),
            mib(row.rss_before_kib),
            mib(row.rss_max_kib),
            mib(row.rss_after_kib),
        );
    }
}

fn bytes(value: f64) -> String {
    if !value.is_finite() {
        "—".to_owned()
    } else if value >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", value / 1024.0 / 1024.0)
    } else if value >= 1024.0 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{value:.0} B")
    }
}

fn count(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1}")
    } else {
        "—".to_owned()
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// What the results were measured on, and when.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": model,
        "date": date,
        "command": std::env::args().collect::<Vec<_>>().join(" "),
    })
}

/// Raises this process's open-file limit to its hard maximum.
fn raise_file_limit() {
    if let Ok((_, hard)) = rlimit::Resource::NOFILE.get() {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, old, new] = &args[..] {
        if command == "compare" {
            return compare::run(Path::new(old), Path::new(new));
        }
    }
    if let [command, out, results @ ..] = &args[..] {
        if command == "chart" {
            return chart::run(Path::new(out), results);
        }
    }
    let flag = |name: &str| args.iter().any(|arg| arg == name);
    let json_out = args
        .iter()
        .position(|arg| arg == "--json")
        .and_then(|at| args.get(at + 1))
        .map(PathBuf::from);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let quick = flag("--quick") || flag("--ci");
    let generator = if flag("--ci") {
        Generator::Builtin { count: 400 }
    } else {
        Generator::find(&workspace, 2_000)
    };
    let load = if quick {
        Load {
            rate: 200,
            duration: Duration::from_secs(2),
            connections: 10,
        }
    } else {
        Load {
            rate: 1000,
            duration: Duration::from_secs(60),
            connections: 50,
        }
    };
    println!(
        "load: {} at {} req/s for {} s on {} connections (keep-alive)\n",
        generator.name(),
        load.rate,
        load.duration.as_secs(),
        load.connections
    );
    let fanout_clients: &[usize] = if flag("--ci") {
        &[100]
    } else if quick {
        &[500]
    } else {
        &[1000, 10_000]
    };
    let run = Run {
        workspace,
        generator,
        load,
        client: reqwest::Client::new(),
    };
    let only = args
        .iter()
        .position(|arg| arg == "--only")
        .and_then(|at| args.get(at + 1))
        .map(String::as_str);
    let rows = if only.is_none_or(|name| name == "seed") {
        let rows = seed::run(&run).await?;
        print_table(&rows);
        seed::check(&rows)?;
        rows
    } else {
        Vec::new()
    };
    let mut rows = rows;
    if only.is_none_or(|name| name == "limit") {
        let limit_rows = limit::run(&run, quick).await?;
        println!("\nThe limit: as fast as the machine goes, alternating rounds\n");
        print_table(&limit_rows);
        seed::check(&limit_rows)?;
        rows.extend(limit_rows);
    }
    if only.is_none_or(|name| name == "evaluate") {
        let evaluate_rows = evaluate::run(&run, quick).await?;
        println!("\nEvaluation under load, answers plain\n");
        print_table(&evaluate_rows);
        seed::check(&evaluate_rows)?;
        rows.extend(evaluate_rows);
    }
    let mut growth_rows = Vec::new();
    if only.is_none_or(|name| name == "growth") {
        growth_rows = growth::run(&run, growth::sizes(flag("--ci"))).await?;
        println!("\nGrowth: one namespace of N flags\n");
        growth::print(&growth_rows);
        growth::check(&growth_rows)?;
        let every = Duration::from_millis(if quick { 500 } else { 2000 });
        let reload_rows =
            growth::under_reload(&run, growth::reloading_flags(flag("--ci")), every).await?;
        println!("\nRequests while a big namespace beside them reloads\n");
        print_table(&reload_rows);
        seed::check(&reload_rows)?;
        rows.extend(reload_rows);
    }
    if only.is_some_and(|name| name != "fanout") {
        return write(json_out.as_deref(), &rows, &growth_rows, &[]);
    }

    // The harness holds one socket per client: as many as the hard limit allows.
    raise_file_limit();
    println!("\nSSE fan-out: one flag file changes under N open push streams\n");
    let mut fanout_rows = Vec::new();
    for &clients in fanout_clients {
        fanout_rows.push(fanout::run(&run, clients).await?);
    }
    fanout::print(&fanout_rows);
    fanout::check(&fanout_rows)?;
    write(json_out.as_deref(), &rows, &growth_rows, &fanout_rows)
}

/// The run's rows as JSON, with the machine and the command, when `--json` asked for it.
fn write(
    path: Option<&Path>,
    rows: &[Row],
    growth: &[growth::GrowthRow],
    fanout: &[fanout::FanoutRow],
) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let document = serde_json::json!({
        "machine": machine(),
        "rows": rows,
        "growth": growth,
        "fanout": fanout,
    });
    std::fs::write(path, serde_json::to_string_pretty(&document)? + "\n")?;
    println!("\nwritten to {}", path.display());
    Ok(())
}
