//! Bearer tokens on every protected route, and the request limits (DESIGN §6), against the real
//! server.

mod support;

use std::io::Write as _;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{header, Server};

const DEFAULT_CLIENT: &str = "default-client-token-0001";
const MOBILE_CLIENT: &str = "mobile-client-token-0002";
const ADMIN: &str = "admin-token-0000000000003";

/// A tokens file next to the flags (kept alive by the returned handle).
fn tokens_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        "- token: {DEFAULT_CLIENT}\n  role: client\n  namespaces: [default]\n\
         - token: {MOBILE_CLIENT}\n  role: client\n  namespaces: [mobile]\n\
         - token: {ADMIN}\n  role: admin\n  namespaces: \"*\"\n"
    )
    .unwrap();
    file.flush().unwrap();
    file
}

fn start_with_tokens(extra: &[&str]) -> (Server, tempfile::NamedTempFile) {
    let tokens = tokens_file();
    let path = tokens.path().to_str().unwrap().to_owned();
    let mut args = vec!["--tokens", path.as_str()];
    args.extend_from_slice(extra);
    (Server::start(&args), tokens)
}

/// One protected route: method, path, JSON body, and whether a namespace client token suffices
/// (otherwise it needs an admin token).
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    headers: Vec<(&'static str, &'static str)>,
    client_allowed: bool,
}

fn routes(digest: &str) -> Vec<Route> {
    let get = |path: &str| Route {
        method: Method::GET,
        path: path.to_owned(),
        body: None,
        headers: Vec::new(),
        client_allowed: true,
    };
    let post = |path: &str, body: Value| Route {
        method: Method::POST,
        path: path.to_owned(),
        body: Some(body),
        headers: Vec::new(),
        client_allowed: true,
    };
    let ofrep_context = json!({"context": {"targetingKey": "shopper-1"}});
    vec![
        get("/internal/v1/evaluation/snapshot/namespace/default"),
        get("/client/v2/environments/default/namespaces/default/snapshot"),
        get(&format!("/api/v1/snapshots/default/{digest}")),
        Route {
            headers: vec![("accept", "text/event-stream")],
            ..get("/client/v2/environments/default/namespaces/default/stream")
        },
        get("/client/v2/environments/default/namespaces/default/stream"),
        post(
            "/evaluate/v1/variant",
            json!({"namespaceKey": "default", "flagKey": "new-checkout", "entityId": "shopper-1"}),
        ),
        post(
            "/evaluate/v1/boolean",
            json!({"flagKey": "free-shipping", "entityId": "shopper-1"}),
        ),
        post(
            "/evaluate/v1/batch",
            json!({"requests": [{"flagKey": "free-shipping", "entityId": "shopper-1"}]}),
        ),
        post(
            "/ofrep/v1/evaluate/flags/new-checkout",
            ofrep_context.clone(),
        ),
        Route {
            headers: vec![("x-flipt-namespace", "default")],
            ..post("/ofrep/v1/evaluate/flags", ofrep_context)
        },
        get("/api/v1/namespaces/default/status"),
        Route {
            client_allowed: false,
            ..get("/metrics")
        },
        Route {
            client_allowed: false,
            ..get("/debug/pprof/allocs")
        },
        Route {
            client_allowed: false,
            ..get("/debug/pprof/profile?seconds=1")
        },
    ]
}

async fn call(route: &Route, server: &Server, authorization: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut request = client.request(route.method.clone(), server.url(&route.path));
    for (name, value) in &route.headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = &route.body {
        request = request.json(body);
    }
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    request.send().await.unwrap()
}

async fn assert_error(response: reqwest::Response, status: StatusCode, code: u64, what: &str) {
    assert_eq!(response.status(), status, "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{what}: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(body["details"], json!([]), "{what}: {body}");
}

#[tokio::test]
async fn every_protected_route_needs_the_right_token() {
    let (server, _tokens) = start_with_tokens(&[]);
    let admin = format!("Bearer {ADMIN}");
    let current = reqwest::Client::new()
        .get(server.url("/internal/v1/evaluation/snapshot/namespace/default"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), StatusCode::OK);
    let digest = header(&current, "x-vexil-revision");

    let own = format!("Bearer {DEFAULT_CLIENT}");
    let other = format!("Bearer {MOBILE_CLIENT}");
    for route in routes(&digest) {
        let what = |who: &str| format!("{} {} {who}", route.method, route.path);
        assert_error(
            call(&route, &server, None).await,
            StatusCode::UNAUTHORIZED,
            16,
            &what("without a token"),
        )
        .await;
        assert_error(
            call(&route, &server, Some("Bearer not-a-configured-token-xyz")).await,
            StatusCode::UNAUTHORIZED,
            16,
            &what("with a wrong token"),
        )
        .await;
        assert_error(
            call(&route, &server, Some(&format!("Basic {DEFAULT_CLIENT}"))).await,
            StatusCode::UNAUTHORIZED,
            16,
            &what("with the Basic scheme"),
        )
        .await;
        assert_error(
            call(&route, &server, Some(&other)).await,
            StatusCode::FORBIDDEN,
            7,
            &what("with the other namespace's token"),
        )
        .await;
        let with_own = call(&route, &server, Some(&own)).await;
        if route.client_allowed {
            assert!(
                with_own.status().is_success(),
                "{}: {}",
                what("with the namespace's token"),
                with_own.status()
            );
        } else {
            assert_error(
                with_own,
                StatusCode::FORBIDDEN,
                7,
                &what("with a client token"),
            )
            .await;
        }
        let with_admin = call(&route, &server, Some(&admin)).await;
        assert!(
            with_admin.status().is_success(),
            "{}: {}",
            what("with the admin token"),
            with_admin.status()
        );
        // The scheme is case-insensitive.
        let lower = call(&route, &server, Some(&format!("bearer {ADMIN}"))).await;
        assert!(
            lower.status().is_success(),
            "{}",
            what("bearer, lower case")
        );
    }

    // A batch naming another namespace needs that namespace too.
    let mixed = Route {
        method: Method::POST,
        path: "/evaluate/v1/batch".into(),
        body: Some(json!({"requests": [
            {"flagKey": "free-shipping", "entityId": "e"},
            {"namespaceKey": "mobile", "flagKey": "offline-mode", "entityId": "e"},
        ]})),
        headers: Vec::new(),
        client_allowed: true,
    };
    assert_error(
        call(&mixed, &server, Some(&own)).await,
        StatusCode::FORBIDDEN,
        7,
        "a batch reaching into mobile",
    )
    .await;
    assert!(call(&mixed, &server, Some(&admin))
        .await
        .status()
        .is_success());

    // The mobile token reads mobile.
    let mobile = reqwest::Client::new()
        .get(server.url("/internal/v1/evaluation/snapshot/namespace/mobile"))
        .header("authorization", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(mobile.status(), StatusCode::OK);

    // A CORS preflight carries no credentials, so it is answered without a token.
    for path in [
        "/evaluate/v1/batch",
        "/internal/v1/evaluation/snapshot/namespace/default",
    ] {
        let preflight = reqwest::Client::new()
            .request(Method::OPTIONS, server.url(path))
            .header("origin", "https://shop.example")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert!(
            preflight.status().is_success(),
            "{path}: {}",
            preflight.status()
        );
        let allowed = header(&preflight, "access-control-allow-headers").to_ascii_lowercase();
        assert!(allowed.contains("authorization"), "{allowed}");
    }

    // Health stays open.
    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "SERVING"})
    );

    // With tokens on, shared caches must not keep the immutable snapshot.
    let immutable = reqwest::Client::new()
        .get(server.url(&format!("/api/v1/snapshots/default/{digest}")))
        .header("authorization", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(immutable.status(), StatusCode::OK);
    assert_eq!(
        header(&immutable, "cache-control"),
        "private, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn short_tokens_are_refused_at_startup() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        "- token: too-short\n  role: client\n  namespaces: \"*\"\n"
    )
    .unwrap();
    file.flush().unwrap();
    let flags = support::workspace().join("examples/flags");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vexil"))
        .arg("serve")
        .arg("--flags")
        .arg(&flags)
        .args(["--listen", "127.0.0.1:0", "--tokens"])
        .arg(file.path())
        .env("VEXIL_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "it never listened");
}

#[tokio::test]
async fn the_metrics_listener_is_open_while_the_main_metrics_route_needs_an_admin() {
    // The metrics listener's address is not printed, so pick a free port first (a small race).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let (server, _tokens) = start_with_tokens(&["--metrics-listen", &address]);
    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let open = support::eventually_value(Duration::from_secs(5), || {
        let url = format!("http://{address}/metrics");
        async move {
            match reqwest::get(url).await {
                Ok(response) => (true, Some(response)),
                Err(_) => (false, None),
            }
        }
    })
    .await
    .expect("the metrics listener answers")
    .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    let text = open.text().await.unwrap();
    assert!(
        text.contains("vexil_http_requests_total{route=\"/health\",status=\"200\"} 1"),
        "{text}"
    );
    let main = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(main.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------------
// Limits.

async fn post(server: &Server, path: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post_json(server: &Server, path: &str, body: &Value) -> reqwest::Response {
    post(server, path, serde_json::to_vec(body).unwrap()).await
}

/// A refused request: the status, Flipt's error shape, and a message naming the limit.
async fn assert_refused(response: reqwest::Response, status: StatusCode, names: &[&str]) {
    assert_eq!(
        response.status(),
        status,
        "expected {status} naming {names:?}"
    );
    let body: Value = response.json().await.unwrap();
    let object = body.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "message"], "{body}");
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        8
    } else {
        3
    };
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["details"], json!([]));
    let message = body["message"].as_str().unwrap();
    for name in names {
        assert!(message.contains(name), "{message:?} should name {name:?}");
    }
}

async fn assert_ok(response: reqwest::Response, what: &str) {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{what}: {text}");
}

fn variant_request(entity: &str, context: Value) -> Value {
    json!({"flagKey": "new-checkout", "entityId": entity, "context": context})
}

fn context_of(entries: usize) -> Value {
    Value::Object(
        (0..entries)
            .map(|n| (format!("k{n}"), Value::String("v".into())))
            .collect(),
    )
}

/// A JSON body padded with spaces to exactly `size` bytes.
fn padded(body: &Value, size: usize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(body).unwrap();
    assert!(bytes.len() <= size);
    bytes.resize(size, b' ');
    bytes
}

/// Checks every limit at its configured value: at the limit passes, one over is refused.
async fn check_limits(
    server: &Server,
    body_bytes: usize,
    batch: usize,
    context_entries: usize,
    key_bytes: usize,
    value_bytes: usize,
) {
    let small = variant_request("e", json!({}));
    // Body size.
    assert_ok(
        post(server, "/evaluate/v1/variant", padded(&small, body_bytes)).await,
        "a body at the limit",
    )
    .await;
    assert_refused(
        post(
            server,
            "/evaluate/v1/variant",
            padded(&small, body_bytes + 1),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        &["body", &body_bytes.to_string()],
    )
    .await;
    // OFREP answers in OFREP's error shape.
    let ofrep_body = json!({"context": {"targetingKey": "e"}});
    assert_ok(
        post(
            server,
            "/ofrep/v1/evaluate/flags",
            padded(&ofrep_body, body_bytes),
        )
        .await,
        "an OFREP body at the limit",
    )
    .await;
    let ofrep = post(
        server,
        "/ofrep/v1/evaluate/flags",
        padded(&ofrep_body, body_bytes + 1),
    )
    .await;
    assert_eq!(ofrep.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = ofrep.json().await.unwrap();
    let details = error["errorDetails"]
        .as_str()
        .unwrap_or_else(|| panic!("{error}"));
    assert!(details.contains(&body_bytes.to_string()), "{error}");

    // Batch size.
    let batch_of = |n: usize| json!({"requests": (0..n).map(|i| json!({"flagKey": "free-shipping", "entityId": format!("e{i}")})).collect::<Vec<_>>()});
    let response = post_json(server, "/evaluate/v1/batch", &batch_of(batch)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answered: Value = response.json().await.unwrap();
    assert_eq!(answered["responses"].as_array().unwrap().len(), batch);
    assert_refused(
        post_json(server, "/evaluate/v1/batch", &batch_of(batch + 1)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        &["batch", &batch.to_string()],
    )
    .await;

    // Context entries.
    assert_ok(
        post_json(
            server,
            "/evaluate/v1/variant",
            &variant_request("e", context_of(context_entries)),
        )
        .await,
        "context at the limit",
    )
    .await;
    for path in ["/evaluate/v1/variant", "/evaluate/v1/boolean"] {
        let mut request = variant_request("e", context_of(context_entries + 1));
        if path.ends_with("boolean") {
            request["flagKey"] = "free-shipping".into();
        }
        assert_refused(
            post_json(server, path, &request).await,
            StatusCode::BAD_REQUEST,
            &["context", &context_entries.to_string()],
        )
        .await;
    }
    let in_batch = json!({"requests": [variant_request("e", context_of(context_entries + 1))]});
    assert_refused(
        post_json(server, "/evaluate/v1/batch", &in_batch).await,
        StatusCode::BAD_REQUEST,
        &["context", &context_entries.to_string()],
    )
    .await;

    // Key lengths: entity id, context key, flag key.
    let at = "k".repeat(key_bytes);
    let over = "k".repeat(key_bytes + 1);
    assert_ok(
        post_json(
            server,
            "/evaluate/v1/variant",
            &variant_request(&at, json!({})),
        )
        .await,
        "entity id at the limit",
    )
    .await;
    assert_refused(
        post_json(
            server,
            "/evaluate/v1/variant",
            &variant_request(&over, json!({})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        &["entityId", &key_bytes.to_string()],
    )
    .await;
    assert_ok(
        post_json(
            server,
            "/evaluate/v1/variant",
            &variant_request("e", json!({ at.clone(): "v" })),
        )
        .await,
        "context key at the limit",
    )
    .await;
    assert_refused(
        post_json(
            server,
            "/evaluate/v1/variant",
            &variant_request("e", json!({ over.clone(): "v" })),
        )
        .await,
        StatusCode::BAD_REQUEST,
        &["context key", &key_bytes.to_string()],
    )
    .await;
    // A flag key at the limit is merely not found; over it is refused before the lookup.
    let not_found = post_json(
        server,
        "/evaluate/v1/variant",
        &json!({"flagKey": at, "entityId": "e"}),
    )
    .await;
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    assert_refused(
        post_json(
            server,
            "/evaluate/v1/variant",
            &json!({"flagKey": over, "entityId": "e"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        &["flagKey", &key_bytes.to_string()],
    )
    .await;

    // Value lengths.
    let value_at = "v".repeat(value_bytes);
    let value_over = "v".repeat(value_bytes + 1);
    assert_ok(
        post_json(
            server,
            "/evaluate/v1/variant",
            &variant_request("e", json!({ "plan": value_at })),
        )
        .await,
        "context value at the limit",
    )
    .await;
    assert_refused(
        post_json(
            server,
            "/evaluate/v1/variant",
            &variant_request("e", json!({ "plan": value_over })),
        )
        .await,
        StatusCode::BAD_REQUEST,
        &["value", &value_bytes.to_string()],
    )
    .await;

    // OFREP: the same limits, answered in OFREP's error shape.
    let ofrep = post_json(
        server,
        "/ofrep/v1/evaluate/flags/new-checkout",
        &json!({"context": {"targetingKey": "e", "plan": "v".repeat(value_bytes + 1)}}),
    )
    .await;
    assert_eq!(ofrep.status(), StatusCode::BAD_REQUEST);
    let body: Value = ofrep.json().await.unwrap();
    assert_eq!(body["errorCode"], "INVALID_CONTEXT", "{body}");
    assert!(body["errorDetails"]
        .as_str()
        .unwrap()
        .contains(&value_bytes.to_string()));
}

#[tokio::test]
async fn the_default_limits() {
    let server = Server::start(&[]);
    check_limits(&server, 4 * 1024 * 1024, 10_000, 256, 256, 4096).await;
}

#[tokio::test]
async fn configured_limits() {
    let server = Server::start(&[
        "--max-body-bytes",
        "2000",
        "--max-batch",
        "7",
        "--max-context-entries",
        "5",
        "--max-key-bytes",
        "16",
        "--max-value-bytes",
        "40",
    ]);
    check_limits(&server, 2000, 7, 5, 16, 40).await;
}

#[tokio::test]
async fn malformed_requests_unknown_flags_and_wrong_types() {
    let server = Server::start(&[]);
    for path in [
        "/evaluate/v1/variant",
        "/evaluate/v1/boolean",
        "/evaluate/v1/batch",
    ] {
        for body in [&b"{not json"[..], b"", b"[]", b"{\"entityId\": 5}"] {
            let response = post(&server, path, body.to_vec()).await;
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{path} {body:?}"
            );
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["code"], 3, "{error}");
            assert_eq!(error["details"], json!([]));
            assert!(error["message"]
                .as_str()
                .unwrap()
                .contains("invalid request body"));
        }
    }
    let malformed = post(
        &server,
        "/ofrep/v1/evaluate/flags/new-checkout",
        b"{".to_vec(),
    )
    .await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    let unknown = post_json(
        &server,
        "/evaluate/v1/variant",
        &json!({"flagKey": "no-such-flag", "entityId": "e"}),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"code": 5, "message": "flag \"default/no-such-flag\" not found", "details": []})
    );
    let unknown_ns = post_json(
        &server,
        "/evaluate/v1/boolean",
        &json!({"namespaceKey": "nope", "flagKey": "dark-mode", "entityId": "e"}),
    )
    .await;
    assert_eq!(unknown_ns.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown_ns.json::<Value>().await.unwrap()["code"], 5);

    let wrong_type = post_json(
        &server,
        "/evaluate/v1/variant",
        &json!({"flagKey": "dark-mode", "entityId": "e"}),
    )
    .await;
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    let error: Value = wrong_type.json().await.unwrap();
    assert_eq!(error["code"], 3);
    assert!(
        error["message"].as_str().unwrap().contains("dark-mode"),
        "{error}"
    );
    let wrong_type = post_json(
        &server,
        "/evaluate/v1/boolean",
        &json!({"flagKey": "new-checkout", "entityId": "e"}),
    )
    .await;
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    let empty_key = post_json(
        &server,
        "/evaluate/v1/variant",
        &json!({"flagKey": "", "entityId": "e"}),
    )
    .await;
    assert_eq!(empty_key.status(), StatusCode::BAD_REQUEST);
}

/// Without a valid token the body is not even read: an oversized anonymous request is 401, not
/// 413, on every route that takes a body.
#[tokio::test]
async fn anonymous_requests_are_refused_before_their_body_is_read() {
    // Small enough to sit in the socket buffers, so the client finishes sending either way.
    let (server, _tokens) = start_with_tokens(&["--max-body-bytes", "1024"]);
    let oversized = vec![b' '; 8 * 1024];
    for path in [
        "/evaluate/v1/variant",
        "/evaluate/v1/boolean",
        "/evaluate/v1/batch",
        "/ofrep/v1/evaluate/flags/dark-mode",
        "/ofrep/v1/evaluate/flags",
    ] {
        let response = reqwest::Client::new()
            .post(server.url(path))
            .header("authorization", "Bearer not-a-token-at-all")
            .body(oversized.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        // With the token, the same body is refused for its size.
        let response = reqwest::Client::new()
            .post(server.url(path))
            .header("authorization", format!("Bearer {DEFAULT_CLIENT}"))
            .body(oversized.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
}
