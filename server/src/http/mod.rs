//! The HTTP API: routes, and the layer every route shares (CORS, metrics).

mod compress;
pub mod error;
mod evaluate;
pub mod negotiate;
mod observe;
mod ofrep;
mod ops;
mod snapshot;
mod stream;

use std::path::PathBuf;

use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use observe::ObserveLayer;

pub use error::AppError;
pub use ops::metrics_response as ops_metrics;

/// Every route of the API; `www` is served at `/` when given (the demo page).
pub fn app(state: AppState, www: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route(
            "/internal/v1/evaluation/snapshot/namespace/{namespace}",
            get(snapshot::flipt_v1),
        )
        .route(
            "/client/v2/environments/{environment}/namespaces/{namespace}/snapshot",
            get(snapshot::flipt_v2),
        )
        .route(
            "/api/v1/snapshots/{namespace}/{digest}",
            get(snapshot::immutable),
        )
        .route(
            "/client/v2/environments/{environment}/namespaces/{namespace}/stream",
            get(stream::stream),
        )
        .route("/evaluate/v1/variant", post(evaluate::variant))
        .route("/evaluate/v1/boolean", post(evaluate::boolean))
        .route("/evaluate/v1/batch", post(evaluate::batch))
        .route("/ofrep/v1/evaluate/flags/{key}", post(ofrep::single))
        .route("/ofrep/v1/evaluate/flags", post(ofrep::bulk))
        .route("/api/v1/namespaces/{namespace}/status", get(ops::status))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics));
    let api = match www {
        Some(dir) => api.fallback_service(tower_http::services::ServeDir::new(dir)),
        None => api,
    };
    api.layer(ObserveLayer::new(state.clone()))
        .with_state(state)
}

/// `X-Vexil-Revision`, on every snapshot and evaluation response.
pub const REVISION_HEADER: HeaderName = HeaderName::from_static("x-vexil-revision");

/// `Content-Type: application/json`.
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");
