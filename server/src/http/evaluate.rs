//! Flipt's evaluation API: `/evaluate/v1/variant`, `/boolean` and `/batch`.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use vexil_eval::model::FlagKind;
use vexil_eval::{evaluate_batch_item, BatchItem, EvalError, Request as EvalRequest};

use super::access::{header_environment, Grant, Scope};
use super::body::{read_body, ResponseWriter};
use super::compress::compress;
use super::negotiate::{choose_encoding, Encoding};
use super::snapshot::current_revision;
use super::{parse, AppError, JSON, REVISION_HEADER};
use crate::state::AppState;
use crate::wire::response::{BatchResponse, BooleanResponse, ResponseMeta, VariantResponse};
use crate::wire::{now_rfc3339, request_id};

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
    let mut writer = ResponseWriter::new(state, size_hint);
    if serde_json::to_writer(&mut writer, body).is_err() {
        return Err(match writer.refusal {
            Some(_) => writer.error(),
            None => AppError::Internal("serializing a response failed".into()),
        });
    }
    let json = writer.written();
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
    let body = match compress(json, encoding) {
        Some(compressed) => {
            if let Some(coding) = encoding.header_value() {
                out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            }
            writer.replace_with(compressed)
        }
        None => writer.into_bytes(),
    };
    *response.body_mut() = Body::from(body);
    Ok(response)
}

/// The body is at least this large: parse and evaluate it on the blocking pool, so that no
/// request holds an async worker (health checks and push streams run there) for long.
const OFFLOAD_BYTES: usize = 64 * 1024;

/// Runs `answer` on this worker for a small body, on the blocking pool for a large one, under
/// an evaluation place (429 when all are taken).
pub(super) async fn answer_sized(
    state: &AppState,
    body_len: usize,
    answer: impl FnOnce() -> Result<Response, AppError> + Send + 'static,
) -> Result<Response, AppError> {
    let place = state.evaluation_permit()?;
    if body_len < OFFLOAD_BYTES {
        return answer();
    }
    // The place moves with the work: a client that hangs up does not free it early.
    tokio::task::spawn_blocking(move || {
        let answered = answer();
        drop(place);
        answered
    })
    .await
    .unwrap_or_else(|error| Err(AppError::Internal(error.to_string())))
}

/// Reads the body of an evaluation request, then answers it (see [`answer_sized`]).
pub(super) async fn answer_request<F>(
    state: AppState,
    request: Request,
    answer: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&AppState, &HeaderMap, Option<Grant>, &[u8], Instant) -> Result<Response, AppError>
        + Send
        + 'static,
{
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = read_body(body, &state).await?;
    let grant = Grant::of(&parts);
    let shared = state.clone();
    answer_sized(&state, bytes.len(), move || {
        answer(&shared, &parts.headers, grant, &bytes, started)
    })
    .await
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
    answer_request(
        state,
        request,
        move |state, headers, grant, bytes, started| {
            answer_one(state, headers, grant, bytes, kind, started)
        },
    )
    .await
}

fn answer_one(
    state: &AppState,
    headers: &HeaderMap,
    grant: Option<Grant>,
    bytes: &[u8],
    kind: FlagKind,
    started: Instant,
) -> Result<Response, AppError> {
    let scope = Scope::new(state, grant);
    let environment = state.environment(header_environment(headers)?)?;
    let body = parse::evaluation_request(bytes, &state.limits, &scope)?;
    let namespace = body.namespace();
    let revision = current_revision(environment, namespace)?;
    let eval_request = EvalRequest::new(&body.flag_key, &body.entity_id, &body.context);
    let request_id = request_id(&body.request_id);
    let timestamp = now_rfc3339();
    let failed = |error| eval_error(namespace, &body.flag_key, error);
    let meta = |started: Instant| ResponseMeta {
        request_id: &request_id,
        request_duration_millis: started.elapsed().as_secs_f64() * 1000.0,
        timestamp: &timestamp,
    };
    let digest = revision.digest_header().clone();
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
            json_response(state, headers, digest, &response, 512)
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
            json_response(state, headers, digest, &response, 512)
        }
    }
}

/// `POST /evaluate/v1/batch`: each request in its own namespace (`default` when unnamed).
pub async fn batch(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    answer_request(state, request, answer_batch).await
}

fn answer_batch(
    state: &AppState,
    headers: &HeaderMap,
    grant: Option<Grant>,
    bytes: &[u8],
    started: Instant,
) -> Result<Response, AppError> {
    let scope = Scope::new(state, grant);
    // Every namespace is authorized while the body is parsed, before anything is evaluated.
    let environment = state.environment(header_environment(headers)?)?;
    let body = parse::batch_request(bytes, &state.limits, &scope)?;
    // Each namespace is looked up once; its revision stays fixed for the batch. One that is not
    // served gives its requests error entries, as Flipt's batch does.
    let mut revisions = HashMap::new();
    for request in &body.requests {
        let namespace = request.namespace();
        if !revisions.contains_key(namespace) {
            let revision = match current_revision(environment, namespace) {
                Ok(revision) => Some(revision),
                Err(AppError::NotFound(_)) => None,
                Err(other) => return Err(other),
            };
            revisions.insert(namespace, revision);
        }
    }
    let items: Vec<BatchItem<'_>> = body
        .requests
        .iter()
        .map(|request| {
            let namespace = request.namespace();
            let index = revisions
                .get(namespace)
                .and_then(Option::as_ref)
                .map(|revision| &revision.index);
            let asked = EvalRequest::new(&request.flag_key, &request.entity_id, &request.context);
            evaluate_batch_item(index, namespace, &asked)
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
    // One header: the revision of the first namespace served.
    let revision = body
        .requests
        .iter()
        .find_map(|request| revisions.get(request.namespace())?.as_ref())
        .map_or(HeaderValue::from_static(""), |revision| {
            revision.digest_header().clone()
        });
    // About 350 bytes per answer, more with attachments; one growth at most.
    let size_hint = 128 + items.len() * 384;
    json_response(state, headers, revision, &response, size_hint)
}
