//! The one access check: with tokens on, every request passes it before any handler runs, so
//! no route reveals anything (which environments or namespaces exist, how big a body is)
//! to a caller it would refuse.
//!
//! What a route needs comes from [`routes::ROUTES`]; a matched route missing from that table is
//! treated as admin-only, so forgetting to list one fails closed. Requests that match no route
//! still need a valid token before they learn that nothing is there. Routes whose namespaces
//! are in the body (evaluation) get a [`Grant`], which the handler checks each namespace with
//! as the body is parsed.

use axum::extract::{MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use super::routes::{self, Access};
use super::AppError;
use crate::auth::Need;
use crate::metrics::Rejection;
use crate::state::AppState;

/// The namespace OFREP requests name in `X-Flipt-Namespace`; `default` without it. A value that
/// is not text is refused rather than read as `default`.
pub fn header_namespace(headers: &HeaderMap) -> Result<&str, AppError> {
    match headers.get("x-flipt-namespace").map(|value| value.to_str()) {
        None => Ok("default"),
        Some(Ok("")) => Ok("default"),
        Some(Ok(namespace)) => Ok(namespace),
        Some(Err(_)) => Err(AppError::BadRequest(
            "X-Flipt-Namespace is not visible ASCII text".into(),
        )),
    }
}

/// The environment a request names in `X-Flipt-Environment`; `default` without it.
pub fn header_environment(headers: &HeaderMap) -> Result<&str, AppError> {
    match headers
        .get("x-flipt-environment")
        .map(|value| value.to_str())
    {
        None | Some(Ok("")) => Ok(crate::state::DEFAULT_ENVIRONMENT),
        Some(Ok(environment)) => Ok(environment),
        Some(Err(_)) => Err(AppError::BadRequest(
            "X-Flipt-Environment is not visible ASCII text".into(),
        )),
    }
}

/// The environment a request asks for: the route's `{environment}`, else its header.
pub fn requested_environment<'r>(
    pattern: Option<&str>,
    path: &'r str,
    headers: &'r HeaderMap,
) -> Result<std::borrow::Cow<'r, str>, AppError> {
    if let Some(raw) = pattern.and_then(|pattern| routes::segment(pattern, path, "environment")) {
        return percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| AppError::BadRequest("the environment is not UTF-8".into()));
    }
    header_environment(headers).map(std::borrow::Cow::Borrowed)
}

/// The token a request to a body-namespaced route showed (its place in the tokens file).
#[derive(Clone, Copy, Debug)]
pub struct Grant(usize);

impl Grant {
    /// The grant the access layer gave the request, if any.
    pub fn of(parts: &Parts) -> Option<Grant> {
        parts.extensions.get::<Grant>().copied()
    }

    /// The token's place in the tokens file.
    pub fn index(self) -> usize {
        self.0
    }
}

/// What a handler checks the namespaces of a body with.
pub struct Scope<'a> {
    state: &'a AppState,
    grant: Option<Grant>,
}

impl<'a> Scope<'a> {
    /// The caller's scope: what the access layer granted (with tokens on, nothing is allowed
    /// without a grant).
    pub fn new(state: &'a AppState, grant: Option<Grant>) -> Scope<'a> {
        Scope { state, grant }
    }

    /// Everything allowed (a state without tokens); for unit tests.
    #[cfg(test)]
    pub fn for_tests(state: &'a AppState) -> Scope<'a> {
        Scope { state, grant: None }
    }

    /// Allows the namespace, or refuses it with 403 (401 if no token was shown at all).
    pub fn check(&self, namespace: &str) -> Result<(), AppError> {
        let Some(auth) = &self.state.auth else {
            return Ok(());
        };
        let token = self
            .grant
            .and_then(|Grant(index)| auth.token(index))
            .ok_or_else(|| AppError::Unauthenticated("missing bearer token".into()))?;
        token.allows(Need::Namespace(namespace))
    }
}

/// The access check, as a [`super::gate`] check: lets the request in, or answers 400, 401 or
/// 403 (a 400 in OFREP's shape on OFREP routes; 401 and 403 in Flipt's everywhere, as OFREP
/// providers act on those by status).
pub fn check(state: &AppState, request: &mut Request) -> Option<Response> {
    let refused = admit(state, request).err()?;
    state.metrics.record_rejection(Rejection::Auth);
    Some(super::ofrep::in_shape_of(request.uri().path(), refused).into_response())
}

fn admit(state: &AppState, request: &mut Request) -> Result<(), AppError> {
    let Some(auth) = &state.auth else {
        return Ok(());
    };
    let pattern = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str());
    // No route (`None`): any valid token may learn that. A route missing from the table
    // fails closed, as admin-only.
    let access =
        pattern.map(|pattern| routes::find(pattern).map_or(Access::Admin, |route| route.access));
    if access == Some(Access::Open) {
        return Ok(());
    }
    let (index, token) = auth.authenticate(request.headers())?;
    if matches!(
        access,
        Some(Access::PathNamespace | Access::HeaderNamespace | Access::BodyNamespaces)
    ) {
        let environment = requested_environment(pattern, request.uri().path(), request.headers())?;
        token.allows_environment(&environment)?;
    }
    match (access, pattern) {
        (Some(Access::PathNamespace), Some(pattern)) => {
            let raw = routes::segment(pattern, request.uri().path(), "namespace").unwrap_or("");
            // Decoded as the router decodes path parameters, so both read the same namespace.
            let namespace = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| AppError::BadRequest("the namespace is not UTF-8".into()))?;
            token.allows(Need::Namespace(&namespace))?;
            // Bodies on such routes may name the namespace again (Flipt v1's evaluate).
            request.extensions_mut().insert(Grant(index));
            Ok(())
        }
        (Some(Access::HeaderNamespace), _) => {
            token.allows(Need::Namespace(header_namespace(request.headers())?))
        }
        (Some(Access::BodyNamespaces | Access::AnyToken), _) => {
            request.extensions_mut().insert(Grant(index));
            Ok(())
        }
        (Some(Access::Admin), _) => token.allows(Need::Admin),
        (Some(Access::Open | Access::PathNamespace), _) | (None, _) => Ok(()),
    }
}
