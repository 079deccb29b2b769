//! Operational routes: health, metrics, a namespace's load status.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::AppError;
use crate::auth::Need;
use crate::state::AppState;

/// `GET /health`: up and serving (open even with tokens on, for load balancers).
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "SERVING" }))
}

/// `GET /metrics`: Prometheus text format; with tokens on, an admin token is needed (or move it
/// to `--metrics-listen`).
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(auth) = &state.auth {
        auth.check(&headers, Need::Admin)?;
    }
    Ok(metrics_response(&state))
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
    Path(namespace): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, AppError> {
    if let Some(auth) = &state.auth {
        auth.check(&headers, Need::Namespace(&namespace))?;
    }
    let catalog = state.catalog.load();
    let entry = catalog
        .namespaces
        .get(&namespace)
        .ok_or_else(|| AppError::NotFound(format!("namespace {namespace} not found")))?;
    let current = entry.current.as_ref();
    Ok(Json(json!({
        "namespace": namespace,
        "revision": current.map(|revision| revision.digest.as_str()),
        "digest": current.map(|revision| revision.digest.as_str()),
        "flags": current.map(|revision| revision.flag_count),
        "keptRevisions": entry.history.iter().map(|revision| revision.digest.as_str()).collect::<Vec<_>>(),
        "lastError": entry.last_error.first(),
        "errors": entry.last_error,
    })))
}
