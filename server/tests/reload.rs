//! Reloading under load: a broken edit never disturbs what is served, a fix is picked up, and a
//! namespace that never loaded answers 503.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{eventually, eventually_value, header, write_atomic, Server};

const V1: &str = "/internal/v1/evaluation/snapshot/namespace/default";
const STATUS: &str = "/api/v1/namespaces/default/status";

/// The batch every burst task sends: one variant flag that the fix switches on, one boolean.
fn batch_body() -> Value {
    json!({
        "requestId": "burst",
        "requests": [
            {"namespaceKey": "default", "flagKey": "holiday-banner", "entityId": "shopper-1", "context": {}},
            {"namespaceKey": "default", "flagKey": "free-shipping", "entityId": "shopper-1", "context": {"country": "NL"}},
        ]
    })
}

async fn status(client: &reqwest::Client, server: &Server, path: &str) -> Value {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// What one burst request saw.
#[derive(Debug, Clone)]
struct Seen {
    task: usize,
    sequence: usize,
    /// The revision served (snapshot ETag, or the batch's X-Vexil-Revision).
    revision: String,
    /// For a batch, holiday-banner's variant; for a snapshot, the body's own digest.
    detail: String,
    /// Whether the request started after the fix was written.
    after_fix: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_edit_during_a_burst_changes_nothing_served_and_the_fix_is_picked_up() {
    let server = Arc::new(Server::start(&[]));
    let client = reqwest::Client::new();
    let features = server.file("default/features.yml");
    let original = std::fs::read_to_string(&features).unwrap();

    let first = client.get(server.url(V1)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let old_etag = header(&first, "etag");
    let old_digest = old_etag.trim_matches('"').to_owned();
    let mobile_before = status(&client, &server, "/api/v1/namespaces/mobile/status").await;

    // The burst: several tasks, each alternating snapshot and batch requests, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let fixed = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..6 {
        let (server, client, stop, fixed, failures, seen, count) = (
            server.clone(),
            client.clone(),
            stop.clone(),
            fixed.clone(),
            failures.clone(),
            seen.clone(),
            count.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut sequence = 0;
            while !stop.load(Ordering::SeqCst) {
                sequence += 1;
                let after_fix = fixed.load(Ordering::SeqCst);
                let record = if sequence % 2 == 0 {
                    match client.get(server.url(V1)).send().await {
                        Ok(response) if response.status() == StatusCode::OK => {
                            let etag = header(&response, "etag");
                            let revision = header(&response, "x-vexil-revision");
                            let body: Value = response.json().await.unwrap();
                            let digest = body["digest"].as_str().unwrap_or("").to_owned();
                            if etag != format!("\"{revision}\"") {
                                Err(format!("etag {etag} and revision {revision} differ"))
                            } else {
                                Ok((revision, digest))
                            }
                        }
                        Ok(response) => Err(format!("snapshot: {}", response.status())),
                        Err(error) => Err(format!("snapshot: {error}")),
                    }
                } else {
                    let sent = client
                        .post(server.url("/evaluate/v1/batch"))
                        .json(&batch_body())
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == StatusCode::OK => {
                            let revision = header(&response, "x-vexil-revision");
                            let body: Value = response.json().await.unwrap();
                            let variant = body["responses"][0]["variantResponse"]["variantKey"]
                                .as_str()
                                .unwrap_or("?")
                                .to_owned();
                            Ok((revision, variant))
                        }
                        Ok(response) => Err(format!("batch: {}", response.status())),
                        Err(error) => Err(format!("batch: {error}")),
                    }
                };
                count.fetch_add(1, Ordering::SeqCst);
                match record {
                    Ok((revision, detail)) => seen.lock().unwrap().push(Seen {
                        task,
                        sequence,
                        revision,
                        detail,
                        after_fix,
                    }),
                    Err(failure) => failures.lock().unwrap().push(failure),
                }
            }
        }));
    }

    // Some traffic first, then the broken edit: `enabled: maybe` on new-checkout (line 14).
    assert!(
        eventually(Duration::from_secs(10), || async {
            count.load(Ordering::SeqCst) >= 100
        })
        .await
    );
    let broken = original.replacen(
        "    type: VARIANT_FLAG_TYPE\n    enabled: true\n",
        "    type: VARIANT_FLAG_TYPE\n    enabled: maybe\n",
        1,
    );
    assert_ne!(broken, original);
    let line = 1 + broken[..broken.find("enabled: maybe").unwrap()]
        .matches('\n')
        .count();
    assert_eq!(
        line, 14,
        "the edited line of examples/flags/default/features.yml"
    );
    write_atomic(&features, &broken);

    let last_status = eventually_value(Duration::from_secs(10), || {
        let client = client.clone();
        let server = server.clone();
        async move {
            let value = status(&client, &server, STATUS).await;
            (!value["lastError"].is_null(), value)
        }
    })
    .await
    .unwrap_or_else(|last| panic!("status never showed the error: {last:?}"));
    let error = &last_status["lastError"];
    // Named relative to the flag directory: the server's own paths are not shown.
    assert_eq!(error["file"], "default/features.yml", "{error}");
    assert_eq!(error["line"], 14, "{error}");
    assert_eq!(error["column"], 14, "{error}");
    assert_eq!(error["path"], "flags[0].enabled", "{error}");
    assert_eq!(
        error["message"], "expected a boolean, found a string",
        "{error}"
    );
    assert_eq!(
        error["text"],
        "default/features.yml:14:14: flags[0].enabled: expected a boolean, found a string",
        "{error}"
    );
    assert_eq!(last_status["revision"], old_digest.as_str());
    assert_eq!(last_status["errors"].as_array().unwrap().len(), 1);
    // The other namespace is untouched by the broken file.
    let mobile = status(&client, &server, "/api/v1/namespaces/mobile/status").await;
    assert_eq!(mobile["revision"], mobile_before["revision"]);
    assert!(mobile["lastError"].is_null(), "{mobile}");

    // Keep the burst going against the broken files for a while.
    let at_error = count.load(Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(10), || async {
            count.load(Ordering::SeqCst) >= at_error + 200
        })
        .await
    );
    let still = client.get(server.url(V1)).send().await.unwrap();
    assert_eq!(header(&still, "etag"), old_etag);

    // The fix: restore new-checkout and switch holiday-banner on (a real change).
    let fixed_text = original.replacen(
        "  - key: holiday-banner\n    name: Holiday banner\n    type: VARIANT_FLAG_TYPE\n    enabled: false\n",
        "  - key: holiday-banner\n    name: Holiday banner\n    type: VARIANT_FLAG_TYPE\n    enabled: true\n",
        1,
    );
    assert_ne!(fixed_text, original);
    fixed.store(true, Ordering::SeqCst);
    write_atomic(&features, &fixed_text);

    let new_etag = eventually_value(Duration::from_secs(10), || {
        let client = client.clone();
        let server = server.clone();
        let old_etag = old_etag.clone();
        async move {
            let response = client.get(server.url(V1)).send().await.unwrap();
            let etag = header(&response, "etag");
            (etag != old_etag, etag)
        }
    })
    .await
    .expect("the fixed file was never served");
    let new_digest = new_etag.trim_matches('"').to_owned();
    // Let the burst see the new revision too, then stop it.
    let at_fix = count.load(Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(10), || async {
            count.load(Ordering::SeqCst) >= at_fix + 100
        })
        .await
    );
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("burst task ends")
            .unwrap();
    }

    let failures = std::mem::take(&mut *failures.lock().unwrap());
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}",
        failures.len(),
        count.load(Ordering::SeqCst),
        &failures[..failures.len().min(10)]
    );
    assert!(seen.len() >= 400, "only {} requests", seen.len());
    let mut last_by_task = std::collections::HashMap::new();
    for request in seen.iter() {
        assert!(
            request.revision == old_digest || request.revision == new_digest,
            "unexpected revision {request:?}"
        );
        if request.revision == new_digest {
            assert!(
                request.after_fix,
                "new revision before the fix: {request:?}"
            );
        }
        let old = request.revision == old_digest;
        if request.sequence % 2 == 0 {
            // A snapshot body is the revision its headers name.
            assert_eq!(request.detail, request.revision, "{request:?}");
        } else {
            // An evaluation answers from the revision its header names.
            let expected = if old { "none" } else { "snow" };
            assert_eq!(request.detail, expected, "{request:?}");
        }
        // A task never goes back to the old revision once it saw the new one.
        let previous = last_by_task.insert(request.task, (request.sequence, old));
        if let Some((sequence, previous_old)) = previous {
            if sequence < request.sequence {
                assert!(
                    previous_old || !old,
                    "went back to the old revision: {request:?}"
                );
            }
        }
    }
    assert!(
        seen.iter().any(|request| request.revision == new_digest),
        "the burst never saw the new revision"
    );

    // After the fix: no error, the new answer, the old revision still reachable by digest.
    let fixed_status = status(&client, &server, STATUS).await;
    assert!(fixed_status["lastError"].is_null(), "{fixed_status}");
    assert_eq!(fixed_status["errors"], json!([]));
    assert_eq!(fixed_status["revision"], new_digest.as_str());
    let kept: Vec<&str> = fixed_status["keptRevisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    assert_eq!(kept, [new_digest.as_str(), old_digest.as_str()]);
    let answer: Value = client
        .post(server.url("/evaluate/v1/variant"))
        .json(&json!({"flagKey": "holiday-banner", "entityId": "shopper-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["variantKey"], "snow", "{answer}");
    assert_eq!(answer["reason"], "MATCH_EVALUATION_REASON", "{answer}");
    let old_snapshot = client
        .get(server.url(&format!("/api/v1/snapshots/default/{old_digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(old_snapshot.status(), StatusCode::OK);
    assert_eq!(header(&old_snapshot, "etag"), old_etag);
    let body: Value = old_snapshot.json().await.unwrap();
    assert_eq!(body["digest"], old_digest.as_str());
    let banner = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|flag| flag["key"] == "holiday-banner")
        .unwrap();
    assert_eq!(banner["enabled"], false);
}

#[tokio::test]
async fn a_namespace_that_never_loaded_answers_503() {
    let server = Server::start(&[]);
    let client = reqwest::Client::new();
    let broken = "namespace:\n  key: newns\nflags:\n  - key: flag-one\n    name: Flag one\n    type: BOOLEAN_FLAG_TYPE\n    enabled: maybe\n";
    write_atomic(&server.file("newns/features.yml"), broken);

    let path = "/api/v1/namespaces/newns/status";
    let last = eventually_value(Duration::from_secs(10), || {
        let client = client.clone();
        let url = server.url(path);
        async move {
            let response = client.get(url).send().await.unwrap();
            if response.status() != StatusCode::OK {
                return (false, Value::Null);
            }
            let value: Value = response.json().await.unwrap();
            (!value["lastError"].is_null(), value)
        }
    })
    .await
    .unwrap_or_else(|last| panic!("newns never appeared with its error: {last:?}"));
    assert!(last["revision"].is_null(), "{last}");
    assert!(last["digest"].is_null(), "{last}");
    assert_eq!(last["keptRevisions"], json!([]));
    let error = &last["lastError"];
    assert!(
        error["file"]
            .as_str()
            .unwrap()
            .ends_with("newns/features.yml"),
        "{error}"
    );
    assert_eq!(error["line"], 7, "{error}");
    assert_eq!(error["column"], 14, "{error}");
    assert_eq!(error["message"], "expected a boolean, found a string");

    let started = Instant::now();
    for path in [
        "/internal/v1/evaluation/snapshot/namespace/newns",
        "/client/v2/environments/default/namespaces/newns/snapshot",
        "/client/v2/environments/default/namespaces/newns/stream",
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_unavailable(&body, path);
    }
    let evaluation = client
        .post(server.url("/evaluate/v1/boolean"))
        .json(&json!({"namespaceKey": "newns", "flagKey": "flag-one", "entityId": "e"}))
        .send()
        .await
        .unwrap();
    assert_eq!(evaluation.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_unavailable(&evaluation.json().await.unwrap(), "boolean");
    let ofrep = client
        .post(server.url("/ofrep/v1/evaluate/flags/flag-one"))
        .header("x-flipt-namespace", "newns")
        .json(&json!({"context": {"targetingKey": "e"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ofrep.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5));

    // The other namespaces still serve.
    let default = client.get(server.url(V1)).send().await.unwrap();
    assert_eq!(default.status(), StatusCode::OK);

    // Once fixed, the namespace serves.
    write_atomic(
        &server.file("newns/features.yml"),
        &broken.replace("enabled: maybe", "enabled: true"),
    );
    let serving = eventually(Duration::from_secs(10), || {
        let client = client.clone();
        let url = server.url("/internal/v1/evaluation/snapshot/namespace/newns");
        async move { client.get(url).send().await.unwrap().status() == StatusCode::OK }
    })
    .await;
    assert!(serving, "newns never served after the fix");
}

fn assert_unavailable(body: &Value, what: &str) {
    let object = body.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "message"], "{what}: {body}");
    assert_eq!(body["code"], 14, "{what}: {body}");
    assert_eq!(body["details"], json!([]), "{what}: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("newns"), "{what}: {message}");
}
