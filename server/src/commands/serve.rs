//! `vexil serve`: the HTTP server, until SIGTERM or Ctrl-C.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::auth::Auth;
use crate::cli::{LogFormat, ServeArgs};
use crate::http::{self, listener, listener::Connections};
use crate::state::{AppState, Limits, DEFAULT_ENVIRONMENT};

/// How long shutdown waits for responses in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Connections the separate metrics listener takes at once.
const METRICS_CONNECTIONS: usize = 64;

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    run_with(args, |app| app)
}

/// `vexil serve` with the router passed through `wrap` first: for harnesses that measure the
/// server with something around it (`benches/load`), through the same listener and state.
pub fn run_with(
    args: &ServeArgs,
    wrap: fn(axum::Router) -> axum::Router,
) -> anyhow::Result<ExitCode> {
    crate::alloc::return_freed_revisions_to_the_system();
    crate::profiling::sampler::set_sample_bytes(args.alloc_sample_bytes);
    init_logging(args.log_format);
    let auth = args.tokens.as_deref().map(Auth::load).transpose()?;
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_batch_requests: args.max_batch,
        max_context_entries: args.max_context_entries,
        max_key_bytes: args.max_key_bytes,
        max_value_bytes: args.max_value_bytes,
        compress_min_bytes: args.compress_min_bytes,
        max_uri_bytes: args.max_uri_bytes,
        max_headers: args.max_headers,
        max_header_bytes: args.max_header_bytes,
        body_timeout: Duration::from_secs(args.body_timeout_seconds.max(1)),
        max_response_bytes: args.max_response_bytes,
        buffer_memory_bytes: args.buffer_memory_bytes,
        max_concurrent_evaluations: args.max_concurrent_evaluations.max(1),
    };
    let flags = args.flags.as_deref().context(crate::cli::NO_FLAGS)?;
    let mut environments = vec![(DEFAULT_ENVIRONMENT.to_owned(), flag_directory(flags)?)];
    for (name, dir) in &args.environments {
        if environments.iter().any(|(seen, _)| seen == name) {
            anyhow::bail!("environment {name} is given twice");
        }
        environments.push((name.clone(), flag_directory(dir)?));
    }
    let debounce = Duration::from_millis(args.debounce_ms);
    let state = AppState::with_environments(
        environments,
        args.file_limits.limits(),
        limits,
        auth,
        Duration::from_secs(args.keep_alive_seconds.max(1)),
        debounce,
    );
    if let Some(file) = &args.signing_key {
        let signer = crate::signing::Signer::load(file)?;
        tracing::info!(key_id = %signer.key_id(), public_key = %signer.public_key(), "signing compiled snapshots");
        state.set_signer(signer);
    }
    state.reload(&BTreeSet::new());
    crate::watch::watch(state.clone(), debounce)?;

    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(serve(state, args, wrap))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    state: AppState,
    args: &ServeArgs,
    wrap: fn(axum::Router) -> axum::Router,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let connections = Connections {
        header_timeout: Duration::from_secs(args.header_timeout_seconds.max(1)),
        write_timeout: Duration::from_secs(args.write_timeout_seconds.max(1)),
        max_connections: listener::connection_cap(args.max_connections),
        shutdown_grace: SHUTDOWN_GRACE,
    };
    // Tests and scripts read this line to find the port when listening on port 0.
    tracing::info!("vexil listening on http://{address}");
    announce(&format!("vexil listening on http://{address}"));
    if state.auth.is_none() {
        tracing::warn!("no --tokens: every route is open");
    }
    if let Some(metrics_address) = args.metrics_listen {
        let metrics_listener = TcpListener::bind(metrics_address)
            .await
            .with_context(|| format!("listening on {metrics_address}"))?;
        let metrics_state = state.clone();
        let profile_state = metrics_state.clone();
        // The metrics listener is the operators' own port: open, as `/metrics` is there.
        let router = axum::Router::new()
            .route(
                http::routes::METRICS,
                axum::routing::get(move || {
                    let state = metrics_state.clone();
                    async move { http::ops_metrics(&state) }
                }),
            )
            .route(
                http::routes::PPROF_PROFILE,
                axum::routing::get(
                    move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
                        let state = profile_state.clone();
                        async move { http::debug::cpu_response(&state, query.as_deref()).await }
                    },
                ),
            )
            .route(
                http::routes::PPROF_ALLOCS,
                axum::routing::get(http::debug::allocs),
            );
        tracing::info!(
            "metrics on http://{}/metrics",
            metrics_listener.local_addr()?
        );
        let state = state.clone();
        let connections = Connections {
            max_connections: METRICS_CONNECTIONS,
            ..connections.clone()
        };
        tokio::spawn(async move {
            listener::serve(
                metrics_listener,
                router,
                state,
                &connections,
                shutdown_signal(),
            )
            .await;
        });
    }
    let app = wrap(http::app(state.clone(), args.www.clone()));
    let stopping = {
        let state = state.clone();
        async move {
            shutdown_signal().await;
            // Push streams never end by themselves: tell them to, so the graceful shutdown can finish.
            state.shutting_down.send_replace(true);
        }
    };
    listener::serve(listener, app, state, &connections, stopping).await;
    tracing::info!("shut down");
    Ok(())
}

/// A line on stdout for scripts; whoever started us may have stopped reading, which is fine.
fn announce(line: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// Resolves on Ctrl-C or SIGTERM; open streams are then closed and in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// A flag directory as the server keeps it: absolute, and there at start (a wrong path is an
/// operator's mistake to report now, not an empty namespace to serve).
fn flag_directory(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let metadata =
        std::fs::metadata(dir).with_context(|| format!("flag directory {}", dir.display()))?;
    anyhow::ensure!(
        metadata.is_dir(),
        "flag directory {}: not a directory",
        dir.display()
    );
    crate::watch::absolute(dir)
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("VEXIL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // One JSON object a line, the event's fields at the top level, as collectors index them.
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
