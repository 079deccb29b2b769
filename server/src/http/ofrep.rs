//! OpenFeature's Remote Evaluation Protocol: `POST /ofrep/v1/evaluate/flags/{key}` and the bulk
//! `POST /ofrep/v1/evaluate/flags`.
//!
//! The namespace comes from `X-Flipt-Namespace` (default `default`). `value` is the variant key
//! of a variant flag or the boolean of a boolean flag; the attachment travels in `metadata`.
//! A context without `targetingKey` is evaluated for the entity `""`, as Flipt does: never a
//! random one, so percentage rollouts stay stable for such callers.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use vexil_eval::model::FlagKind;
use vexil_eval::{Evaluation, Index, Reason, Request as EvalRequest};

use super::access::{header_environment, header_namespace, Grant, Scope};
use super::body::read_body;
use super::evaluate::{answer_sized, json_response};
use super::negotiate::etag_matches;
use super::parse::{self, OfrepContext};
use super::snapshot::current_revision;
use super::{AppError, REVISION_HEADER};
use crate::state::AppState;

fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Match => "TARGETING_MATCH",
        Reason::Default => "DEFAULT",
        Reason::Unknown => "UNKNOWN",
        Reason::FlagDisabled => "DISABLED",
    }
}

/// One flag's OFREP success body.
fn resolution(key: &str, evaluation: &Evaluation<'_>) -> Value {
    match evaluation {
        Evaluation::Variant(answer) => {
            let mut metadata = Map::new();
            if !answer.variant_attachment().is_empty() {
                metadata.insert("attachment".into(), answer.variant_attachment().into());
            }
            if !answer.segment_keys.is_empty() {
                // OFREP metadata values are flat: the keys joined, as Flipt sends them.
                let keys: Vec<&str> = answer.segment_keys.iter().collect();
                metadata.insert("segments".into(), keys.join(",").into());
            }
            if answer.variant.is_none() {
                // No variant (no rule matched and no default, or disabled without one): OFREP's
                // code default, `value` left out so the caller's default applies. Flipt sends
                // `""` here; the spec's way is followed.
                let reason = match answer.reason {
                    Reason::FlagDisabled => "DISABLED",
                    _ => "DEFAULT",
                };
                return json!({ "key": key, "reason": reason, "metadata": metadata });
            }
            json!({
                "key": key,
                "reason": reason(answer.reason),
                "variant": answer.variant_key(),
                "value": answer.variant_key(),
                "metadata": metadata,
            })
        }
        Evaluation::Boolean(answer) => json!({
            "key": key,
            "reason": reason(answer.reason),
            "variant": if answer.enabled { "true" } else { "false" },
            "value": answer.enabled,
            "metadata": {},
        }),
    }
}

fn evaluate(index: &Index, key: &str, context: &OfrepContext) -> Option<Value> {
    let request = EvalRequest::new(key, &context.targeting_key, &context.pairs);
    index
        .evaluate(&request)
        .ok()
        .map(|evaluation| resolution(key, &evaluation))
}

/// `POST /ofrep/v1/evaluate/flags/{key}`.
pub async fn single(
    State(state): State<AppState>,
    Path(key): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    resolve_single(state, &key, request)
        .await
        .map_err(|error| error.for_ofrep(Some(&key)))
}

/// What an OFREP request brings: its headers, the namespace (`X-Flipt-Namespace`), the grant
/// the access layer gave it, and its body, read whole.
struct OfrepAsk {
    headers: HeaderMap,
    namespace: String,
    grant: Option<Grant>,
    bytes: Bytes,
}

impl OfrepAsk {
    async fn read(state: &AppState, request: Request) -> Result<OfrepAsk, AppError> {
        let (parts, body) = request.into_parts();
        let namespace = header_namespace(&parts.headers)?.to_owned();
        let bytes = read_body(body, state).await?;
        Ok(OfrepAsk {
            grant: Grant::of(&parts),
            headers: parts.headers,
            namespace,
            bytes,
        })
    }

    /// The body's context, parsed within the limits.
    fn context(&self, state: &AppState) -> Result<OfrepContext, AppError> {
        let scope = Scope::new(state, self.grant);
        parse::ofrep_request(&self.bytes, &state.limits, &scope)
    }
}

/// `POST /ofrep/v1/evaluate/flags`: every flag of the namespace, with an ETag.
pub async fn bulk(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    resolve_bulk(state, request)
        .await
        .map_err(|error| error.for_ofrep(None))
}

/// `error` in OFREP's shape when `path` is an OFREP route: OFREP providers read that shape.
pub fn in_shape_of(path: &str, error: AppError) -> AppError {
    if path.starts_with("/ofrep/") {
        error.for_ofrep(None)
    } else {
        error
    }
}

async fn resolve_single(
    state: AppState,
    key: &str,
    request: Request,
) -> Result<Response, AppError> {
    let ask = OfrepAsk::read(&state, request).await?;
    let (shared, key) = (state.clone(), key.to_owned());
    answer_sized(&state, ask.bytes.len(), move || {
        answer_single(&shared, &key, &ask)
    })
    .await
}

fn answer_single(state: &AppState, key: &str, ask: &OfrepAsk) -> Result<Response, AppError> {
    let context = &ask.context(state)?;
    let (headers, namespace) = (&ask.headers, &ask.namespace);
    if key.len() > state.limits.max_key_bytes {
        let message = format!(
            "flagKey is longer than {} bytes",
            state.limits.max_key_bytes
        );
        return Err(AppError::BadRequest(message));
    }
    let environment = state.environment(header_environment(headers)?)?;
    let revision = current_revision(environment, namespace)?;
    match evaluate(&revision.index, key, context) {
        Some(value) => json_response(
            state,
            headers,
            revision.digest_header().clone(),
            &value,
            256,
        ),
        None => Err(AppError::NotFound(format!(
            "flag {key} not found in namespace {namespace}"
        ))),
    }
}

async fn resolve_bulk(state: AppState, request: Request) -> Result<Response, AppError> {
    let ask = OfrepAsk::read(&state, request).await?;
    let shared = state.clone();
    answer_sized(&state, ask.bytes.len(), move || answer_bulk(&shared, &ask)).await
}

fn answer_bulk(state: &AppState, ask: &OfrepAsk) -> Result<Response, AppError> {
    let context = &ask.context(state)?;
    let (headers, namespace) = (&ask.headers, &ask.namespace);
    let environment = state.environment(header_environment(headers)?)?;
    let revision = current_revision(environment, namespace)?;
    // The answers depend on the context too, so the ETag names revision and context together.
    let etag = format!("\"{}-{:08x}\"", revision.digest(), context_hash(context));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| etag_matches(value, &etag[1..etag.len() - 1]))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        response
            .headers_mut()
            .insert(REVISION_HEADER, revision.digest_header().clone());
        return Ok(response);
    }
    let flags: Vec<Value> = match context.pairs.get("flags") {
        // `context.flags` (comma-separated keys) asks for those flags only, as Flipt reads it;
        // a key the namespace lacks is a failure entry.
        Some(keys) => requested_flags(keys, &state.limits)?
            .into_iter()
            .map(|key| {
                evaluate(&revision.index, &key, context).unwrap_or_else(|| {
                    json!({
                        "key": &*key,
                        "errorCode": "FLAG_NOT_FOUND",
                        "errorDetails": format!("flag {key} not found in namespace {namespace}"),
                    })
                })
            })
            .collect(),
        // As Flipt does, a disabled variant flag is left out of the bulk answer.
        None => revision
            .index
            .flags()
            .filter(|&(_, kind, enabled)| enabled || kind == FlagKind::Boolean)
            .filter_map(|(key, _, _)| evaluate(&revision.index, key, context))
            .collect(),
    };
    // Where to hear of the next revision: the namespace's push stream, whose
    // `refetchEvaluation` events OFREP's providers act on (OFREP's event streams).
    let stream = format!(
        "/client/v2/environments/{}/namespaces/{namespace}/stream",
        environment.name
    );
    let body = json!({
        "flags": flags,
        "eventStreams": [{ "type": "sse", "endpoint": { "requestUri": stream } }],
    });
    let mut response = json_response(
        state,
        headers,
        revision.digest_header().clone(),
        &body,
        160 + flags.len() * 160,
    )?;
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// The keys `context.flags` names: comma-separated text, as Flipt reads it, or a JSON list of
/// strings (which arrives here as its JSON text); at most `max_batch_requests` keys, each within
/// `max_key_bytes`.
fn requested_flags<'a>(
    keys: &'a str,
    limits: &crate::state::Limits,
) -> Result<Vec<std::borrow::Cow<'a, str>>, AppError> {
    let list: Vec<std::borrow::Cow<'a, str>> = match serde_json::from_str::<Vec<String>>(keys) {
        Ok(list) => list.into_iter().map(std::borrow::Cow::Owned).collect(),
        Err(_) => keys
            .split(',')
            .map(|key| std::borrow::Cow::Borrowed(key.trim()))
            .collect(),
    };
    let list: Vec<_> = list.into_iter().filter(|key| !key.is_empty()).collect();
    if list.len() > limits.max_batch_requests {
        return Err(AppError::BadRequest(format!(
            "context.flags names more than {} flags",
            limits.max_batch_requests
        )));
    }
    if list.iter().any(|key| key.len() > limits.max_key_bytes) {
        return Err(AppError::BadRequest(format!(
            "a key in context.flags is longer than {} bytes",
            limits.max_key_bytes
        )));
    }
    Ok(list)
}

/// A stable hash of the context, order-independent: CRC-32 over the sorted pairs.
fn context_hash(context: &OfrepContext) -> u32 {
    let mut pairs: Vec<(&String, &String)> = context.pairs.iter().collect();
    pairs.sort();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(context.targeting_key.as_bytes());
    for (key, value) in pairs {
        hasher.update(&[0]);
        hasher.update(key.as_bytes());
        hasher.update(&[0]);
        hasher.update(value.as_bytes());
    }
    hasher.finalize()
}
