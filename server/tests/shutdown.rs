//! Operating the real server: SIGTERM ends it cleanly, and `/metrics` counts what it serves.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::Server;

const V1: &str = "/internal/v1/evaluation/snapshot/namespace/default";
const STREAM: &str = "/client/v2/environments/default/namespaces/default/stream";

fn terminate(server: &Server) {
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test]
async fn sigterm_ends_an_idle_server_with_status_0() {
    let mut server = Server::start(&[]);
    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    terminate(&server);
    let status = server
        .wait(Duration::from_secs(5))
        .expect("the server exits within 5 s of SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_server_with_status_0_even_with_streams_open() {
    let mut server = Server::start(&[]);
    let client = reqwest::Client::new();
    let mut sse = client
        .get(server.url(STREAM))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(5), sse.chunk())
        .await
        .expect("the first event")
        .unwrap()
        .expect("a chunk");
    assert!(first.starts_with(b"id: "), "{first:?}");
    let mut ndjson = client.get(server.url(STREAM)).send().await.unwrap();
    assert_eq!(ndjson.status(), StatusCode::OK);
    let _ = tokio::time::timeout(Duration::from_secs(5), ndjson.chunk())
        .await
        .expect("the first line");

    terminate(&server);
    // The wait blocks this thread; the streams stay open (owned here) meanwhile.
    let status = tokio::task::block_in_place(|| server.wait(Duration::from_secs(5)));
    let status = status.expect("the server exits within 5 s of SIGTERM with streams open");
    assert!(status.success(), "{status:?}");
    // The streams ended with it.
    let rest = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(Some(_)) = sse.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream ended");
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name_and_labels)?;
        rest.strip_prefix(' ')?.split(' ').next()?.parse().ok()
    })
}

async fn scrape(server: &Server) -> String {
    let response = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("text"));
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_latency_snapshots_and_allocations() {
    let server = Server::start(&[]);
    let client = reqwest::Client::new();
    let before = scrape(&server).await;
    let allocations_before = sample(&before, "vexil_heap_allocations_total").expect(&before);
    let bytes_before = sample(&before, "vexil_heap_allocated_bytes_total").expect(&before);
    assert!(allocations_before > 0.0 && bytes_before > 0.0);

    // Snapshot sizes by encoding are the sizes served.
    for (encoding, accept) in [
        ("identity", "identity"),
        ("gzip", "gzip"),
        ("deflate", "deflate"),
    ] {
        let response = client
            .get(server.url(V1))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        let length = response.bytes().await.unwrap().len() as f64;
        let labels =
            format!("vexil_snapshot_bytes{{environment=\"default\",namespace=\"default\",encoding=\"{encoding}\"}}");
        assert_eq!(sample(&before, &labels), Some(length), "{labels}\n{before}");
    }

    let health = "vexil_http_requests_total{route=\"/health\",status=\"200\"}";
    let snapshot_ok =
        "vexil_http_requests_total{route=\"/internal/v1/evaluation/snapshot/namespace/{namespace}\",status=\"200\"}";
    let snapshot_missing =
        "vexil_http_requests_total{route=\"/internal/v1/evaluation/snapshot/namespace/{namespace}\",status=\"404\"}";
    let variant = "vexil_http_requests_total{route=\"/evaluate/v1/variant\",status=\"200\"}";
    let health_before = sample(&before, health).unwrap_or(0.0);
    for _ in 0..3 {
        client.get(server.url("/health")).send().await.unwrap();
    }
    for _ in 0..5 {
        let response = client
            .post(server.url("/evaluate/v1/variant"))
            .json(&json!({"flagKey": "new-checkout", "entityId": "e"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let missing = client
        .get(server.url("/internal/v1/evaluation/snapshot/namespace/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let unrouted = client
        .get(server.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(unrouted.status(), StatusCode::NOT_FOUND);

    let after = scrape(&server).await;
    assert_eq!(sample(&after, health), Some(health_before + 3.0), "{after}");
    assert_eq!(sample(&after, snapshot_ok), Some(3.0), "{after}");
    assert_eq!(sample(&after, snapshot_missing), Some(1.0), "{after}");
    assert_eq!(sample(&after, variant), Some(5.0), "{after}");
    assert_eq!(
        sample(
            &after,
            "vexil_http_requests_total{route=\"other\",status=\"404\"}"
        ),
        Some(1.0),
        "{after}"
    );
    // The scrape before this one was counted too.
    assert!(
        sample(
            &after,
            "vexil_http_requests_total{route=\"/metrics\",status=\"200\"}"
        )
        .is_some_and(|count| count >= 1.0),
        "{after}"
    );
    // Latency: a histogram by route, its count matching the requests.
    assert_eq!(
        sample(
            &after,
            "vexil_http_request_duration_seconds_count{route=\"/evaluate/v1/variant\"}"
        ),
        Some(5.0),
        "{after}"
    );
    assert!(
        sample(
            &after,
            "vexil_http_request_duration_seconds_sum{route=\"/evaluate/v1/variant\"}"
        )
        .is_some_and(|sum| sum > 0.0),
        "{after}"
    );
    assert!(
        after.contains("vexil_http_request_duration_seconds_bucket{le=\"+Inf\",route=\"/evaluate/v1/variant\"} 5")
            || after.contains("vexil_http_request_duration_seconds_bucket{route=\"/evaluate/v1/variant\",le=\"+Inf\"} 5"),
        "{after}"
    );
    // Allocations only grow, and serving requests allocated something.
    let allocations_after = sample(&after, "vexil_heap_allocations_total").unwrap();
    let bytes_after = sample(&after, "vexil_heap_allocated_bytes_total").unwrap();
    assert!(
        allocations_after > allocations_before,
        "{allocations_after}"
    );
    assert!(bytes_after > bytes_before, "{bytes_after}");
    // The heap in use is what was allocated and not freed: some, and far less than all of it
    // once requests have come and gone.
    let live = sample(&after, "vexil_heap_live_bytes").expect(&after);
    assert!(
        live > 0.0 && live < bytes_after / 2.0,
        "{live} of {bytes_after}"
    );
    assert!(
        after.contains("# TYPE vexil_heap_allocations counter"),
        "{after}"
    );
    assert!(
        after.contains("# TYPE vexil_http_requests counter"),
        "{after}"
    );
    assert!(
        after.contains("# TYPE vexil_http_request_duration_seconds histogram"),
        "{after}"
    );
    assert!(
        after.contains("# TYPE vexil_snapshot_bytes gauge"),
        "{after}"
    );
    assert!(
        after.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
}
