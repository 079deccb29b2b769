//! Operational routes: health, metrics, a namespace's load status.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::AppError;
use crate::state::AppState;
use crate::wire::rfc3339;

/// `GET /health`: liveness, 200 while the process serves (open even with tokens on). Bad flag
/// files must not get a pod restarted, so this never fails for them; the body says whether
/// every namespace found at start is served yet (`/ready` answers that with its status).
pub async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    let status = if state.is_ready() {
        "SERVING"
    } else {
        "NOT_READY"
    };
    Json(json!({ "status": status }))
}

/// `GET /ready`: 200 once every namespace found at start has a good revision, 503 before.
pub async fn ready(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    if state.is_ready() {
        return Ok(Json(json!({ "status": "READY" })));
    }
    let waiting = state.not_ready_namespaces();
    // `/ready` is open: with tokens on, it does not name namespaces (status does, to a token).
    let message = if waiting.is_empty() {
        "some flag files could not be read or attributed to a namespace yet".to_owned()
    } else if state.auth.is_some() {
        format!("{} namespaces have no good revision yet", waiting.len())
    } else {
        format!("no good revision yet for: {}", waiting.join(", "))
    };
    Err(AppError::Unavailable(message))
}

/// `GET /metrics`: Prometheus text format; with tokens on, an admin token is needed (or move it
/// to `--metrics-listen`).
pub async fn metrics(State(state): State<AppState>) -> Response {
    metrics_response(&state)
}

/// The exposition, shared by `/metrics` and the separate metrics listener.
pub fn metrics_response(state: &AppState) -> Response {
    let content_type =
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    (
        [(header::CONTENT_TYPE, content_type)],
        state.metrics.encode(),
    )
        .into_response()
}

/// `GET /api/v1/namespaces/{namespace}/status`: the served revision and the last load error.
pub async fn status(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(namespace): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let environment = state.environment(super::access::header_environment(&headers)?)?;
    let catalog = environment.catalog.load();
    let entry = catalog
        .namespaces
        .get(&namespace)
        .ok_or_else(|| AppError::NotFound(format!("namespace {namespace} not found")))?;
    let current = entry.current.as_ref();
    Ok(Json(json!({
        "namespace": namespace,
        "environment": environment.name,
        "state": entry.state(),
        "revision": current.map(|revision| revision.digest()),
        "digest": current.map(|revision| revision.digest()),
        "compiledDigest": current.map(|revision| revision.documents.compiled_digest.as_str()),
        "flags": current.map(|revision| revision.flag_count),
        "publishedAt": current.map(|revision| rfc3339(revision.published_at)),
        "keptRevisions": entry.history.iter().map(|documents| documents.digest.as_str()).collect::<Vec<_>>(),
        "lastError": entry.last_error.first(),
        "errors": entry.last_error,
        "warnings": entry.warnings,
        "failingSince": entry.failing_since.map(rfc3339),
        "heldBy": entry.held,
        "goneSince": entry.gone_since.map(|(_, wall)| rfc3339(wall)),
    })))
}
