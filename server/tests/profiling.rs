//! `/debug/pprof/profile` and `/debug/pprof/allocs` against the real server: profiles that
//! `go tool pprof` would read (gzipped pprof protobuf, its sample types, samples that name this
//! program's functions), admin-only on the main listener, open on `--metrics-listen`, one CPU
//! profile at a time, `seconds` bounded.

mod support;

use std::io::Write as _;
use std::net::TcpListener;
use std::time::Duration;

use pprof::protos::{Message as _, Profile};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::Server;

const ADMIN: &str = "admin-token-0000000000003";
const CLIENT: &str = "default-client-token-0001";

fn tokens_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        "- token: {CLIENT}\n  role: client\n  namespaces: [default]\n\
         - token: {ADMIN}\n  role: admin\n  namespaces: \"*\"\n"
    )
    .unwrap();
    file.flush().unwrap();
    file
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gzipped profile, decoded.
fn decode(body: &[u8]) -> Profile {
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic");
    // Header (10 bytes, no optional fields) and trailer (8) around raw deflate.
    let protobuf =
        miniz_oxide::inflate::decompress_to_vec(&body[10..body.len() - 8]).expect("a gzip member");
    Profile::decode(&protobuf[..]).expect("a pprof protobuf")
}

fn string(profile: &Profile, at: i64) -> &str {
    &profile.string_table[usize::try_from(at).unwrap()]
}

fn sample_types(profile: &Profile) -> Vec<(String, String)> {
    profile
        .sample_type
        .iter()
        .map(|t| (string(profile, t.ty).into(), string(profile, t.unit).into()))
        .collect()
}

/// The function names of every location in the profile.
fn function_names(profile: &Profile) -> Vec<&str> {
    profile
        .function
        .iter()
        .map(|function| string(profile, function.name))
        .collect()
}

async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Evaluations until `stop` is set: work for the profiler to see.
async fn keep_busy(server_url: String, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let client = reqwest::Client::new();
    let body = json!({"requests": (0..100).map(|i| json!({
        "flagKey": "new-checkout", "entityId": format!("user-{i}"), "context": {"plan": "pro"},
    })).collect::<Vec<_>>()});
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let response = client
            .post(format!("{server_url}/evaluate/v1/batch"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_and_allocation_profiles_as_go_tool_pprof_reads_them() {
    let tokens = tokens_file();
    let metrics_port = free_port();
    let metrics_address = format!("127.0.0.1:{metrics_port}");
    let server = Server::start(&[
        "--tokens",
        tokens.path().to_str().unwrap(),
        "--metrics-listen",
        &metrics_address,
    ]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Refused without an admin token, and a client token is not one.
    for token in [None, Some(CLIENT)] {
        for path in ["/debug/pprof/profile?seconds=1", "/debug/pprof/allocs"] {
            let response = get(&client, &server.url(path), token).await;
            let expected = if token.is_none() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(response.status(), expected, "{path} with {token:?}");
            let body: Value = response.json().await.unwrap();
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    for bad in ["0", "121", "x"] {
        let url = server.url(&format!("/debug/pprof/profile?seconds={bad}"));
        let response = get(&client, &url, Some(ADMIN)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "seconds={bad}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("seconds"),
            "{body}"
        );
    }

    // A two-second CPU profile while the server evaluates batches; a second one meanwhile is
    // refused, on either listener (one profiler per process).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = tokio::spawn(keep_busy(server.base.clone(), stop.clone()));
    let profile = tokio::spawn({
        let client = client.clone();
        let url = server.url("/debug/pprof/profile?seconds=2");
        async move { get(&client, &url, Some(ADMIN)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let metrics_profile = format!("http://{metrics_address}/debug/pprof/profile?seconds=1");
    let second = get(&client, &metrics_profile, None).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    let response = profile.await.unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    let cpu = decode(&response.bytes().await.unwrap());
    assert_eq!(string(&cpu, 0), "");
    assert_eq!(
        sample_types(&cpu),
        [
            ("samples".to_owned(), "count".to_owned()),
            ("cpu".to_owned(), "nanoseconds".to_owned())
        ]
    );
    let sampled: i64 = cpu.sample.iter().map(|sample| sample.value[0]).sum();
    assert!(sampled > 10, "{sampled} CPU samples in two busy seconds");
    assert!(
        function_names(&cpu)
            .iter()
            .any(|name| name.contains("vexil")),
        "no function of vexil among {} sampled",
        cpu.function.len()
    );

    // The allocation profile: cumulative, in Go's allocs shape, with the evaluations' stacks.
    let response = get(&client, &server.url("/debug/pprof/allocs"), Some(ADMIN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let allocs = decode(&response.bytes().await.unwrap());
    assert_eq!(
        sample_types(&allocs),
        [
            ("alloc_objects".to_owned(), "count".to_owned()),
            ("alloc_space".to_owned(), "bytes".to_owned())
        ]
    );
    assert_eq!(string(&allocs, allocs.default_sample_type), "alloc_space");
    let space: i64 = allocs.sample.iter().map(|sample| sample.value[1]).sum();
    assert!(space > 1 << 20, "{space} bytes estimated allocated");
    let names = function_names(&allocs);
    assert!(
        names.iter().any(|name| name.contains("vexil::http")),
        "no handler among the allocating functions: {names:?}"
    );
    // A stack's leaf is the code that allocated: the allocator and the sampler are cut.
    let leaves: Vec<&str> = allocs
        .sample
        .iter()
        .filter_map(|sample| sample.location_id.first())
        .flat_map(|&id| &allocs.location[usize::try_from(id - 1).unwrap()].line)
        .map(|line| {
            string(
                &allocs,
                allocs.function[usize::try_from(line.function_id - 1).unwrap()].name,
            )
        })
        .collect();
    assert!(!leaves.is_empty());
    assert!(
        !leaves
            .iter()
            .any(|name| name.contains("profiling::sampler") || name.contains("vexil::alloc::")),
        "the sampler's own frames are cut: {leaves:?}"
    );
    let first = space;

    // Cumulative: more work, more bytes; and the metrics listener serves it without a token.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = tokio::spawn(keep_busy(server.base.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.await.unwrap();
    let url = format!("http://{metrics_address}/debug/pprof/allocs");
    let response = get(&client, &url, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let later = decode(&response.bytes().await.unwrap());
    let space: i64 = later.sample.iter().map(|sample| sample.value[1]).sum();
    assert!(space > first, "{space} bytes, not more than {first}");
}
