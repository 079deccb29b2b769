//! The one layer around every route: CORS headers, preflight answers, request metrics (with
//! what each route's handler allocated).
//!
//! Written as a plain tower service with an unboxed future, rather than `middleware::from_fn` and
//! tower-http's `CorsLayer`, because those allocate on every request (a boxed future; a `Vary`
//! header rebuilt per response), and this project's policy is static: the same CORS headers for
//! every route and origin.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::routes;
use crate::state::AppState;

const ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, OPTIONS");
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "If-None-Match, Authorization, Content-Type, X-Flipt-Environment, X-Flipt-Namespace, \
     X-Flipt-Accept-Server-Version, Last-Event-ID",
);
const EXPOSE_HEADERS: HeaderValue = HeaderValue::from_static("ETag, X-Vexil-Revision");
const MAX_AGE: HeaderValue = HeaderValue::from_static("86400");

/// The route's label without allocating: its pattern in [`routes::ROUTES`], or `other`.
fn route_label(request: &Request) -> &'static str {
    request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| routes::find(path.as_str()))
        .map_or("other", |route| route.path)
}

/// Adds [`Observe`] around a service.
#[derive(Clone)]
pub struct ObserveLayer {
    state: AppState,
}

impl ObserveLayer {
    pub fn new(state: AppState) -> ObserveLayer {
        ObserveLayer { state }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            state: self.state.clone(),
        }
    }
}

/// CORS and metrics around one route.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = route_label(&request);
        let started = Instant::now();
        let is_preflight = request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let inner = (!is_preflight).then(|| self.inner.call(request));
        ObserveFuture {
            inner,
            state: self.state.clone(),
            route,
            started,
            allocations: (0, 0),
        }
    }
}

pin_project! {
    /// The inner response with CORS headers added and the request counted; or, for a CORS
    /// preflight, the answer itself.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: Option<F>,
        state: AppState,
        route: &'static str,
        started: Instant,
        allocations: (u64, u64),
    }
}

impl<F> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // What the handler allocates while it runs, poll by poll, on whichever thread polls it:
        // honest per-route figures (hyper's own parsing and writing are not in them).
        let before = crate::alloc::thread_totals();
        let polled = this.inner.as_pin_mut().map(|inner| inner.poll(cx));
        let after = crate::alloc::thread_totals();
        this.allocations.0 += after.0 - before.0;
        this.allocations.1 += after.1 - before.1;
        let mut response = match polled {
            Some(Poll::Ready(Ok(response))) => response,
            Some(Poll::Pending) => return Poll::Pending,
            None => preflight(),
        };
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
        this.state.metrics.record_request(
            this.route,
            response.status().as_u16(),
            this.started.elapsed().as_secs_f64(),
            *this.allocations,
        );
        Poll::Ready(Ok(response))
    }
}

fn preflight() -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
    response
}
