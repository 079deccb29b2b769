//! A layer that lets a request through to its route, or answers it itself: the shape shared by
//! the access check (`access`) and the request head's limits (`guard`).
//!
//! A plain tower service with an unboxed future, as `observe` is, so passing the gate allocates
//! nothing.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use futures_util::future::{ready, Either, Ready};
use tower::{Layer, Service};

use crate::state::AppState;

/// Decides on a request: `None` lets it through (perhaps with extensions added), `Some` is the
/// answer the gate gives instead.
pub type Check = fn(&AppState, &mut Request) -> Option<Response>;

/// Adds a [`Gate`] with its check around a service.
#[derive(Clone)]
pub struct GateLayer {
    state: AppState,
    check: Check,
}

impl GateLayer {
    pub fn new(state: AppState, check: Check) -> GateLayer {
        GateLayer { state, check }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            state: self.state.clone(),
            check: self.check,
        }
    }
}

/// A service behind a check.
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    state: AppState,
    check: Check,
}

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Ready<Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match (self.check)(&self.state, &mut request) {
            None => Either::Left(self.inner.call(request)),
            Some(answer) => Either::Right(ready(Ok(answer))),
        }
    }
}
