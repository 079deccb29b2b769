//! Starting the real `vexil serve` on 127.0.0.1 for a test, with its own flag directory.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub flags: tempfile::TempDir,
}

impl Server {
    /// Starts a server on a copy of `examples/flags` (so tests may edit the files).
    pub fn start(extra_args: &[&str]) -> Server {
        let flags = tempfile::tempdir().expect("temp dir");
        copy_dir(&workspace().join("examples/flags"), flags.path());
        Server::start_in(flags, extra_args)
    }

    /// Starts a server on the given flag directory.
    pub fn start_in(flags: tempfile::TempDir, extra_args: &[&str]) -> Server {
        Server::start_with(flags, extra_args, Command::new(env!("CARGO_BIN_EXE_vexil")))
    }

    /// Starts `command` (the binary, maybe with a user or environment set) as `vexil serve`.
    pub fn start_with(
        flags: tempfile::TempDir,
        extra_args: &[&str],
        mut command: Command,
    ) -> Server {
        command
            .arg("serve")
            .arg("--flags")
            .arg(flags.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(if extra_args.contains(&"--debounce-ms") {
                &[][..]
            } else {
                &["--debounce-ms", "50"][..]
            })
            .args(extra_args)
            .env("VEXIL_LOG", "warn")
            .stderr(Stdio::inherit());
        Server::spawn(command, flags)
    }

    /// Runs `command`, a whole `vexil serve` command line, and waits until it listens.
    pub fn spawn(mut command: Command, flags: tempfile::TempDir) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("vexil starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a first line");
        let base = line
            .trim()
            .strip_prefix("vexil listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, base, flags }
    }

    /// The server's standard error, when `spawn` was given a command that pipes it.
    pub fn stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A flag file of this server's directory.
    pub fn file(&self, relative: &str) -> PathBuf {
        self.flags.path().join(relative)
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Polls `check` until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// Replaces a file in one step (write a sibling, then rename), so the watching server never
/// reads it half-written.
pub fn write_atomic(path: &Path, text: &str) {
    let dir = path.parent().expect("a parent directory");
    std::fs::create_dir_all(dir).expect("mkdir");
    let name = path.file_name().expect("a file name").to_string_lossy();
    let temp = dir.join(format!(".{name}.writing"));
    std::fs::write(&temp, text).expect("write");
    std::fs::rename(&temp, path).expect("rename");
}

/// Polls `check` until it gives a value or `timeout` passes; the last value seen is returned
/// either way (`Err` on timeout), for the failure message.
pub async fn eventually_value<T, F, Fut>(timeout: Duration, mut check: F) -> Result<T, Option<T>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (bool, T)>,
{
    let deadline = Instant::now() + timeout;
    let mut last = None;
    while Instant::now() < deadline {
        let (done, value) = check().await;
        if done {
            return Ok(value);
        }
        last = Some(value);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(last)
}

/// A response header as text, `""` when absent.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// `GET /api/v1/namespaces/{namespace}/status` of the server at `base`, which must answer 200.
pub async fn namespace_status(
    client: &reqwest::Client,
    base: &str,
    namespace: &str,
) -> serde_json::Value {
    let response = client
        .get(format!("{base}/api/v1/namespaces/{namespace}/status"))
        .send()
        .await
        .expect("status request");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response.json().await.expect("status JSON")
}
