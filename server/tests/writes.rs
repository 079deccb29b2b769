//! How writers really save flag files, against the real server: in place (truncate, then write,
//! maybe pausing half-way), into an empty file, while another file changes, by deleting the
//! whole directory, through a Kubernetes `..data` symlink swap, and with a `chmod` that fixes
//! "Permission denied". No client may ever see a namespace vanish or a half-written revision.
//! (Issue: 4,087 404s in 142,474 requests over 100 in-place saves; prefixes published.)

mod support;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use support::{eventually_value, header, write_atomic, Server};

const DEFAULT: &str = "/internal/v1/evaluation/snapshot/namespace/default";
const MOBILE: &str = "/internal/v1/evaluation/snapshot/namespace/mobile";

/// Three flags; the last a rollout of `rollout` percent, so that a writer cut off after `1` of
/// `100` would publish a different flag.
fn three_flags(rollout: u32) -> String {
    format!(
        "namespace: default\nflags:\n  - key: one\n    name: One\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n\
         \x20 - key: two\n    name: Two\n    type: BOOLEAN_FLAG_TYPE\n    enabled: false\n\
         \x20 - key: three\n    name: Three\n    type: BOOLEAN_FLAG_TYPE\n    enabled: false\n    rollouts:\n      - threshold:\n          percentage: {rollout}\n          value: true\n"
    )
}

fn mobile(enabled: bool) -> String {
    format!("namespace: mobile\nflags:\n  - key: m\n    name: M\n    type: BOOLEAN_FLAG_TYPE\n    enabled: {enabled}\n")
}

/// A flag directory with `default/features.yml` and `mobile/features.yml`.
fn flag_dir(default: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_atomic(&dir.path().join("default/features.yml"), default);
    write_atomic(&dir.path().join("mobile/features.yml"), &mobile(true));
    dir
}

/// The digest `vexil snapshot` gives `text` as the default namespace.
fn digest_of(text: &str) -> String {
    let dir = flag_dir(text);
    let output = Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(["snapshot", "--namespace", "default", "--flags"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let snapshot: Value = serde_json::from_slice(&output.stdout).unwrap();
    snapshot["digest"].as_str().unwrap().to_owned()
}

async fn status(client: &reqwest::Client, server: &Server, namespace: &str) -> Value {
    support::namespace_status(client, &server.base, namespace).await
}

async fn revision(client: &reqwest::Client, server: &Server, namespace: &str) -> String {
    status(client, server, namespace).await["revision"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the namespace serves `digest`.
async fn wait_for_revision(
    client: &reqwest::Client,
    server: &Server,
    namespace: &str,
    digest: &str,
) {
    eventually_value(Duration::from_secs(10), || async {
        let status = status(client, server, namespace).await;
        (status["revision"] == digest, status)
    })
    .await
    .unwrap_or_else(|last| panic!("{namespace} never served {digest}: {last:?}"));
}

/// What the watching clients saw: every status that was not 200, every revision served.
#[derive(Default)]
struct Watched {
    failures: Mutex<Vec<String>>,
    revisions: Mutex<BTreeSet<String>>,
    requests: AtomicUsize,
}

/// Clients fetching the snapshot back to back, and one following the push stream, until `stop`.
fn watch(
    server: &Server,
    stop: &Arc<AtomicBool>,
    watched: &Arc<Watched>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (url, stop, watched) = (server.url(DEFAULT), stop.clone(), watched.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                let response = client.get(&url).send().await.unwrap();
                watched.requests.fetch_add(1, Ordering::Relaxed);
                if response.status() != StatusCode::OK {
                    let body = response.text().await.unwrap_or_default();
                    watched.failures.lock().unwrap().push(body);
                    continue;
                }
                let etag = header(&response, "etag").trim_matches('"').to_owned();
                watched.revisions.lock().unwrap().insert(etag);
            }
        }));
    }
    let (url, stop, watched) = (
        server.url("/client/v2/environments/default/namespaces/default/stream"),
        stop.clone(),
        watched.clone(),
    );
    tasks.push(tokio::spawn(async move {
        let mut response = reqwest::Client::new()
            .get(&url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        let mut text = String::new();
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(100), response.chunk()).await {
                Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => {
                    watched
                        .failures
                        .lock()
                        .unwrap()
                        .push("the push stream ended".into());
                    return;
                }
                Err(_) => {}
            }
        }
        for line in text.lines() {
            if let Some(id) = line.strip_prefix("id: ") {
                watched.revisions.lock().unwrap().insert(id.to_owned());
            }
        }
    }));
    tasks
}

/// Rewrites `file` in place as shell `>` and many editors do: truncate, pause, write the text
/// in two parts with a pause between, close.
fn save_in_place(
    file: &Path,
    text: &str,
    split: usize,
    pause_before: Duration,
    pause_within: Duration,
) {
    let mut out = std::fs::File::create(file).unwrap();
    std::thread::sleep(pause_before);
    out.write_all(&text.as_bytes()[..split]).unwrap();
    out.flush().unwrap();
    std::thread::sleep(pause_within);
    out.write_all(&text.as_bytes()[split..]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_saves_never_make_a_namespace_vanish_or_publish_a_prefix() {
    let versions = [three_flags(100), three_flags(50)];
    let digests: BTreeSet<String> = versions.iter().map(|text| digest_of(text)).collect();
    let server = Server::start_in(flag_dir(&versions[0]), &[]);
    let file = server.file("default/features.yml");
    let stop = Arc::new(AtomicBool::new(false));
    let watched = Arc::new(Watched::default());
    let tasks = watch(&server, &stop, &watched);

    // Pauses around the 50 ms debounce, cut where the prefix is itself a valid file: after the
    // first flag (a 1-flag revision), and inside `percentage: 100` (a rollout of 1).
    let saver = tokio::task::spawn_blocking(move || {
        for round in 0..24u32 {
            let text = &versions[round as usize % 2];
            let cut = if round % 3 == 0 {
                text.find("  - key: two").unwrap()
            } else {
                text.find("percentage: ").unwrap() + "percentage: 1".len()
            };
            let pause = Duration::from_millis(u64::from(round % 4) * 40);
            save_in_place(
                &file,
                text,
                cut,
                pause,
                Duration::from_millis(120) - pause / 2,
            );
            std::thread::sleep(Duration::from_millis(u64::from(round % 3) * 40));
        }
    });
    saver.await.unwrap();
    let client = reqwest::Client::new();
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(50))).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let failures = watched.failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failures: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let seen = watched.revisions.lock().unwrap();
    assert!(
        seen.is_subset(&digests),
        "revisions other than the two whole versions: {seen:?} vs {digests:?}"
    );
    assert!(watched.requests.load(Ordering::Relaxed) > 100);
}

#[tokio::test]
async fn an_empty_file_holds_its_namespace_and_the_status_says_why() {
    let server = Server::start_in(flag_dir(&three_flags(100)), &[]);
    let client = reqwest::Client::new();
    let before = revision(&client, &server, "default").await;
    for text in ["", "# rewritten by the config manager\n"] {
        std::fs::write(server.file("default/features.yml"), text).unwrap();
        let status = eventually_value(Duration::from_secs(10), || async {
            let status = status(&client, &server, "default").await;
            (status["state"] == "holding", status)
        })
        .await
        .unwrap_or_else(|last| panic!("never held: {last:?}"));
        assert_eq!(status["revision"], before);
        assert_eq!(status["heldBy"][0]["file"], "default/features.yml");
        assert_eq!(
            status["heldBy"][0]["reason"],
            "is empty or holds only comments"
        );
        let snapshot = client.get(server.url(DEFAULT)).send().await.unwrap();
        assert_eq!(snapshot.status(), StatusCode::OK);
        assert_eq!(header(&snapshot, "etag").trim_matches('"'), before);
    }
    std::fs::write(server.file("default/features.yml"), three_flags(7)).unwrap();
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(7))).await;
    assert_eq!(
        status(&client, &server, "default").await["state"],
        "serving"
    );
}

#[tokio::test]
async fn a_file_still_being_written_is_not_read_when_another_file_reloads() {
    let server = Server::start_in(flag_dir(&three_flags(100)), &[]);
    let client = reqwest::Client::new();
    let before = revision(&client, &server, "default").await;
    let mobile_before = revision(&client, &server, "mobile").await;
    let text = three_flags(25);
    let mut writer = std::fs::File::create(server.file("default/features.yml")).unwrap();
    let cut = text.find("  - key: two").unwrap();
    writer.write_all(&text.as_bytes()[..cut]).unwrap();
    writer.flush().unwrap();
    // Another namespace changes and is reloaded while the writer pauses.
    write_atomic(&server.file("mobile/features.yml"), &mobile(false));
    let mobile_status = eventually_value(Duration::from_secs(10), || async {
        let status = status(&client, &server, "mobile").await;
        (status["revision"] != mobile_before, status)
    })
    .await
    .unwrap_or_else(|last| panic!("mobile never reloaded: {last:?}"));
    assert_eq!(mobile_status["state"], "serving");
    let held = status(&client, &server, "default").await;
    assert_eq!(held["revision"], before, "a prefix was published: {held}");
    assert_eq!(held["state"], "holding");
    assert_eq!(held["heldBy"][0]["reason"], "is being written");
    writer.write_all(&text.as_bytes()[cut..]).unwrap();
    drop(writer);
    wait_for_revision(&client, &server, "default", &digest_of(&text)).await;
    assert_eq!(status(&client, &server, "default").await["flags"], 3);
}

#[tokio::test]
async fn a_deleted_file_is_removed_only_after_the_debounce_and_a_quick_rewrite_loses_nothing() {
    let server = Server::start_in(flag_dir(&three_flags(100)), &["--debounce-ms", "400"]);
    let client = reqwest::Client::new();
    let file = server.file("mobile/features.yml");
    let mobile_before = revision(&client, &server, "mobile").await;

    // Deleted and written again within the debounce: never gone.
    std::fs::remove_file(&file).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let during = client.get(server.url(MOBILE)).send().await.unwrap();
    assert_eq!(during.status(), StatusCode::OK);
    std::fs::write(&file, mobile(true)).unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(revision(&client, &server, "mobile").await, mobile_before);

    // Deleted for good: served, marked as going, then gone.
    std::fs::remove_file(&file).unwrap();
    let going = eventually_value(Duration::from_secs(10), || async {
        let status = status(&client, &server, "mobile").await;
        (status["state"] == "removing", status)
    })
    .await
    .unwrap_or_else(|last| panic!("never marked as going: {last:?}"));
    assert_eq!(going["revision"], mobile_before);
    assert!(going["goneSince"].is_string(), "{going}");
    eventually_value(Duration::from_secs(10), || async {
        let response = client.get(server.url(MOBILE)).send().await.unwrap();
        (
            response.status() == StatusCode::NOT_FOUND,
            response.status(),
        )
    })
    .await
    .unwrap_or_else(|last| panic!("never removed: {last:?}"));
}

#[tokio::test]
async fn a_deleted_and_recreated_flag_directory_is_watched_again() {
    let server = Server::start_in(flag_dir(&three_flags(100)), &[]);
    let client = reqwest::Client::new();
    let root = server.flags.path().to_path_buf();
    std::fs::remove_dir_all(&root).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Gone from disk, still served: the directory may be coming back (a remount, a checkout).
    assert_eq!(
        client
            .get(server.url(DEFAULT))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    write_atomic(&root.join("default/features.yml"), &three_flags(30));
    write_atomic(&root.join("mobile/features.yml"), &mobile(true));
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(30))).await;
    // And it is watched: a later change is picked up.
    write_atomic(&root.join("default/features.yml"), &three_flags(31));
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(31))).await;
    assert_eq!(
        client
            .get(server.url(MOBILE))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_configmap_symlink_swap_is_picked_up() {
    // The layout Kubernetes mounts a ConfigMap as: each key a link through `..data` to a
    // timestamped directory; an update writes a new directory and renames a new `..data` link
    // over the old one.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let version = |name: &str, text: &str| {
        write_atomic(&root.join(name).join("features.yml"), text);
    };
    version("..2026_01", &three_flags(100));
    std::os::unix::fs::symlink("..2026_01", root.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/features.yml", root.join("features.yml")).unwrap();
    let server = Server::start_in(dir, &[]);
    let client = reqwest::Client::new();
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(100))).await;
    version("..2026_02", &three_flags(60));
    std::os::unix::fs::symlink("..2026_02", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(root.join("..2026_01")).unwrap();
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(60))).await;
    assert_eq!(
        status(&client, &server, "default").await["state"],
        "serving"
    );
}

/// Whether this process runs as root (which reads files whatever their permissions).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

#[tokio::test]
async fn a_chmod_that_fixes_permission_denied_is_picked_up() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let flags = flag_dir(&three_flags(100));
    let mut command = Command::new(env!("CARGO_BIN_EXE_vexil"));
    // Root reads any file; so run the server as nobody, from a copy of the binary that nobody
    // may run, on a flag directory that nobody may read.
    let binary_dir = tempfile::tempdir().unwrap();
    if running_as_root() {
        let binary = binary_dir.path().join("vexil");
        std::fs::copy(env!("CARGO_BIN_EXE_vexil"), &binary).unwrap();
        for path in [
            binary_dir.path(),
            flags.path(),
            &flags.path().join("default"),
            &flags.path().join("mobile"),
        ] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        command = Command::new(binary);
        command.uid(65534).gid(65534);
    }
    let server = Server::start_with(flags, &[], command);
    let client = reqwest::Client::new();
    let file = server.file("default/features.yml");
    // An edit, and at once a mode nobody may read: the reload (a debounce later) is refused,
    // and the last good revision stays.
    std::fs::write(&file, three_flags(40)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let failing = eventually_value(Duration::from_secs(10), || async {
        let status = status(&client, &server, "default").await;
        (status["state"] == "failing", status)
    })
    .await
    .unwrap_or_else(|last| panic!("the unreadable file never failed: {last:?}"));
    assert!(
        failing["lastError"]["text"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{failing}"
    );
    assert_eq!(failing["revision"], digest_of(&three_flags(100)));
    // The fix is a metadata change only: no content event follows it.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(40))).await;
}

#[tokio::test]
async fn ready_waits_for_every_namespace_found_at_start_and_health_never_fails_for_flags() {
    let broken = three_flags(100).replace("enabled: true", "enabled: maybe");
    let server = Server::start_in(flag_dir(&broken), &[]);
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("default"),
        "{body}"
    );
    let health = client.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "NOT_READY");
    write_atomic(&server.file("default/features.yml"), &three_flags(100));
    wait_for_revision(&client, &server, "default", &digest_of(&three_flags(100))).await;
    assert_eq!(
        client
            .get(server.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Once ready, a bad edit does not take the replica out: the last good revision serves.
    write_atomic(&server.file("default/features.yml"), &broken);
    eventually_value(Duration::from_secs(10), || async {
        let status = status(&client, &server, "default").await;
        (status["state"] == "failing", status)
    })
    .await
    .unwrap_or_else(|last| panic!("never failed: {last:?}"));
    assert_eq!(
        client
            .get(server.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let health: Value = client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "SERVING");
}
