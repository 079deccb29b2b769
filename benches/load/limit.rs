//! The limit: the gzip snapshot downloaded as fast as the machine goes, from Vexil, from nginx's
//! `gzip_static` (Debian's nginx, the same bytes as a `.gz` file beside the plain one) and from
//! the bare hyper server, in alternating rounds so drift in the machine falls on all three; then
//! revalidation (`If-None-Match` with the current ETag: 304) from Vexil and nginx.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::generator::{Load, Target};
use crate::process::{free_address, Server};
use crate::{seed, sibling, Row, Run};

const SNAPSHOT: &str = "/internal/v1/evaluation/snapshot/namespace/bench";

/// nginx as a CDN origin would run it for static snapshot files: two workers (the machine's
/// cores), no access log, keep-alive as long as the clients want.
fn nginx_config(root: &Path, prefix: &Path, address: std::net::SocketAddr) -> String {
    // As root, nginx's workers would drop to `nobody`, who cannot read a private temp dir.
    let user = if std::env::var("USER").as_deref() == Ok("root") || is_root() {
        "user root;\n"
    } else {
        ""
    };
    format!(
        "{user}worker_processes 2;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 1000000;\n  keepalive_timeout 60s;\n\
         client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n\
         fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
         server {{\n    listen {address};\n    root {root};\n    location / {{ gzip_static on; default_type application/json; }}\n  }}\n}}\n",
        prefix = prefix.display(),
        root = root.display(),
    )
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .map(|ids| ids.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

fn nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

pub async fn run(run: &Run, quick: bool) -> anyhow::Result<Vec<Row>> {
    let flags = seed::flag_dir(&run.workspace)?;
    let vexil = Server::vexil(flags.path(), &[])?;
    let url = format!("{}{SNAPSHOT}", vexil.url);
    let fetch = |encoding: &'static str| {
        let client = run.client.clone();
        let url = url.clone();
        async move {
            let response = client
                .get(&url)
                .header("accept-encoding", encoding)
                .send()
                .await?
                .error_for_status()?;
            let etag = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            anyhow::Ok((response.bytes().await?, etag))
        }
    };
    let (gzip, vexil_etag) = fetch("gzip").await?;
    let (identity, _) = fetch("identity").await?;

    let files = tempfile::tempdir()?;
    std::fs::write(files.path().join("snapshot"), &identity)?;
    std::fs::write(files.path().join("snapshot.gz"), &gzip)?;
    let bare = Server::start(
        &sibling("vexil-bare-server")?,
        &[
            "127.0.0.1:0".into(),
            files.path().join("snapshot.gz").display().to_string(),
            "gzip".into(),
        ],
    )?;
    let nginx = match nginx() {
        Some(program) => {
            let prefix = tempfile::tempdir()?;
            let address = free_address()?;
            let config = prefix.path().join("nginx.conf");
            std::fs::write(&config, nginx_config(files.path(), prefix.path(), address))?;
            let args = [
                "-c",
                &config.display().to_string(),
                "-p",
                &prefix.path().display().to_string(),
                "-g",
                "daemon off;",
            ]
            .map(String::from);
            Some((Server::start_listening(&program, &args, address)?, prefix))
        }
        None => {
            println!("(no nginx: `just setup-nginx` installs Debian's; its rows are left out)");
            None
        }
    };
    let nginx_etag = match &nginx {
        Some((server, _)) => {
            let response = run
                .client
                .get(format!("{}/snapshot", server.url))
                .header("accept-encoding", "gzip")
                .send()
                .await?
                .error_for_status()?;
            let sent = response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            anyhow::ensure!(
                sent == "gzip",
                "nginx did not send the .gz file (content-encoding {sent:?})"
            );
            let etag = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            anyhow::ensure!(
                response.bytes().await? == gzip,
                "nginx sent other bytes than Vexil's"
            );
            etag
        }
        None => String::new(),
    };

    let target = |url: String, etag: Option<&str>| Target {
        method: "GET",
        url,
        headers: std::iter::once(("accept-encoding", "gzip".to_owned()))
            .chain(etag.map(|etag| ("if-none-match", etag.to_owned())))
            .collect(),
        body: None,
    };
    let load = Load {
        rate: 0,
        duration: Duration::from_secs(if quick { 2 } else { 10 }),
        ..run.load
    };
    let rounds = if quick { 1 } else { 3 };
    let mut rows = Vec::new();
    for round in 0..rounds {
        let mut contenders: Vec<(&str, &Server, Target, Target)> = vec![
            (
                "Vexil",
                &vexil,
                target(url.clone(), None),
                target(url.clone(), Some(&vexil_etag)),
            ),
            (
                "bare hyper",
                &bare,
                target(format!("{}/snapshot", bare.url), None),
                target(String::new(), None),
            ),
        ];
        if let Some((server, _)) = &nginx {
            let at = format!("{}/snapshot", server.url);
            contenders.push((
                "nginx gzip_static",
                server,
                target(at.clone(), None),
                target(at, Some(&nginx_etag)),
            ));
        }
        // Alternate who goes first from round to round.
        let first = round % contenders.len();
        contenders.rotate_left(first);
        for (name, server, download, revalidate) in &contenders {
            let scenario = format!("the limit, round {}", round + 1);
            rows.push(
                run.measure_with(
                    &format!("{scenario}: gzip download ({} B)", gzip.len()),
                    name,
                    server,
                    download,
                    load,
                )
                .await?,
            );
            if !revalidate.url.is_empty() {
                rows.push(
                    run.measure_with(
                        &format!("{scenario}: 304 revalidation"),
                        name,
                        server,
                        revalidate,
                        load,
                    )
                    .await?,
                );
            }
        }
    }
    Ok(rows)
}
