//! The HTTP API: routes, and what every route shares (CORS, metrics, auth).

mod compress;
pub mod error;
mod evaluate;
pub mod negotiate;
mod ofrep;
mod ops;
mod snapshot;
mod stream;

use std::path::PathBuf;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::state::AppState;

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
        .route("/metrics", get(ops::metrics));
    let api = match www {
        Some(dir) => api.fallback_service(tower_http::services::ServeDir::new(dir)),
        None => api,
    };
    api.layer(middleware::from_fn_with_state(
        state.clone(),
        record_metrics,
    ))
    .layer(cors())
    .with_state(state)
}

/// Browsers may call every route from any origin: flags are read by pages on other sites.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::IF_NONE_MATCH,
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-flipt-environment"),
            HeaderName::from_static("x-flipt-namespace"),
            HeaderName::from_static("x-flipt-accept-server-version"),
        ])
        .expose_headers([header::ETAG, HeaderName::from_static("x-vexil-revision")])
}

/// `X-Vexil-Revision`, on every snapshot and evaluation response.
pub const REVISION_HEADER: HeaderName = HeaderName::from_static("x-vexil-revision");

/// `Content-Type: application/json`.
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    state.metrics.record_request(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
