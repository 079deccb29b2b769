//! Snapshot endpoints: Flipt's v1 and v2 paths, and the immutable content-addressed path.
//!
//! Every representation was built when the revision was published; a request only chooses one
//! and clones a reference-counted buffer. No serialization, hashing or compression happens here.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::access::header_environment;
use super::negotiate::{choose_precompressed, etag_matches, parse_q};
use super::{AppError, JSON, REVISION_HEADER};
use crate::publish::{Documents, Revision};
use crate::state::{AppState, Environment};

const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
const IMMUTABLE_PUBLIC: HeaderValue =
    HeaderValue::from_static("public, max-age=31536000, immutable");
const IMMUTABLE_PRIVATE: HeaderValue =
    HeaderValue::from_static("private, max-age=31536000, immutable");
const ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("Accept-Encoding");
const ACCEPT_AND_ENCODING: HeaderValue = HeaderValue::from_static("Accept, Accept-Encoding");
/// The compiled snapshot's media type (docs/compiled-snapshot.md).
pub const COMPILED_TYPE: &str = "application/vnd.vexil.snapshot";
const COMPILED: HeaderValue = HeaderValue::from_static(COMPILED_TYPE);

/// Which document of a revision a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// Flipt's snapshot JSON: the default, so Flipt's clients are untouched.
    Json,
    /// The compiled snapshot, for clients that name its type in `Accept`.
    Compiled,
}

/// The compiled form when `Accept` names its type with a q-value above 0 and at least that of
/// `application/json`; else Flipt's JSON.
fn form_asked(headers: &HeaderMap) -> Form {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Form::Json;
    };
    let (mut compiled, mut json) = (0u16, 0u16);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim();
        // A malformed q-value makes the item unusable: 0.
        let q = parts
            .filter_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| parse_q(value.trim()).unwrap_or(0))
            })
            .next()
            .unwrap_or(1000);
        if media.eq_ignore_ascii_case(COMPILED_TYPE) {
            compiled = compiled.max(q);
        } else if media.eq_ignore_ascii_case("application/json") {
            json = json.max(q);
        }
    }
    if compiled > 0 && compiled >= json {
        Form::Compiled
    } else {
        Form::Json
    }
}

// The two hot paths borrow the path parameters and the request headers rather than extract
// owned copies (`Path<String>`, `HeaderMap`), which would allocate on every request.

/// `GET /internal/v1/evaluation/snapshot/namespace/{namespace}`: what Flipt's client SDKs fetch.
pub async fn flipt_v1(
    State(state): State<AppState>,
    params: RawPathParams,
    request: Request,
) -> Result<Response, AppError> {
    let headers = request.headers();
    let environment = state.environment(header_environment(headers)?)?;
    let revision = current_revision(environment, param(&params, "namespace"))?;
    respond(&revision.documents, headers, NO_CACHE, form_asked(headers))
}

/// `GET /client/v2/environments/{environment}/namespaces/{namespace}/snapshot`.
pub async fn flipt_v2(
    State(state): State<AppState>,
    params: RawPathParams,
    request: Request,
) -> Result<Response, AppError> {
    let headers = request.headers();
    let environment = state.environment(param(&params, "environment"))?;
    let revision = current_revision(environment, param(&params, "namespace"))?;
    respond(&revision.documents, headers, NO_CACHE, form_asked(headers))
}

/// A path parameter the route defines (so it is always there).
fn param<'p>(params: &'p RawPathParams, name: &str) -> &'p str {
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map_or("", |(_, value)| value)
}

/// `GET /api/v1/snapshots/{namespace}/{digest}`: one revision forever, for CDNs (of the
/// environment `X-Flipt-Environment` names).
pub async fn immutable(
    State(state): State<AppState>,
    Path((namespace, digest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let environment = state.environment(header_environment(&headers)?)?;
    kept_revision(&state, environment, &namespace, &digest, &headers)
}

/// `GET /api/v1/environments/{environment}/snapshots/{namespace}/{digest}`: the same, with the
/// environment in the path, so one URL names one document wherever it is cached.
pub async fn immutable_in(
    State(state): State<AppState>,
    Path((environment, namespace, digest)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let environment = state.environment(&environment)?;
    kept_revision(&state, environment, &namespace, &digest, &headers)
}

fn kept_revision(
    state: &AppState,
    environment: &Environment,
    namespace: &str,
    digest: &str,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let catalog = environment.catalog.load();
    // The digest names one document: that one is sent, whatever `Accept` says.
    let (documents, compiled) = catalog
        .revision(namespace, digest)
        .map(|(documents, compiled)| (documents.clone(), compiled))
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "revision {digest} of namespace {namespace} is not kept"
            ))
        })?;
    // With tokens on, a shared cache must not hand the snapshot to others.
    let cache = if state.auth.is_some() {
        IMMUTABLE_PRIVATE
    } else {
        IMMUTABLE_PUBLIC
    };
    let form = if compiled { Form::Compiled } else { Form::Json };
    let mut response = respond(&documents, headers, cache, form)?;
    response.headers_mut().insert(header::VARY, ACCEPT_ENCODING);
    Ok(response)
}

/// The namespace's current revision (the access layer has let the caller in).
pub(super) fn current_revision(
    environment: &Environment,
    namespace: &str,
) -> Result<Arc<Revision>, AppError> {
    let catalog = environment.catalog.load();
    match catalog.namespaces.get(namespace) {
        Some(entry) => entry.current.clone().ok_or_else(|| {
            AppError::Unavailable(format!(
                "namespace {namespace} has no valid revision yet: see /api/v1/namespaces/{namespace}/status"
            ))
        }),
        None => Err(AppError::NotFound(format!("namespace {namespace} not found"))),
    }
}

fn respond(
    documents: &Documents,
    headers: &HeaderMap,
    cache: HeaderValue,
    form: Form,
) -> Result<Response, AppError> {
    let (document, digest, etag, content_type) = match form {
        Form::Json => (
            &documents.snapshot,
            &documents.digest,
            &documents.etag,
            JSON,
        ),
        Form::Compiled => (
            &documents.compiled,
            &documents.compiled_digest,
            &documents.compiled_etag,
            COMPILED,
        ),
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| etag_matches(value, digest));
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok());
    let mut response = Response::new(Body::empty());
    let out = response.headers_mut();
    // Room for every header this response and the CORS layer add: one allocation, not several.
    out.reserve(12);
    out.insert(header::ETAG, etag.clone());
    out.insert(REVISION_HEADER, documents.digest_header.clone());
    out.insert(header::CACHE_CONTROL, cache);
    // The answer depends on `Accept` (which document) and `Accept-Encoding` (which coding).
    out.insert(header::VARY, ACCEPT_AND_ENCODING);
    if not_modified {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    let not_acceptable = || {
        AppError::NotAcceptable(
            "no acceptable content coding: use identity, gzip, deflate, br or zstd".into(),
        )
    };
    let encoding = choose_precompressed(accept, &document.order).ok_or_else(not_acceptable)?;
    let body = document.get(encoding).ok_or_else(not_acceptable)?.clone();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, content_type);
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if let Some(coding) = encoding.header_value() {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    *response.body_mut() = Body::from(body);
    Ok(response)
}
