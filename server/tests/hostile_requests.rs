//! Requests and connections written to hurt, against the real server over loopback: huge
//! contexts and batches, half-sent heads and bodies, silent and idle connections, more
//! connections than descriptors, clients that never read, and the small holes (non-JSON
//! errors, `100 Continue` for an oversized body, scopes). Each must cost the server no more
//! than its limits, and get a JSON answer where HTTP allows one.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{write_atomic, Server};

const CLIENT: &str = "default-client-token-0001";
const MOBILE: &str = "mobile-client-token-00002";
const SHOP_ADMIN: &str = "default-admin-token-00003";

/// A tokens file: a client of `default`, a client of `mobile`, an admin of `default` only.
fn tokens() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        "- {{token: {CLIENT}, role: client, namespaces: [default]}}\n\
         - {{token: {MOBILE}, role: client, namespaces: [mobile]}}\n\
         - {{token: {SHOP_ADMIN}, role: admin, namespaces: [default]}}\n"
    )
    .unwrap();
    file
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Sends `request` raw and reads until the server closes, or `wait` passes: what came back and
/// whether the server closed the connection.
fn raw(server: &Server, request: &[u8], wait: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(address(server)).unwrap();
    stream.write_all(request).unwrap();
    read_until_closed(&mut stream, wait)
}

fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
    let deadline = Instant::now() + wait;
    let mut received = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&received).into_owned(), false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&received).into_owned(), true)
            }
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
        }
    }
}

/// The JSON body of a raw HTTP response.
fn json_body(response: &str) -> Value {
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_else(|| panic!("no body in {response:?}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response:?}"))
}

/// A counter of the server's `/metrics`, by its whole name with labels (0 when absent).
fn counter(server: &Server, name: &str) -> u64 {
    let (answer, _) = raw(
        server,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    );
    answer
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

fn context_of(entries: usize) -> Value {
    Value::Object(
        (0..entries)
            .map(|n| (format!("k{n}"), Value::String("v".into())))
            .collect(),
    )
}

async fn post(server: &Server, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .post(server.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_contexts_and_batches_are_refused_at_the_limit_and_health_stays_quick() {
    let server = Server::start(&["--max-body-bytes", "8000000"]);
    let huge = json!({"flagKey": "new-checkout", "entityId": "e", "context": context_of(150_000)});
    assert!(serde_json::to_vec(&huge).unwrap().len() > 1_900_000);
    let batch = json!({"requests": [huge.clone()]});
    let started = Instant::now();
    // Two at once, as the report had: they once held both workers for 50 s.
    let (single, batched, health) = tokio::join!(
        post(&server, "/evaluate/v1/variant", &huge),
        post(&server, "/evaluate/v1/batch", &batch),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let asked = Instant::now();
            let response = reqwest::get(server.url("/health")).await.unwrap();
            (response.status(), asked.elapsed())
        }
    );
    for response in [single, batched] {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], "context has more than 256 entries");
    }
    assert_eq!(health.0, StatusCode::OK);
    assert!(
        health.1 < Duration::from_secs(5),
        "health took {:?}",
        health.1
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // 262,142 small items: refused once the 10,001st is read, with the batch limit's message.
    let items: Vec<String> = (0..262_142)
        .map(|_| r#"{"flagKey":"a"}"#.to_owned())
        .collect();
    let body = format!("{{\"requests\":[{}]}}", items.join(","));
    let response = reqwest::Client::new()
        .post(server.url("/evaluate/v1/batch"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(refused["message"], "a batch holds at most 10000 requests");
}

#[tokio::test]
async fn a_token_for_another_namespace_is_refused_when_the_namespace_is_read() {
    let tokens = tokens();
    let server = Server::start(&["--tokens", tokens.path().to_str().unwrap()]);
    // The namespace comes first; what follows is never parsed (it is not even JSON).
    let body = format!(
        "{{\"namespaceKey\":\"default\",\"flagKey\":\"new-checkout\",\"context\":{{{}",
        "\"k\":\"v\",".repeat(100_000)
    );
    let response = reqwest::Client::new()
        .post(server.url("/evaluate/v1/variant"))
        .bearer_auth(MOBILE)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A batch is refused whole if any item names a namespace the token lacks, before anything
    // is evaluated.
    let batch = json!({"requests": [
        {"namespaceKey": "mobile", "flagKey": "a"},
        {"namespaceKey": "default", "flagKey": "new-checkout"},
    ]});
    let response = reqwest::Client::new()
        .post(server.url("/evaluate/v1/batch"))
        .bearer_auth(MOBILE)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[test]
fn half_sent_heads_silent_and_idle_connections_are_closed() {
    let server = Server::start(&["--header-timeout-seconds", "1"]);
    let wait = Duration::from_secs(5);
    let started = Instant::now();
    let (_, closed) = raw(&server, b"", wait);
    assert!(closed, "a silent connection stayed open");
    let (_, closed) = raw(&server, b"GET /health HTTP/1.1\r\nHost: x\r\n", wait);
    assert!(closed, "a half-sent head stayed open");
    // Idle after a whole exchange: closed once the header timeout passes.
    let (answer, closed) = raw(&server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", wait);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle keep-alive connection stayed open");
    assert!(started.elapsed() < Duration::from_secs(12));
    // Counted by reason.
    assert!(counter(&server, "vexil_http_rejections_total{reason=\"timeout\"}") >= 3);
}

#[test]
fn a_half_sent_body_is_answered_408_after_the_body_timeout() {
    let server = Server::start(&["--body-timeout-seconds", "1"]);
    let request = b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"flagKey\":";
    let (answer, closed) = raw(&server, request, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(json_body(&answer)["code"], 4);
    assert!(closed);
}

#[test]
fn expect_100_continue_with_an_oversized_body_is_413_without_continue() {
    let server = Server::start(&[]);
    let request = format!(
        "POST /evaluate/v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        5 * 1024 * 1024
    );
    let (answer, _) = raw(&server, request.as_bytes(), Duration::from_secs(3));
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "no 100 Continue first: {answer}"
    );
    assert_eq!(
        json_body(&answer)["message"],
        "request body is larger than 4194304 bytes"
    );
    // Within the limit, the client is told to go on.
    let request = "POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nExpect: 100-continue\r\n\r\n";
    let mut stream = TcpStream::connect(address(&server)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut buffer = [0u8; 64];
    let n = stream.read(&mut buffer).unwrap();
    assert!(buffer[..n].starts_with(b"HTTP/1.1 100 Continue"));
}

#[test]
fn more_connections_than_descriptors_are_answered_503_and_the_server_keeps_accepting() {
    // 400 descriptors: the cap becomes 144, below the limit, whatever --max-connections says.
    let flags = tempfile::tempdir().unwrap();
    support::copy_dir(&support::workspace().join("examples/flags"), flags.path());
    let mut command = std::process::Command::new("sh");
    command.args([
        "-c",
        "ulimit -n 400 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_vexil"),
    ]);
    let server = Server::start_with(flags, &["--header-timeout-seconds", "30"], command);
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let mut stream = TcpStream::connect(address(&server)).unwrap();
        // Each starts a request and stops, so the server holds it open.
        stream.write_all(b"GET /health HTTP/1.1\r\n").unwrap();
        held.push(stream);
    }
    // Refusals are answered at once; give them a moment, then look without waiting.
    std::thread::sleep(Duration::from_millis(500));
    for stream in &mut held {
        stream.set_nonblocking(true).unwrap();
        let mut buffer = [0u8; 512];
        if let Ok(n) = stream.read(&mut buffer) {
            if buffer[..n].starts_with(b"HTTP/1.1 503") {
                let text = String::from_utf8_lossy(&buffer[..n]);
                assert_eq!(json_body(&text)["code"], 14, "{text}");
                refused += 1;
            }
        }
    }
    assert!((100..=200).contains(&refused), "{refused} refused of 300");
    drop(held);
    let cap = "vexil_http_rejections_total{reason=\"cap\"}";
    // The descriptors come back, and so does service.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (answer, _) = raw(
            &server,
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(2),
        );
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(counter(&server, cap) >= refused, "{refused} refused");
}

/// A namespace with one flag whose attachment makes each answer about 1.2 KB.
fn big_answers() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "namespace: default\nflags:\n  - key: big\n    name: Big\n    variants:\n      - key: only\n        name: Only\n        default: true\n        attachment:\n          padding: \"{}\"\n",
        "x".repeat(1000)
    );
    write_atomic(&dir.path().join("features.yml"), &text);
    dir
}

#[test]
fn clients_that_never_read_cannot_pin_more_than_the_response_memory() {
    // Each answer is ~14 MB in a 16 MB buffer; 40 MB of buffer memory holds two of them.
    let server = Server::start_in(
        big_answers(),
        &[
            "--buffer-memory-bytes",
            "40000000",
            "--write-timeout-seconds",
            "3",
        ],
    );
    let batch = json!({"requests": (0..10_000).map(|i| json!({"flagKey": "big", "entityId": format!("e{i}")})).collect::<Vec<_>>()});
    let body = serde_json::to_vec(&batch).unwrap();
    let send = || {
        let mut stream = TcpStream::connect(address(&server)).unwrap();
        let head = format!(
            "POST /evaluate/v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        stream
    };
    // Two clients read the first bytes of their answers, then stop reading.
    let mut stuck = Vec::new();
    for _ in 0..2 {
        let mut stream = send();
        let mut status = [0u8; 12];
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.read_exact(&mut status).unwrap();
        assert_eq!(&status, b"HTTP/1.1 200");
        stuck.push(stream);
    }
    // A third is turned away, politely and at once: its answer would pass the budget.
    let mut third = send();
    let (answer, _) = read_until_closed(&mut third, Duration::from_secs(30));
    assert!(answer.starts_with("HTTP/1.1 503"), "{:.200}", answer);
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{:.300}",
        answer
    );
    // The write timeout closes the stuck connections, and their memory comes back.
    std::thread::sleep(Duration::from_secs(5));
    let mut fourth = send();
    let mut status = [0u8; 12];
    fourth
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    fourth.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");
    drop(stuck);
}

#[tokio::test]
async fn slow_bodies_hold_no_place_and_no_memory() {
    // One evaluation place, 1 MiB of buffers: bodies that declare 4 MiB and dawdle hold neither.
    let server = Server::start(&[
        "--max-concurrent-evaluations",
        "1",
        "--buffer-memory-bytes",
        "1048576",
        "--body-timeout-seconds",
        "5",
    ]);
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(address(&server)).unwrap();
        stream
            .write_all(b"POST /evaluate/v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n{\"requests\":[")
            .unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let response = post(
        &server,
        "/evaluate/v1/variant",
        &json!({"flagKey": "new-checkout", "entityId": "e"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    drop(slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_beyond_the_concurrency_limit_are_429() {
    let server = Server::start(&["--max-concurrent-evaluations", "1"]);
    // Large batches, evaluated on the blocking pool one at a time: several at once meet 429.
    let items: Vec<Value> = (0..10_000)
        .map(|i| json!({"flagKey": "new-checkout", "entityId": format!("user-{i}"), "context": {"plan": "pro", "seats": "12"}}))
        .collect();
    let batch = json!({"requests": items});
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..5 {
        let answers = futures_util::future::join_all(
            (0..6).map(|_| post(&server, "/evaluate/v1/batch", &batch)),
        )
        .await;
        for response in answers {
            statuses.push(response.status());
            if response.status() == StatusCode::TOO_MANY_REQUESTS && limited.is_none() {
                let retry = support::header(&response, "retry-after");
                limited = Some((retry, response.json::<Value>().await.unwrap()));
            }
        }
        if limited.is_some() {
            break;
        }
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
    let (retry, body) = limited.unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert_eq!(retry, "1");
    assert_eq!(body["code"], 8);
}

#[test]
fn every_error_vexil_answers_has_a_json_body() {
    let server = Server::start(&[]);
    let wait = Duration::from_secs(3);
    let ask = |request: String| raw(&server, request.as_bytes(), wait).0;
    // No route, and a route asked with the wrong method.
    let answer = ask("GET /nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert_eq!(json_body(&answer)["code"], 5);
    let answer =
        ask("GET /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("allow: post"),
        "{answer}"
    );
    assert_eq!(json_body(&answer)["code"], 12);
    // Past Vexil's own head limits, below hyper's: Vexil answers, in JSON.
    let long = format!(
        "GET /health?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "q".repeat(9000)
    );
    let answer = ask(long);
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer:.100}");
    assert_eq!(json_body(&answer)["code"], 3);
    let many: String = (0..70).map(|n| format!("x-h{n}: v\r\n")).collect();
    let answer = ask(format!(
        "GET /health HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n"
    ));
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.100}");
    assert!(json_body(&answer)["message"]
        .as_str()
        .unwrap()
        .contains("64 headers"));
    let big = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nx-big: {}\r\nConnection: close\r\n\r\n",
        "b".repeat(40_000)
    );
    let answer = ask(big);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.100}");
    assert_eq!(json_body(&answer)["code"], 3);
    // A path parameter whose escapes are not UTF-8: JSON, in OFREP's shape on OFREP's routes.
    for path in [
        "/api/v1/namespaces/%FF",
        "/client/v2/environments/default/namespaces/%C3%28/stream",
    ] {
        let answer = ask(format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert_eq!(json_body(&answer)["code"], 3, "{answer}");
    }
    let answer = ask(
        "POST /ofrep/v1/evaluate/flags/%FF HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\
         Connection: close\r\n\r\n{}"
            .into(),
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(json_body(&answer)["errorCode"].is_string(), "{answer}");
    // Not HTTP at all: hyper's own bare 400 (documented), and the server carries on.
    let answer = ask("NOT HTTP\r\n\r\n".into());
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    let answer = ask("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
    assert!(answer.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn scopes_auth_order_and_the_namespace_header() {
    let tokens = tokens();
    let server = Server::start(&["--tokens", tokens.path().to_str().unwrap()]);
    let client = reqwest::Client::new();
    // An admin of one namespace does not see every namespace's metrics.
    let metrics = client
        .get(server.url("/metrics"))
        .bearer_auth(SHOP_ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::FORBIDDEN);
    // Anonymous callers learn nothing, not even which environments exist.
    for path in [
        "/client/v2/environments/nope/namespaces/default/snapshot",
        "/client/v2/environments/default/namespaces/default/snapshot",
        "/nothing/here",
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], 16);
    }
    let response = client
        .get(server.url("/client/v2/environments/nope/namespaces/default/snapshot"))
        .bearer_auth(CLIENT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A namespace header that is not text is refused, not read as `default`.
    let response = client
        .post(server.url("/ofrep/v1/evaluate/flags/new-checkout"))
        .bearer_auth(CLIENT)
        .header(
            "x-flipt-namespace",
            reqwest::header::HeaderValue::from_bytes(b"d\xe9fault").unwrap(),
        )
        .json(&json!({"context": {"targetingKey": "e"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // In OFREP's shape: that is what an OFREP client reads.
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("X-Flipt-Namespace"),
        "{body}"
    );
}

#[tokio::test]
async fn www_serves_the_demo_and_what_it_imports_only() {
    let www = support::workspace().join("www");
    let server = Server::start(&["--www", www.to_str().unwrap()]);
    let client = reqwest::Client::new();
    for path in ["/demo/", "/demo/demo.js", "/src/client.js"] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let long = format!("/demo/{}", "a".repeat(300));
    for path in [
        "/package.json",
        "/node_modules/.package-lock.json",
        "/demo/missing.js",
        "/src/../package.json",
        long.as_str(),
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(body["code"], 5, "{path}");
    }
}

#[test]
fn malformed_http_gets_no_5xx_and_the_server_carries_on() {
    let server = Server::start(&[
        "--header-timeout-seconds",
        "1",
        "--body-timeout-seconds",
        "1",
    ]);
    let probes: Vec<Vec<u8>> = vec![
        b"\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n".to_vec(),
        b"GET /health HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n".to_vec(),
        b"GET /health HTTP/1.1\r\nHost: x\r\nx: \x00\x01\r\n\r\n".to_vec(),
        b"G\xffT /health HTTP/1.1\r\n\r\n".to_vec(),
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /health%zz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /internal/v1/evaluation/snapshot/namespace/%ff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /api/v1/namespaces/../../etc/passwd/status HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET http://evil.example/health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n".to_vec(),
        b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8".to_vec(),
        b"POST /evaluate/v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{\"requests\":{}".to_vec(),
        b"POST /evaluate/v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"requests\":[[[[[[[[".to_vec(),
        format!("POST /evaluate/v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n{}", "[".repeat(60000)).into_bytes(),
        b"POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]".to_vec(),
        b"POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n{\"context\":{\"targetingKey\":1}}".to_vec(),
        format!(
            "POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{{\"context\":{{\"a\":{}{}}}}}",
            15 + 2 * 5000,
            "[".repeat(5000),
            "]".repeat(5000)
        )
        .into_bytes(),
        b"GET /client/v2/environments/default/namespaces/default/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \xff\r\n\r\n".to_vec(),
        b"GET /internal/v1/evaluation/snapshot/namespace/default HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=nan, *;q=-1\r\nIf-None-Match: \"\r\n\r\n".to_vec(),
        b"GET /health HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n".to_vec(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
    ];
    // All at once: the slow ones wait out the header or body timeout.
    std::thread::scope(|scope| {
        for probe in &probes {
            let server = &server;
            scope.spawn(move || {
                let (answer, _) = raw(server, probe, Duration::from_secs(4));
                let status = answer.get(9..12).unwrap_or("");
                let shown = String::from_utf8_lossy(&probe[..probe.len().min(80)]).into_owned();
                assert!(
                    !status.starts_with('5'),
                    "{shown:?} was answered {answer:.200}"
                );
            });
        }
    });
    let (answer, _) = raw(
        &server,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
