//! `vexil probe URL`: a health check for images without curl. Exit 0 when the answer is a 2xx,
//! 1 when it is anything else or none comes in time (what Docker's `HEALTHCHECK` and
//! Kubernetes' `exec` probes read); 2 when the URL itself is wrong.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http_body_util::Empty;
use hyper::{header, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;

use crate::cli::ProbeArgs;

pub fn run(args: &ProbeArgs) -> anyhow::Result<ExitCode> {
    let uri: Uri = args
        .url
        .parse()
        .with_context(|| format!("{}: not a URL", args.url))?;
    if uri.scheme_str() != Some("http") {
        bail!("{}: only http:// URLs are probed", args.url);
    }
    let timeout = Duration::from_secs(args.timeout_seconds.max(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let answer = runtime.block_on(async { tokio::time::timeout(timeout, get(&uri)).await });
    Ok(match answer {
        Ok(Ok(status)) if status.is_success() => {
            println!("{uri}: {status}");
            ExitCode::SUCCESS
        }
        Ok(Ok(status)) => {
            eprintln!("{uri}: {status}");
            ExitCode::FAILURE
        }
        Ok(Err(error)) => {
            eprintln!("{uri}: {error:#}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("{uri}: no answer within {} s", timeout.as_secs());
            ExitCode::FAILURE
        }
    })
}

/// One `GET`, on a connection of its own; the status is all a probe reads.
async fn get(uri: &Uri) -> anyhow::Result<StatusCode> {
    let host = uri.host().context("the URL names no host")?;
    let port = uri.port_u16().unwrap_or(80);
    // `[::1]` in a URL is `::1` to connect to.
    let address = host.trim_start_matches('[').trim_end_matches(']');
    let stream = tokio::net::TcpStream::connect((address, port))
        .await
        .context("connecting")?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("starting HTTP")?;
    tokio::spawn(connection);
    let authority = uri.authority().map_or(host, |authority| authority.as_str());
    let request = Request::get(uri.path_and_query().map_or("/", |path| path.as_str()))
        .header(header::HOST, authority)
        .header(header::USER_AGENT, "vexil-probe")
        .body(Empty::<Bytes>::new())
        .context("the request")?;
    let response = sender.send_request(request).await.context("asking")?;
    Ok(response.status())
}
