//! The server as an operator installs and runs it: where the flags come from, the config file
//! and its precedence, JSON logs, the health probe, shell completions.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{copy_dir, workspace, Server};

/// `vexil` with none of the environment variables the tests' own shell might carry.
fn vexil(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vexil"));
    command
        .current_dir(dir)
        .env_remove("VEXIL_FLAGS")
        .env_remove("VEXIL_CONFIG")
        .env("VEXIL_LOG", "warn");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("vexil runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example_flags() -> tempfile::TempDir {
    let flags = tempfile::tempdir().expect("temp dir");
    copy_dir(&workspace().join("examples/flags"), flags.path());
    flags
}

#[test]
fn every_command_that_reads_flags_asks_for_a_directory_instead_of_guessing() {
    let empty = tempfile::tempdir().expect("temp dir");
    for args in [
        &["serve"][..],
        &["validate"],
        &["snapshot"],
        &["evaluate", "--flag", "x", "--entity", "y"],
    ] {
        let output = run(vexil(empty.path()).args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(
            text(&output.stderr)
                .contains("no flag directory: give --flags DIR, or set VEXIL_FLAGS"),
            "{args:?}: {output:?}"
        );
    }
    // VEXIL_FLAGS is enough.
    let flags = example_flags();
    let output = run(vexil(empty.path())
        .arg("validate")
        .env("VEXIL_FLAGS", flags.path()));
    assert!(output.status.success(), "{output:?}");
    let output = run(vexil(empty.path())
        .arg("snapshot")
        .env("VEXIL_FLAGS", flags.path()));
    assert!(text(&output.stdout).contains("new-checkout"), "{output:?}");
}

#[test]
fn serve_names_a_flag_directory_that_is_not_there() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope");
    let output = run(vexil(dir.path()).arg("serve").arg("--flags").arg(&missing));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "flag directory {}: No such file",
            missing.display()
        )),
        "{stderr}"
    );
    let file = dir.path().join("features.yml");
    std::fs::write(&file, "flags: []\n").expect("written");
    let flags = example_flags();
    let output = run(vexil(dir.path())
        .arg("serve")
        .arg("--flags")
        .arg(flags.path())
        .arg("--environment")
        .arg(format!("qa={}", file.display())));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        text(&output.stderr).contains("not a directory"),
        "{output:?}"
    );
}

/// `vexil serve --config` with `flags` relative to the file and a 1,000-byte body limit.
fn serve_with_config(configure: impl FnOnce(&mut Command)) -> Server {
    let flags = example_flags();
    let config = flags.path().join("vexil.toml");
    std::fs::write(
        &config,
        "flags = \".\"\nlisten = \"127.0.0.1:0\"\nmax-body-bytes = 1000\n[environment]\nqa = \".\"\n",
    )
    .expect("config written");
    let mut command = vexil(Path::new("/"));
    command.arg("serve").arg("--config").arg(&config);
    configure(&mut command);
    Server::spawn(command, flags)
}

/// The status of an evaluation whose body is about 2,000 bytes.
async fn large_evaluation(server: &Server) -> u16 {
    let body = serde_json::json!({
        "namespaceKey": "default", "flagKey": "new-checkout", "entityId": "user-7",
        "context": { "padding": "x".repeat(1900) },
    });
    reqwest::Client::new()
        .post(server.url("/evaluate/v1/variant"))
        .json(&body)
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_config_file_sets_options_and_environment_variables_and_flags_override_it() {
    let server = serve_with_config(|_| {});
    assert_eq!(large_evaluation(&server).await, 413);
    let qa = reqwest::get(server.url("/client/v2/environments/qa/namespaces/default/snapshot"))
        .await
        .expect("answered");
    assert_eq!(qa.status(), 200, "the file's [environment] table");

    let server = serve_with_config(|command| {
        command.env("VEXIL_MAX_BODY_BYTES", "100000");
    });
    assert_eq!(large_evaluation(&server).await, 200, "the variable wins");

    let server = serve_with_config(|command| {
        command
            .env("VEXIL_MAX_BODY_BYTES", "1000")
            .args(["--max-body-bytes", "100000"]);
    });
    assert_eq!(large_evaluation(&server).await, 200, "the flag wins");
}

#[test]
fn a_bad_config_file_is_refused_with_its_name_and_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("vexil.toml");
    std::fs::write(&config, "flags = \".\"\nmax-batch = -3\n").expect("written");
    let output = run(vexil(dir.path()).arg("serve").arg("--config").arg(&config));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("config file {}: `max-batch`", config.display())),
        "{stderr}"
    );
    // The variable names it too.
    let output = run(vexil(dir.path())
        .arg("validate")
        .env("VEXIL_CONFIG", &config));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn json_logs_are_one_object_a_line() {
    let flags = example_flags();
    let mut command = vexil(Path::new("/"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--flags",
        ])
        .arg(flags.path())
        .env("VEXIL_LOG", "info")
        .stderr(Stdio::piped());
    let mut server = Server::spawn(command, flags);
    let stderr = BufReader::new(server.stderr().expect("piped"));
    let mut published = None;
    for line in stderr.lines().take(20) {
        let line = line.expect("a line");
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|error| panic!("{line:?}: {error}"));
        assert!(
            event["timestamp"].is_string() && event["level"].is_string(),
            "{line}"
        );
        if event["message"] == "published" {
            published = Some(event);
            break;
        }
    }
    let published = published.expect("a published event");
    assert_eq!(published["namespace"], "default");
    assert_eq!(published["environment"], "default");
    assert_eq!(published["revision"].as_str().map(str::len), Some(64));
}

fn probe(args: &[&str]) -> Output {
    run(vexil(Path::new("/")).arg("probe").args(args))
}

#[test]
fn probe_passes_a_healthy_server_and_fails_everything_else() {
    let server = Server::start(&[]);
    let output = probe(&[&server.url("/health")]);
    assert!(output.status.success(), "{output:?}");
    assert!(text(&output.stdout).ends_with(": 200 OK\n"), "{output:?}");

    let output = probe(&[&server.url("/no/such/route")]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(text(&output.stderr).contains("404"), "{output:?}");

    // Nobody listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let output = probe(&[&format!("http://127.0.0.1:{port}/health")]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(text(&output.stderr).contains("connecting"), "{output:?}");

    // Someone listens and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bound");
    let url = format!("http://{}/health", silent.local_addr().expect("address"));
    let output = probe(&["--timeout-seconds", "1", &url]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        text(&output.stderr).contains("no answer within 1 s"),
        "{output:?}"
    );

    let output = probe(&["https://127.0.0.1/health"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(text(&output.stderr).contains("only http://"), "{output:?}");
}

#[test]
fn completions_are_written_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = run(vexil(Path::new("/")).args(["completions", shell]));
        assert!(output.status.success(), "{shell}: {output:?}");
        let script = text(&output.stdout);
        for word in ["serve", "validate", "probe", "max-body-bytes", "log-format"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("vexil.bash");
    let output = run(vexil(Path::new("/")).args(["completions", "bash"]));
    std::fs::write(&script, &output.stdout).expect("written");
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(check.status.success(), "{check:?}");
    let output = run(vexil(Path::new("/")).args(["completions", "tcsh"]));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
