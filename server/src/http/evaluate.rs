//! Flipt's evaluation API: `/evaluate/v1/variant`, `/boolean` and `/batch`.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use vexil_eval::model::FlagKind;
use vexil_eval::response::{
    BatchItem, BatchResponse, BooleanResponse, ResponseMeta, VariantResponse,
};
use vexil_eval::{EvalError, Request as EvalRequest};

use super::access::Scope;
use super::body::{budgeted, read_body, LimitedWriter};
use super::compress::compress;
use super::negotiate::{choose_encoding, Encoding};
use super::snapshot::current_revision;
use super::{parse, AppError, JSON, REVISION_HEADER};
use crate::metrics::Rejection;
use crate::state::AppState;

/// The request id to echo: the client's, or a fresh one as Flipt makes.
fn request_id(given: &str) -> String {
    if given.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        given.to_owned()
    }
}

pub(super) fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    vexil_eval::format_timestamp(seconds, now.subsec_nanos())
}

fn not_found(namespace: &str, flag_key: &str) -> AppError {
    AppError::NotFound(format!("flag \"{namespace}/{flag_key}\" not found"))
}

fn eval_error(namespace: &str, flag_key: &str, error: EvalError) -> AppError {
    match error {
        EvalError::FlagNotFound => not_found(namespace, flag_key),
        EvalError::WrongFlagType { .. } => {
            AppError::BadRequest(format!("{namespace}/{flag_key}: {error}"))
        }
    }
}

/// Serializes a response body and compresses it when it is large and the client accepts that.
///
/// `size_hint` is the expected length of the JSON, so the buffer is allocated once.
pub(super) fn json_response(
    state: &AppState,
    headers: &HeaderMap,
    revision: HeaderValue,
    body: &impl serde::Serialize,
    size_hint: usize,
) -> Result<Response, AppError> {
    let limits = &state.limits;
    let mut writer = LimitedWriter::new(size_hint, limits.max_response_bytes);
    if serde_json::to_writer(&mut writer, body).is_err() {
        state.metrics.record_rejection(Rejection::Limit);
        return Err(AppError::TooLarge(format!(
            "the response would be larger than {} bytes: ask for fewer flags at once",
            limits.max_response_bytes
        )));
    }
    let json = writer.buffer;
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let encoding = if json.len() >= limits.compress_min_bytes {
        choose_encoding(accept).unwrap_or(Encoding::Identity)
    } else {
        Encoding::Identity
    };
    let mut response = Response::new(Body::empty());
    let out = response.headers_mut();
    // Room for every header this response and the CORS layer add: one allocation, not several.
    out.reserve(12);
    out.insert(header::CONTENT_TYPE, JSON);
    out.insert(REVISION_HEADER, revision);
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let body = match compress(&json, encoding) {
        Some(compressed) => {
            if let Some(coding) = encoding.header_value() {
                out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            }
            compressed
        }
        None => json,
    };
    *response.body_mut() = Body::from(budgeted(state, body)?);
    Ok(response)
}

/// `POST /evaluate/v1/variant`.
pub async fn variant(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, AppError> {
    evaluate_one(state, request, FlagKind::Variant).await
}

/// `POST /evaluate/v1/boolean`.
pub async fn boolean(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, AppError> {
    evaluate_one(state, request, FlagKind::Boolean).await
}

/// One flag of the given type, answered in Flipt's shape for that type.
async fn evaluate_one(
    state: AppState,
    request: Request,
    kind: FlagKind,
) -> Result<Response, AppError> {
    let started = Instant::now();
    let _permit = state.evaluation_permit()?;
    let (parts, body) = request.into_parts();
    let bytes = read_body(body, &state).await?;
    let scope = Scope::of_parts(&state, &parts);
    let headers = parts.headers;
    let body = parse::evaluation_request(&bytes, &state.limits, &scope)?;
    let namespace = body.namespace();
    let revision = current_revision(&state, namespace)?;
    let eval_request = EvalRequest::new(&body.flag_key, &body.entity_id, &body.context);
    let request_id = request_id(&body.request_id);
    let timestamp = now_rfc3339();
    let failed = |error| eval_error(namespace, &body.flag_key, error);
    let meta = |started: Instant| ResponseMeta {
        request_id: &request_id,
        request_duration_millis: started.elapsed().as_secs_f64() * 1000.0,
        timestamp: &timestamp,
    };
    let digest = revision.digest_header.clone();
    match kind {
        FlagKind::Variant => {
            let evaluation = revision
                .index
                .evaluate_variant(&eval_request)
                .map_err(failed)?;
            let response = VariantResponse {
                evaluation: &evaluation,
                meta: meta(started),
            };
            json_response(&state, &headers, digest, &response, 512)
        }
        FlagKind::Boolean => {
            let evaluation = revision
                .index
                .evaluate_boolean(&eval_request)
                .map_err(failed)?;
            let response = BooleanResponse {
                evaluation: &evaluation,
                meta: meta(started),
            };
            json_response(&state, &headers, digest, &response, 512)
        }
    }
}

/// `POST /evaluate/v1/batch`: each request in its own namespace (`default` when unnamed).
pub async fn batch(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let started = Instant::now();
    let _permit = state.evaluation_permit()?;
    let (parts, body) = request.into_parts();
    let bytes = read_body(body, &state).await?;
    let scope = Scope::of_parts(&state, &parts);
    let headers = parts.headers;
    // Every namespace is authorized while the body is parsed, before anything is evaluated.
    let body = parse::batch_request(&bytes, &state.limits, &scope)?;
    // Each namespace is looked up once; its revision stays fixed for the batch.
    let mut revisions = HashMap::new();
    for request in &body.requests {
        let namespace = request.namespace();
        if !revisions.contains_key(namespace) {
            revisions.insert(namespace, current_revision(&state, namespace)?);
        }
    }
    let items: Vec<BatchItem<'_>> = body
        .requests
        .iter()
        .map(|request| {
            let namespace = request.namespace();
            let result = match revisions.get(namespace) {
                Some(revision) => revision.index.evaluate(&EvalRequest::new(
                    &request.flag_key,
                    &request.entity_id,
                    &request.context,
                )),
                None => Err(EvalError::FlagNotFound),
            };
            BatchItem {
                flag_key: &request.flag_key,
                namespace_key: namespace,
                result,
            }
        })
        .collect();
    let request_id = request_id(&body.request_id);
    let timestamp = now_rfc3339();
    let response = BatchResponse {
        items: &items,
        meta: ResponseMeta {
            request_id: &request_id,
            request_duration_millis: started.elapsed().as_secs_f64() * 1000.0,
            timestamp: &timestamp,
        },
    };
    let first_namespace = body
        .requests
        .first()
        .map_or("default", parse::EvaluationRequest::namespace);
    let revision = match revisions.get(first_namespace) {
        Some(revision) => revision.digest_header.clone(),
        None => current_revision(&state, first_namespace)?
            .digest_header
            .clone(),
    };
    // About 350 bytes per answer, more with attachments; one growth at most.
    let size_hint = 128 + items.len() * 384;
    json_response(&state, &headers, revision, &response, size_hint)
}
