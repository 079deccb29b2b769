//! The `vexil` command line, run as a user runs it.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use support::{copy_dir, workspace};

fn vexil(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vexil"))
        .current_dir(dir)
        .args(args)
        .env_remove("VEXIL_FLAGS")
        .output()
        .expect("vexil runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[test]
fn validate_accepts_the_examples() {
    let output = vexil(&workspace(), &["validate", "examples/flags"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "");
}

/// Every kind of mistake the validator knows, printed as a compiler prints errors, exit code 1.
#[test]
fn validate_lists_every_mistake_like_a_compiler() {
    let crate_dir = workspace().join("crates/vexil-flags");
    let expected = std::fs::read_to_string(crate_dir.join("tests/fixtures/mistakes.expected"))
        .expect("expected report");
    let output = vexil(&crate_dir, &["validate", "tests/fixtures/mistakes"]);
    assert_eq!(output.status.code(), Some(1));
    let printed = stdout(&output);
    for (index, (got, want)) in printed.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {index}");
    }
    assert_eq!(printed.lines().count(), expected.lines().count());
}

#[test]
fn validate_speaks_json_for_tools() {
    let crate_dir = workspace().join("crates/vexil-flags");
    let output = vexil(
        &crate_dir,
        &[
            "validate",
            "--format",
            "json",
            "tests/fixtures/mistakes/duplicate.features.yml",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        report[0],
        json!({
            "severity": "error",
            "file": "tests/fixtures/mistakes/duplicate.features.yml",
            "line": 6,
            "column": 10,
            "path": "flags[1].key",
            "message": "duplicate flag key \"only-once\" in namespace \"kinds\" (first defined at tests/fixtures/mistakes/duplicate.features.yml:4:10)",
        })
    );
}

/// Same files, same bytes, same digest: across runs and wherever the files are.
#[test]
fn snapshots_are_byte_identical_across_runs_and_places() {
    let root = workspace();
    let first = vexil(
        &root,
        &[
            "snapshot",
            "--flags",
            "examples/flags",
            "--namespace",
            "default",
        ],
    );
    let second = vexil(
        &root,
        &[
            "snapshot",
            "--flags",
            "examples/flags",
            "--namespace",
            "default",
        ],
    );
    assert!(first.status.success(), "{first:?}");
    assert_eq!(first.stdout, second.stdout);

    let copy = tempfile::tempdir().expect("temp dir");
    copy_dir(&root.join("examples/flags"), copy.path());
    let elsewhere = vexil(
        copy.path(),
        &["snapshot", "--flags", ".", "--namespace", "default"],
    );
    assert_eq!(first.stdout, elsewhere.stdout);

    let snapshot: Value = serde_json::from_slice(&first.stdout).expect("json");
    let digest = snapshot["digest"].as_str().expect("digest");
    assert_eq!(digest.len(), 64);
    assert_eq!(snapshot["namespace"]["key"], "default");
    assert_eq!(snapshot["flags"][0]["key"], "new-checkout");
}

fn batch(args: &[&str]) -> Value {
    let output = vexil(&workspace(), args);
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("json")
}

#[test]
fn evaluate_answers_a_flipt_batch_request() {
    let response = batch(&[
        "evaluate",
        "--flags",
        "examples/flags",
        "--batch",
        "examples/requests.json",
    ]);
    assert_eq!(response["requestId"], "example");
    let responses = response["responses"].as_array().expect("responses");
    assert_eq!(responses.len(), 9);

    let staff = &responses[0];
    assert_eq!(staff["type"], "VARIANT_EVALUATION_RESPONSE_TYPE");
    let staff = &staff["variantResponse"];
    assert_eq!(staff["match"], true);
    assert_eq!(staff["variantKey"], "one-page");
    assert_eq!(staff["segmentKeys"], json!(["staff"]));
    assert_eq!(staff["reason"], "MATCH_EVALUATION_REASON");

    let free = &responses[2]["variantResponse"];
    assert_eq!(
        (
            &free["match"],
            &free["reason"],
            &free["variantKey"],
            &free["variantAttachment"]
        ),
        (
            &json!(false),
            &json!("DEFAULT_EVALUATION_REASON"),
            &json!("classic"),
            &json!("{\"steps\":3}")
        )
    );

    let disabled = &responses[3]["variantResponse"];
    assert_eq!(disabled["reason"], "FLAG_DISABLED_EVALUATION_REASON");

    let blocked = &responses[6];
    assert_eq!(blocked["type"], "BOOLEAN_EVALUATION_RESPONSE_TYPE");
    assert_eq!(blocked["booleanResponse"]["enabled"], false);
    assert_eq!(
        blocked["booleanResponse"]["segmentKeys"],
        json!(["blocked-accounts"])
    );

    let mobile = &responses[7]["booleanResponse"];
    assert_eq!(
        (&mobile["enabled"], &mobile["flagKey"]),
        (&json!(true), &json!("offline-mode"))
    );

    let missing = &responses[8];
    assert_eq!(missing["type"], "ERROR_EVALUATION_RESPONSE_TYPE");
    assert_eq!(
        missing["errorResponse"],
        json!({"flagKey": "no-such-flag", "namespaceKey": "default", "reason": "NOT_FOUND_ERROR_EVALUATION_REASON"})
    );
}

/// A snapshot file evaluates exactly as the flag files it was made from.
#[test]
fn evaluate_from_a_snapshot_matches_the_flag_files() {
    let root = workspace();
    let snapshot = vexil(&root, &["snapshot", "--flags", "examples/flags"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("snapshot.json");
    std::fs::write(&file, &snapshot.stdout).expect("write");
    let strip = |mut response: Value| {
        for item in response["responses"].as_array_mut().expect("responses") {
            for kind in ["variantResponse", "booleanResponse"] {
                if let Some(body) = item.get_mut(kind).and_then(Value::as_object_mut) {
                    body.remove("timestamp");
                    body.remove("requestDurationMillis");
                }
            }
        }
        response
            .as_object_mut()
            .map(|o| o.remove("requestDurationMillis"));
        response
    };
    // The mobile namespace is not in the default snapshot: drop that request from both.
    let requests: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("examples/requests.json")).unwrap(),
    )
    .unwrap();
    let mut default_only = requests.clone();
    default_only["requests"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r.get("namespaceKey").is_none());
    let requests_file = dir.path().join("requests.json");
    std::fs::write(&requests_file, default_only.to_string()).unwrap();
    let requests_arg = requests_file.to_str().unwrap();
    let from_files = batch(&[
        "evaluate",
        "--flags",
        "examples/flags",
        "--batch",
        requests_arg,
    ]);
    let from_snapshot = batch(&[
        "evaluate",
        "--snapshot",
        file.to_str().unwrap(),
        "--batch",
        requests_arg,
    ]);
    assert_eq!(strip(from_files), strip(from_snapshot));
}

#[test]
fn evaluate_explains_one_evaluation() {
    let output = vexil(
        &workspace(),
        &[
            "evaluate",
            "--flags",
            "examples/flags",
            "--flag",
            "new-checkout",
            "--entity",
            "user-7",
            "--context",
            "plan=pro",
            "--context",
            "seats=12",
            "--context",
            "country=NL",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    for line in [
        "result: match=true variant=\"one-page\" reason=MATCH_EVALUATION_REASON",
        "bucket: 524 of 1000 (crc32(flag key + entity id) % 1000)",
        "segments matched: [\"paying-customers\", \"europe\"]",
        "✗ rule 1 (OR_SEGMENT_OPERATOR): did not match",
        "        ✗ entity id suffix @vexil.dev (ENTITY_ID_COMPARISON_TYPE; value \"user-7\")",
        "✓ rule 2 (AND_SEGMENT_OPERATOR): matched",
        "        ✓ seats gte 1 (NUMBER_COMPARISON_TYPE; value \"12\")",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[test]
fn evaluate_rejects_unknown_flags_and_bad_input() {
    let root = workspace();
    let output = vexil(
        &root,
        &[
            "evaluate",
            "--flags",
            "examples/flags",
            "--flag",
            "nope",
            "--entity",
            "u",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: default/nope: flag not found\n"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"requests\": 3}").unwrap();
    let output = vexil(
        &root,
        &[
            "evaluate",
            "--flags",
            "examples/flags",
            "--batch",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a Flipt batch request"));
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A directory with no flag file is not "no errors": a wrong path should not pass.
#[test]
fn validate_refuses_a_directory_with_no_flag_files() {
    let empty = tempfile::tempdir().expect("dir");
    std::fs::write(empty.path().join("notes.txt"), "nothing here").expect("file");
    let dir = empty.path().to_str().expect("utf-8");
    let output = vexil(&workspace(), &["validate", dir]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr(&output).contains("no flag files found"),
        "{output:?}"
    );
    let allowed = vexil(&workspace(), &["validate", "--allow-empty", dir]);
    assert!(allowed.status.success(), "{allowed:?}");
    let json = vexil(&workspace(), &["validate", "--format", "json", dir]);
    assert_eq!(json.status.code(), Some(1));
    assert!(stderr(&json).contains("no flag files found"), "{json:?}");
}

/// Each directory is its own flag set, as the server would load it: the same flag in two
/// repositories is no duplicate. Loose files together form one more set.
#[test]
fn validate_checks_each_directory_as_its_own_flag_set() {
    let flag = "flags:\n- key: same\n  name: Same\n";
    let (one, two) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    std::fs::write(one.path().join("features.yml"), flag).expect("file");
    std::fs::write(two.path().join("features.yml"), flag).expect("file");
    let paths = [one.path().to_str().unwrap(), two.path().to_str().unwrap()];
    let output = vexil(&workspace(), &["validate", paths[0], paths[1]]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stderr(&output).contains("ok: 2 namespace(s), 2 flag(s)"),
        "{output:?}"
    );
    // The two files given loose are one set: now the key is defined twice.
    let files = [
        one.path().join("features.yml"),
        two.path().join("features.yml"),
    ];
    let loose = vexil(
        &workspace(),
        &[
            "validate",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
        ],
    );
    assert_eq!(loose.status.code(), Some(1), "{loose:?}");
    assert!(
        stdout(&loose).contains("duplicate flag key \"same\""),
        "{loose:?}"
    );
}

/// Where a repository touches Vexil's deliberate differences from Flipt, on request.
#[test]
fn validate_reports_differences_from_flipt() {
    let files = tempfile::tempdir().expect("dir");
    let text = "\
segments:
- key: s
  name: S
  constraints:
  - {type: NUMBER_COMPARISON_TYPE, property: n, operator: gt, value: \"1.5\"}
  - {type: DATETIME_COMPARISON_TYPE, property: d, operator: gt, value: \"2024-01-01\"}
  - {type: NUMBER_COMPARISON_TYPE, property: whole, operator: eq, value: \"3\"}
flags:
- key: f
  name: F
  variants: [{key: a}]
  rules:
  - segment: s
    distributions: [{variant: missing, rollout: 50}]
";
    std::fs::write(files.path().join("features.yml"), text).expect("file");
    let dir = files.path().to_str().unwrap();
    let plain = vexil(&workspace(), &["validate", dir]);
    assert!(
        !stdout(&plain).contains("differences from Flipt"),
        "{plain:?}"
    );
    let output = vexil(&workspace(), &["validate", "--report-differences", dir]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    let section = report
        .split("differences from Flipt:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{report}"));
    let lines: Vec<&str> = section.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(lines[0].contains("unknown variant") && lines[0].contains("refuses it on purpose"));
    assert!(lines[1].contains("constraints[0].value") && lines[1].contains("64-bit float"));
    assert!(lines[2].contains("constraints[1].value") && lines[2].contains("midnight UTC"));
}

/// `--version` names the release and the build, as `GET /meta/info` does.
#[test]
fn version_names_the_release_and_the_build() {
    let output = vexil(&workspace(), &["--version"]);
    let line = stdout(&output);
    assert!(
        line.starts_with(&format!("vexil {} (", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(line.trim_end().ends_with(')'), "{line}");
}

/// `snapshot --format compiled` writes the compiled form, the same bytes every run; `inspect`
/// reads it back for people and refuses what is not one.
#[test]
fn compiled_snapshots_are_written_and_inspected() {
    let out = tempfile::tempdir().expect("dir");
    let mut written = Vec::new();
    for run in 0..2 {
        let file = out.path().join(format!("default-{run}.vxlc"));
        let output = vexil(
            &workspace(),
            &[
                "snapshot",
                "--flags",
                "examples/flags",
                "--format",
                "compiled",
                "-o",
                file.to_str().unwrap(),
            ],
        );
        assert!(output.status.success(), "{output:?}");
        written.push(std::fs::read(&file).expect("written"));
    }
    assert_eq!(written[0], written[1]);
    assert!(written[0].starts_with(b"VXLC\x01"));
    let file = out.path().join("default-0.vxlc");
    let inspected = vexil(&workspace(), &["inspect", file.to_str().unwrap()]);
    assert!(inspected.status.success(), "{inspected:?}");
    let text = stdout(&inspected);
    assert!(text.contains("namespace \"default\""), "{text}");
    assert!(
        text.contains("new-checkout") && text.contains("BOOLEAN_FLAG_TYPE"),
        "{text}"
    );
    let json = out.path().join("default.json");
    let snapshot = vexil(&workspace(), &["snapshot", "--flags", "examples/flags"]);
    std::fs::write(&json, &snapshot.stdout).expect("json");
    let refused = vexil(&workspace(), &["inspect", json.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("not a compiled snapshot"),
        "{refused:?}"
    );
    // A JSON snapshot (a Flipt server's, a JSON seed) compiles, the same bytes every time, to a
    // document with the same flags. (Not the same bytes as from the flag files: the JSON lists
    // segments and variants in its own order, and dates as it writes them.)
    let from_json = || {
        let args = ["snapshot", "--from-snapshot", json.to_str().unwrap()];
        let output = vexil(
            &workspace(),
            &[&args[..], &["--format", "compiled"]].concat(),
        );
        assert!(output.status.success(), "{output:?}");
        output.stdout
    };
    let compiled = from_json();
    assert_eq!(compiled, from_json());
    let compiled_file = out.path().join("from-json.vxlc");
    std::fs::write(&compiled_file, &compiled).expect("written");
    let inspected = vexil(&workspace(), &["inspect", compiled_file.to_str().unwrap()]);
    let flag_lines = |text: &str| -> Vec<String> {
        let flags = text.lines().filter(|line| line.contains("_FLAG_TYPE"));
        flags.map(str::to_owned).collect()
    };
    assert_eq!(flag_lines(&stdout(&inspected)), flag_lines(&text));
    let broken = out.path().join("broken.json");
    std::fs::write(&broken, b"{\"namespace\": ").expect("broken");
    let refused = vexil(
        &workspace(),
        &["snapshot", "--from-snapshot", broken.to_str().unwrap()],
    );
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("broken.json"), "{refused:?}");
}

/// `keygen` makes a key; a compiled snapshot signed with it verifies with its public key, and
/// not once a byte changes, nor with another key; `serve --signing-key` signs what it serves.
#[test]
fn signed_compiled_snapshots_verify_with_their_key_only() {
    let dir = tempfile::tempdir().expect("dir");
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let keygen = |name: &str| {
        let output = vexil(&workspace(), &["keygen", "--out", &path(name)]);
        assert!(output.status.success(), "{output:?}");
        let text = stdout(&output);
        let public = text
            .lines()
            .find_map(|line| line.strip_prefix("public key:"))
            .expect("a public key line")
            .trim()
            .to_owned();
        public
    };
    let public = keygen("key.pem");
    let other = keygen("other.pem");
    let pem = std::fs::read_to_string(path("key.pem")).expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never over an existing key.
    let again = vexil(&workspace(), &["keygen", "--out", &path("key.pem")]);
    assert_eq!(again.status.code(), Some(2));

    let signed = path("signed.vxlc");
    let output = vexil(
        &workspace(),
        &[
            "snapshot",
            "--flags",
            "examples/flags",
            "--format",
            "compiled",
            "--signing-key",
            &path("key.pem"),
            "-o",
            &signed,
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(std::fs::read(&signed).unwrap().starts_with(b"VXLS\x01"));
    let good = vexil(
        &workspace(),
        &[
            "inspect",
            &signed,
            "--public-key",
            &other,
            "--public-key",
            &public,
        ],
    );
    assert!(good.status.success(), "{good:?}");
    assert!(stdout(&good).contains("signature good"), "{good:?}");
    let unchecked = vexil(&workspace(), &["inspect", &signed]);
    assert!(
        stdout(&unchecked).contains("signature not checked"),
        "{unchecked:?}"
    );
    let unknown = vexil(&workspace(), &["inspect", &signed, "--public-key", &other]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("not among the keys"),
        "{unknown:?}"
    );
    let mut bytes = std::fs::read(&signed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(path("tampered.vxlc"), &bytes).unwrap();
    let tampered = vexil(
        &workspace(),
        &["inspect", &path("tampered.vxlc"), "--public-key", &public],
    );
    assert_eq!(tampered.status.code(), Some(2), "{tampered:?}");
}

/// `serve --signing-key` serves each revision's compiled snapshot signed.
#[tokio::test]
async fn the_server_signs_the_compiled_snapshots_it_serves() {
    let dir = tempfile::tempdir().expect("dir");
    let key = dir.path().join("key.pem");
    let output = vexil(&workspace(), &["keygen", "--out", key.to_str().unwrap()]);
    let public = stdout(&output)
        .lines()
        .find_map(|line| {
            line.strip_prefix("public key:")
                .map(|k| k.trim().to_owned())
        })
        .expect("public key");
    let server = support::Server::start(&["--signing-key", key.to_str().unwrap()]);
    let response = reqwest::Client::new()
        .get(server.url("/internal/v1/evaluation/snapshot/namespace/default"))
        .header("accept", "application/vnd.vexil.snapshot")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"VXLS\x01"));
    let file = dir.path().join("served.vxlc");
    std::fs::write(&file, &bytes).unwrap();
    let inspected = vexil(
        &workspace(),
        &["inspect", file.to_str().unwrap(), "--public-key", &public],
    );
    assert!(
        stdout(&inspected).contains("signature good"),
        "{inspected:?}"
    );
}

/// Base64url keys start with `-` one time in 64: such a key is still taken as the value.
#[test]
fn a_public_key_starting_with_a_dash_is_a_value() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("doc.vxlc");
    let written = vexil(
        &workspace(),
        &[
            "snapshot",
            "--flags",
            "examples/flags",
            "--format",
            "compiled",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(written.status.success(), "{written:?}");
    let key = "-M_-y9jieMt96zWG1ZGzcP6Bkkn2YkgrrUe0nfai6TI";
    let inspected = vexil(
        &workspace(),
        &["inspect", file.to_str().unwrap(), "--public-key", key],
    );
    // Read as a key: the document is unsigned, so the check fails on that, not on the option.
    assert!(
        !stderr(&inspected).contains("unexpected argument"),
        "{inspected:?}"
    );
    assert!(
        stdout(&inspected).contains("not signed") || stderr(&inspected).contains("not signed"),
        "{inspected:?}"
    );
}
