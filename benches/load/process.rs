//! The servers under test, as child processes: started, found (the URL they print), sampled
//! (resident memory, the allocation counters on `/metrics`), and killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running server.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// `vexil serve` as the benchmarks run it (`vexil-seed-server`, the server's library with
    /// the bench modes) on `flags`, on a free port, with `extra` options.
    pub fn vexil(flags: &Path, extra: &[&str]) -> anyhow::Result<Server> {
        let mut args = vec![
            "--flags".to_owned(),
            flags.display().to_string(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
        ];
        args.extend(extra.iter().map(|arg| arg.to_string()));
        Server::start(&crate::sibling("vexil-seed-server")?, &args)
    }

    /// Starts `program` with `args`; it must print a line ending in its `http://` URL first.
    pub fn start(program: &Path, args: &[String]) -> anyhow::Result<Server> {
        let mut child = Command::new(program)
            .args(args)
            .env("VEXIL_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", program.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .ok_or_else(|| anyhow::anyhow!("{} printed {line:?}, not its URL", program.display()))?
            .to_owned();
        Ok(Server { child, url })
    }

    /// Starts `program` with `args` and waits (at most 10 s) until `address` accepts: for a
    /// server that prints nothing (nginx).
    pub fn start_listening(
        program: &Path,
        args: &[String],
        address: std::net::SocketAddr,
    ) -> anyhow::Result<Server> {
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", program.display()))?;
        let server = Server {
            child,
            url: format!("http://{address}"),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(address).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        anyhow::bail!(
            "{} did not listen on {address} within 10 s",
            program.display()
        )
    }

    /// Resident memory now, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_address() -> anyhow::Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// `VmRSS` of a process, in KiB; 0 once it is gone.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The process's heap allocations and allocated bytes since it started, from `/metrics`.
pub async fn allocation_totals(client: &reqwest::Client, url: &str) -> anyhow::Result<(u64, u64)> {
    let metrics = Metrics::scrape(client, url).await?;
    Ok((
        metrics.get("vexil_heap_allocations_total")?,
        metrics.get("vexil_heap_allocated_bytes_total")?,
    ))
}

/// The heap the process has in use (allocated, not freed), from `/metrics`.
pub async fn live_heap_bytes(client: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    Metrics::scrape(client, url)
        .await?
        .get("vexil_heap_live_bytes")
}

/// One scrape of `/metrics`.
struct Metrics {
    url: String,
    text: String,
}

impl Metrics {
    async fn scrape(client: &reqwest::Client, url: &str) -> anyhow::Result<Metrics> {
        let text = client
            .get(format!("{url}/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(Metrics {
            url: url.to_owned(),
            text,
        })
    }

    /// The value of an unlabelled sample.
    fn get(&self, name: &str) -> anyhow::Result<u64> {
        self.text
            .lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
            .ok_or_else(|| anyhow::anyhow!("{}/metrics has no {name}", self.url))
    }
}
