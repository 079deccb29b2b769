//! The HTTP API: routes, and the layer every route shares (CORS, metrics).

mod access;
mod body;
mod compress;
pub mod debug;
pub mod error;
mod evaluate;
mod gate;
mod guard;
mod legacy;
pub mod listener;
mod meta;
pub mod negotiate;
mod observe;
mod ofrep;
mod ops;
mod parse;
mod resources;
pub mod routes;
mod snapshot;
mod stream;
mod www;

use std::path::PathBuf;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::state::AppState;
use gate::GateLayer;
use observe::ObserveLayer;

pub use body::BufferBudget;
pub use error::AppError;
pub use ops::metrics_response as ops_metrics;

/// Every route of the API; with `www`, the demo page and the SDK files it imports.
///
/// Around every route, outermost first: CORS and metrics (`observe`), the access check
/// (`access`: an anonymous caller learns nothing, not even a limit), the request head's limits
/// (`guard`). Requests no route matches and methods a route does
/// not have are answered in JSON too.
pub fn app(state: AppState, www: Option<PathBuf>) -> Router {
    let mut api = Router::new()
        .route(routes::SNAPSHOT_V1, get(snapshot::flipt_v1))
        .route(routes::SNAPSHOT_V2, get(snapshot::flipt_v2))
        .route(routes::SNAPSHOT_IMMUTABLE, get(snapshot::immutable))
        .route(routes::SNAPSHOT_IMMUTABLE_IN, get(snapshot::immutable_in))
        .route(routes::STREAM, get(stream::stream))
        .route(routes::EVALUATE_VARIANT, post(evaluate::variant))
        .route(routes::EVALUATE_BOOLEAN, post(evaluate::boolean))
        .route(routes::EVALUATE_BATCH, post(evaluate::batch))
        .route(routes::OFREP_SINGLE, post(ofrep::single))
        .route(routes::OFREP_BULK, post(ofrep::bulk))
        .route(routes::STATUS, get(ops::status))
        .route(
            routes::NAMESPACES,
            get(resources::namespaces).post(resources::read_only),
        )
        .route(routes::NAMESPACE, read(get(resources::namespace)))
        .route(
            routes::FLAGS,
            get(resources::flags).post(resources::read_only),
        )
        .route(routes::FLAG, read(get(resources::flag)))
        .route(
            routes::RULES,
            get(resources::rules).post(resources::read_only),
        )
        .route(routes::RULE, read(get(resources::rule)))
        .route(
            routes::ROLLOUTS,
            get(resources::rollouts).post(resources::read_only),
        )
        .route(routes::ROLLOUT, read(get(resources::rollout)))
        .route(
            routes::SEGMENTS,
            get(resources::segments).post(resources::read_only),
        )
        .route(routes::SEGMENT, read(get(resources::segment)))
        .route(routes::EVALUATE_V1, post(legacy::evaluate))
        .route(
            routes::EVALUATE_V1_NAMESPACED,
            post(legacy::evaluate_namespaced),
        )
        .route(routes::BATCH_EVALUATE_V1, post(legacy::batch))
        .route(
            routes::BATCH_EVALUATE_V1_NAMESPACED,
            post(legacy::batch_namespaced),
        )
        .route(routes::META_INFO, get(meta::info))
        .route(routes::AUTH_SELF, get(meta::whoami))
        .route(routes::AUTH_METHODS, get(meta::methods))
        .route(routes::HEALTH, get(ops::health))
        .route(routes::READY, get(ops::ready))
        .route(routes::METRICS, get(ops::metrics))
        .route(routes::PPROF_PROFILE, get(debug::cpu))
        .route(routes::PPROF_ALLOCS, get(debug::allocs));
    if let Some(dir) = www {
        let files = www::Files::new(dir);
        for path in routes::WWW {
            api = api.route(path, get(www::serve).with_state(files.clone()));
        }
    }
    // One composed layer, not three: the router boxes each layer it is given per request.
    let layers = tower::ServiceBuilder::new()
        .layer(ObserveLayer::new(state.clone()))
        .layer(GateLayer::new(state.clone(), access::check))
        .layer(GateLayer::new(state.clone(), guard::check));
    api.fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(layers)
        .with_state(state)
}

/// A read API resource: its `GET`, and Flipt's `Unimplemented` for the writes Flipt has there.
fn read(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route
        .put(resources::read_only)
        .patch(resources::read_only)
        .delete(resources::read_only)
}

/// Any path no route serves.
async fn no_route(request: Request) -> AppError {
    let error = AppError::NotFound(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ));
    ofrep::in_shape_of(request.uri().path(), error)
}

/// A route asked with a method it does not have (the router adds `Allow`).
async fn wrong_method(request: Request) -> AppError {
    let error = AppError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ));
    ofrep::in_shape_of(request.uri().path(), error)
}

/// `X-Vexil-Revision`, on every snapshot and evaluation response.
pub const REVISION_HEADER: HeaderName = HeaderName::from_static("x-vexil-revision");

/// `Content-Type: application/json`.
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// The router and the route table are one list: every route in the table is served, and a
    /// path no route serves reaches the fallback (which the table's routes never do).
    #[tokio::test]
    async fn every_route_in_the_table_is_routed() {
        let www = tempfile::tempdir().expect("dir");
        let state = AppState::for_tests(None);
        for route in routes::ROUTES {
            let path: Vec<String> = route
                .path
                .split('/')
                .map(|part| match part {
                    _ if part.starts_with("{*") => "x/0".to_owned(),
                    _ if part.starts_with('{') => "default".to_owned(),
                    _ => part.to_owned(),
                })
                .collect();
            let path = path.join("/");
            for method in [Method::GET, Method::POST] {
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .body(Body::empty())
                    .expect("request");
                let router = app(state.clone(), Some(www.path().to_path_buf()));
                let response = router.oneshot(request).await.expect("infallible");
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                let text = String::from_utf8_lossy(&body);
                assert!(!text.contains("no route for"), "{method} {path}: {text}");
            }
        }
    }
}
