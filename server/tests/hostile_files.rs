//! Flag files written to hurt: nested ten thousand levels deep, alias bombs, files larger than
//! the limit. None of them may take the process down; each is refused with file and line, and the
//! server keeps serving the last good revision. (Issue: a 20 KB file killed the server.)

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use support::{eventually_value, write_atomic, Server};

/// A variant whose attachment is a compact block sequence `depth` levels deep: `- - - ... x`.
fn deep_attachment(depth: usize) -> String {
    format!(
        "namespace: default\nflags:\n  - key: deep\n    name: Deep\n    variants:\n      - key: a\n        name: A\n        attachment:\n          {}x\n",
        "- ".repeat(depth)
    )
}

/// Eight levels of nine aliases: 9^8 copies of one scalar, in about 600 bytes.
fn alias_bomb() -> String {
    let mut text = String::from("namespace: default\nflags:\n  - key: bomb\n    name: Bomb\n    metadata:\n      a0: &a0 [lol]\n");
    for level in 1..=8 {
        let previous = format!("*a{}", level - 1);
        let list = [previous.as_str(); 9].join(", ");
        text.push_str(&format!("      a{level}: &a{level} [{list}]\n"));
    }
    text
}

fn validate(file: &Path, extra: &[&str]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_vexil"))
        .arg("validate")
        .arg(file)
        .args(extra)
        .output()
        .expect("vexil runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), printed, started.elapsed())
}

#[test]
fn validate_refuses_deep_nesting_and_alias_bombs_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("features.yml");
    for depth in [2_000, 10_000, 100_000] {
        std::fs::write(&file, deep_attachment(depth)).unwrap();
        let (code, printed, _) = validate(&file, &[]);
        // Exit code 1 is an orderly "errors found"; a stack overflow has no exit code at all.
        assert_eq!(code, Some(1), "depth {depth}: {printed}");
        assert!(
            printed.contains("features.yml:9:")
                && printed.contains("nested more than 64 levels deep (the depth limit)"),
            "depth {depth}: {printed}"
        );
    }
    std::fs::write(&file, alias_bomb()).unwrap();
    let (code, printed, took) = validate(&file, &[]);
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        printed.contains("features.yml:") && printed.contains("the alias-expansion limit"),
        "{printed}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The limits are settings: a deeper document passes when allowed, a bigger file does not.
    std::fs::write(&file, deep_attachment(70)).unwrap();
    assert_eq!(validate(&file, &["--max-yaml-depth", "80"]).0, Some(0));
    let (code, printed, _) = validate(&file, &["--max-yaml-depth", "129"]);
    assert_eq!(code, Some(2), "{printed}");
    let (code, printed, _) = validate(&file, &["--max-file-bytes", "100"]);
    assert_eq!(code, Some(1), "{printed}");
    assert!(printed.contains("larger than 100 bytes"), "{printed}");
}

async fn namespace_status(client: &reqwest::Client, server: &Server) -> Value {
    support::namespace_status(client, &server.base, "default").await
}

#[tokio::test]
async fn a_hostile_file_on_reload_or_at_startup_is_refused_and_the_server_keeps_serving() {
    let server = Server::start(&[]);
    let client = reqwest::Client::new();
    let before = namespace_status(&client, &server).await;
    let features = server.file("default/features.yml");
    let original = std::fs::read_to_string(&features).unwrap();
    for hostile in [deep_attachment(10_000), alias_bomb()] {
        write_atomic(&features, &(original.clone() + "---\n" + &hostile));
        let status = eventually_value(Duration::from_secs(10), || async {
            let status = namespace_status(&client, &server).await;
            (status["lastError"]["text"].is_string(), status)
        })
        .await
        .unwrap_or_else(|last| panic!("the error was never reported: {last:?}"));
        let text = status["lastError"]["text"].as_str().unwrap();
        assert!(text.starts_with("default/features.yml:"), "{text}");
        assert!(text.contains("limit"), "{text}");
        assert_eq!(status["revision"], before["revision"], "{status}");
        let health = client.get(server.url("/health")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }

    // At startup: the other namespaces serve, the hostile one reports why it does not.
    let flags = tempfile::tempdir().unwrap();
    support::copy_dir(&support::workspace().join("examples/flags"), flags.path());
    let text = original + "---\n" + &deep_attachment(100_000);
    std::fs::write(flags.path().join("default/features.yml"), text).unwrap();
    let server = Server::start_in(flags, &[]);
    let status = namespace_status(&client, &server).await;
    assert!(
        status["lastError"]["text"]
            .as_str()
            .unwrap()
            .contains("the depth limit"),
        "{status}"
    );
    assert_eq!(status["revision"], Value::Null);
    let mobile = client
        .get(server.url("/internal/v1/evaluation/snapshot/namespace/mobile"))
        .send()
        .await
        .unwrap();
    assert_eq!(mobile.status(), StatusCode::OK);
}
