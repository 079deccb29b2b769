//! Flipt's evaluation API: `/evaluate/v1/variant`, `/boolean` and `/batch`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use vexil_eval::model::FlagKind;
use vexil_eval::response::{
    BatchItem, BatchResponse, BooleanResponse, ResponseMeta, VariantResponse,
};
use vexil_eval::{EvalError, Request as EvalRequest};

use super::compress::compress;
use super::negotiate::{choose_encoding, Encoding};
use super::snapshot::current_revision;
use super::{AppError, JSON, REVISION_HEADER};
use crate::state::{AppState, Limits};

/// One evaluation request, as Flipt's API takes it. Strings borrow from the request body where
/// they have no escapes, so parsing a batch allocates little more than its lists.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvaluationRequest<'a> {
    #[serde(default, borrow)]
    request_id: Cow<'a, str>,
    #[serde(default, borrow)]
    namespace_key: Cow<'a, str>,
    #[serde(borrow)]
    flag_key: Cow<'a, str>,
    #[serde(default, borrow)]
    entity_id: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "context_pairs")]
    context: Pairs<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchRequest<'a> {
    #[serde(default, borrow)]
    request_id: Cow<'a, str>,
    #[serde(borrow)]
    requests: Vec<EvaluationRequest<'a>>,
}

/// Context properties in the order sent.
type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// A string that borrows from the input when it can.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// A JSON object of strings as a list of pairs (a later duplicate key replaces the earlier value,
/// as in a map); `null` is an empty context.
fn context_pairs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Pairs<'de>, D::Error> {
    struct PairsVisitor;

    impl<'de> Visitor<'de> for PairsVisitor {
        type Value = Pairs<'de>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an object of string values")
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut pairs: Self::Value = Vec::with_capacity(map.size_hint().unwrap_or(4).min(64));
            while let Some((Text(key), Text(value))) = map.next_entry()? {
                match pairs.iter_mut().find(|(known, _)| *known == key) {
                    Some(pair) => pair.1 = value,
                    None => pairs.push((key, value)),
                }
            }
            Ok(pairs)
        }
    }

    deserializer.deserialize_any(PairsVisitor)
}

impl EvaluationRequest<'_> {
    fn namespace(&self) -> &str {
        namespace_or_default(&self.namespace_key)
    }
}

fn namespace_or_default(key: &str) -> &str {
    if key.is_empty() {
        "default"
    } else {
        key
    }
}

/// Reads a request body within the size limit, once the caller has shown a valid token (when
/// tokens are on; which namespaces it covers is checked once the body names them).
pub(super) async fn read_body(
    request: Request,
    state: &AppState,
) -> Result<(HeaderMap, Bytes), AppError> {
    if let Some(auth) = &state.auth {
        auth.authenticate(request.headers())?;
    }
    let limits = &state.limits;
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, limits.max_body_bytes).await.map_err(|_| {
        AppError::TooLarge(format!(
            "request body is larger than {} bytes",
            limits.max_body_bytes
        ))
    })?;
    Ok((parts.headers, bytes))
}

/// Parses a JSON body; a malformed one is a 400 with serde's description.
pub(super) fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes)
        .map_err(|error| AppError::BadRequest(format!("invalid request body: {error}")))
}

/// Checks a flag key, entity id and context against the configured limits.
pub(super) fn check_limits<'a>(
    limits: &Limits,
    flag_key: &str,
    entity_id: &str,
    context: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> Result<(), AppError> {
    if flag_key.is_empty() {
        return Err(AppError::BadRequest("flagKey must not be empty".into()));
    }
    for (what, key) in [("flagKey", flag_key), ("entityId", entity_id)] {
        if key.len() > limits.max_key_bytes {
            return Err(AppError::BadRequest(format!(
                "{what} is longer than {} bytes",
                limits.max_key_bytes
            )));
        }
    }
    if context.len() > limits.max_context_entries {
        return Err(AppError::BadRequest(format!(
            "context has more than {} entries",
            limits.max_context_entries
        )));
    }
    for (key, value) in context {
        if key.len() > limits.max_key_bytes {
            return Err(AppError::BadRequest(format!(
                "context key is longer than {} bytes",
                limits.max_key_bytes
            )));
        }
        if value.len() > limits.max_value_bytes {
            return Err(AppError::BadRequest(format!(
                "context value of {key:?} is longer than {} bytes",
                limits.max_value_bytes
            )));
        }
    }
    Ok(())
}

fn check_request(limits: &Limits, request: &EvaluationRequest<'_>) -> Result<(), AppError> {
    let context = request.context.iter().map(|(k, v)| (&**k, &**v));
    check_limits(limits, &request.flag_key, &request.entity_id, context)
}

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
    headers: &HeaderMap,
    limits: &Limits,
    revision: HeaderValue,
    body: &impl serde::Serialize,
    size_hint: usize,
) -> Result<Response, AppError> {
    let mut json = Vec::with_capacity(size_hint);
    serde_json::to_writer(&mut json, body)
        .map_err(|error| AppError::Internal(error.to_string()))?;
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
    *response.body_mut() = Body::from(body);
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
    let (headers, bytes) = read_body(request, &state).await?;
    let body: EvaluationRequest<'_> = parse_json(&bytes)?;
    check_request(&state.limits, &body)?;
    let namespace = body.namespace();
    let revision = current_revision(&state, namespace, &headers)?;
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
            json_response(&headers, &state.limits, digest, &response, 512)
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
            json_response(&headers, &state.limits, digest, &response, 512)
        }
    }
}

/// `POST /evaluate/v1/batch`: each request in its own namespace (`default` when unnamed).
pub async fn batch(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let started = Instant::now();
    let (headers, bytes) = read_body(request, &state).await?;
    let body: BatchRequest<'_> = parse_json(&bytes)?;
    if body.requests.len() > state.limits.max_batch_requests {
        return Err(AppError::TooLarge(format!(
            "a batch holds at most {} requests, this one {}",
            state.limits.max_batch_requests,
            body.requests.len()
        )));
    }
    for request in &body.requests {
        check_request(&state.limits, request)?;
    }
    // Each namespace is looked up (and authorized) once; its revision stays fixed for the batch.
    let mut revisions = HashMap::new();
    for request in &body.requests {
        let namespace = request.namespace();
        if !revisions.contains_key(namespace) {
            revisions.insert(namespace, current_revision(&state, namespace, &headers)?);
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
        .map_or("default", EvaluationRequest::namespace);
    let revision = match revisions.get(first_namespace) {
        Some(revision) => revision.digest_header.clone(),
        None => current_revision(&state, first_namespace, &headers)?
            .digest_header
            .clone(),
    };
    // About 350 bytes per answer, more with attachments; one growth at most.
    let size_hint = 128 + items.len() * 384;
    json_response(&headers, &state.limits, revision, &response, size_hint)
}
