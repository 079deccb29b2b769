//! The seed story's experiment, side by side in one run, keep-alive on (as vegeta does).
//!
//! - Gzip snapshot download (a generated 100-flag namespace, 172 KB of JSON): `naive` (a new
//!   compressor per response, the story's bug), `pooled` (one compressor per thread, the story's
//!   fix), `precompressed` (Vexil: compressed once per revision), and a bare hyper server
//!   returning the same gzip bytes (the floor).
//! - `POST /api/v1/batch-evaluate` with 100 requests (a 30 KB answer): `naive` and `pooled`
//!   per-response compression, `plain` (identity), and `vexil` (Vexil's own gzip, its per-thread
//!   compressor).
//!
//! The naive and pooled modes are bench-only (`seed_server.rs`), through the same axum stack.

use crate::generator::Target;
use crate::process::Server;
use crate::{sibling, Row, Run};

const SNAPSHOT: &str = "/internal/v1/evaluation/snapshot/namespace/bench";
const FLAGS_IN_BENCH_NAMESPACE: usize = 100;
const BATCH: usize = 100;

/// The flag directory: the examples (the evaluate modes ask `new-checkout`) and a generated
/// `bench` namespace (the snapshot modes download it).
pub fn flag_dir(workspace: &std::path::Path) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let examples = workspace.join("examples/flags");
    for entry in walk(&examples)? {
        let relative = entry.strip_prefix(&examples)?;
        let to = dir.path().join(relative);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&entry, to)?;
    }
    let bench = vexil_benches::flag_file("bench", FLAGS_IN_BENCH_NAMESPACE, 0);
    std::fs::write(dir.path().join("bench.features.yml"), bench)?;
    Ok(dir)
}

fn walk(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

fn batch_body() -> String {
    let requests: Vec<serde_json::Value> = (0..BATCH)
        .map(|i| {
            serde_json::json!({
                "flagKey": "new-checkout",
                "entityId": format!("user-{i}"),
                "context": { "plan": if i % 2 == 0 { "pro" } else { "free" }, "country": "NL" },
            })
        })
        .collect();
    serde_json::json!({ "namespaceKey": "default", "requests": requests }).to_string()
}

pub async fn run(run: &Run) -> anyhow::Result<Vec<Row>> {
    let flags = flag_dir(&run.workspace)?;
    let vexil = Server::vexil(flags.path(), &[])?;

    // The bare server returns exactly the bytes Vexil serves precompressed.
    let gzip = run
        .client
        .get(format!("{}{SNAPSHOT}", vexil.url))
        .header("accept-encoding", "gzip")
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let body_file = tempfile::NamedTempFile::new()?;
    std::fs::write(body_file.path(), &gzip)?;
    let bare = Server::start(
        &sibling("vexil-bare-server")?,
        &[
            "127.0.0.1:0".into(),
            body_file.path().display().to_string(),
            "gzip".into(),
        ],
    )?;

    let get = |url: String, compression: Option<&str>| Target {
        method: "GET",
        url,
        headers: std::iter::once(("accept-encoding", "gzip".to_owned()))
            .chain(compression.map(|mode| ("x-bench-compression", mode.to_owned())))
            .collect(),
        body: None,
    };
    let snapshot = format!("{}{SNAPSHOT}", vexil.url);
    let mut rows = Vec::new();
    let scenario = format!("gzip snapshot ({} B)", gzip.len());
    for (mode, server, target) in [
        ("naive", &vexil, get(snapshot.clone(), Some("naive"))),
        ("pooled", &vexil, get(snapshot.clone(), Some("pooled"))),
        ("precompressed (Vexil)", &vexil, get(snapshot.clone(), None)),
        (
            "bare hyper, same bytes",
            &bare,
            get(format!("{}/snapshot", bare.url), None),
        ),
    ] {
        rows.push(run.measure(&scenario, mode, server, &target).await?);
    }

    let body = batch_body();
    let post = |encoding: &str, compression: Option<&str>| Target {
        method: "POST",
        url: format!("{}/api/v1/batch-evaluate", vexil.url),
        headers: [
            ("content-type", "application/json".to_owned()),
            ("accept-encoding", encoding.to_owned()),
        ]
        .into_iter()
        .chain(compression.map(|mode| ("x-bench-compression", mode.to_owned())))
        .collect(),
        body: Some(body.clone()),
    };
    let scenario = format!("POST /api/v1/batch-evaluate, {BATCH} requests");
    for (mode, target) in [
        ("naive", post("gzip", Some("naive"))),
        ("pooled", post("gzip", Some("pooled"))),
        ("plain", post("identity", None)),
        ("gzip (Vexil's per-thread compressor)", post("gzip", None)),
    ] {
        rows.push(run.measure(&scenario, mode, &vexil, &target).await?);
    }
    Ok(rows)
}

/// The run must have worked: no errors, and the story's result must hold (precompressed far
/// below naive, pooled below naive), or the harness is broken.
pub fn check(rows: &[Row]) -> anyhow::Result<()> {
    for row in rows {
        anyhow::ensure!(
            row.measured.requests > 0,
            "{} / {}: no requests",
            row.scenario,
            row.mode
        );
        anyhow::ensure!(
            row.measured.errors == 0,
            "{} / {}: {} errors",
            row.scenario,
            row.mode,
            row.measured.errors
        );
    }
    let bytes = |mode: &str| {
        rows.iter()
            .find(|row| row.mode.starts_with(mode))
            .map(|row| row.bytes_per_request)
    };
    if let (Some(naive), Some(pooled), Some(pre)) =
        (bytes("naive"), bytes("pooled"), bytes("precompressed"))
    {
        anyhow::ensure!(
            pre * 20.0 <= naive,
            "precompressed {pre:.0} B is not 20x below naive {naive:.0} B"
        );
        anyhow::ensure!(
            pooled < naive,
            "pooled {pooled:.0} B is not below naive {naive:.0} B"
        );
    }
    Ok(())
}
