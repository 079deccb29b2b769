//! Flipt v1's evaluation API: `POST /api/v1/evaluate` and `/api/v1/batch-evaluate`, and their
//! namespaced forms (`/api/v1/namespaces/{namespace}/...`). The endpoint of the load test this
//! project starts from, with Flipt v1's shapes: variant flags only, an unknown flag is a 404
//! (in a batch too, unless `excludeNotFound`), the route's namespace overrides the body's, and
//! a request in a batch may not name another namespace than the batch's.

use std::time::Instant;

use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use vexil_eval::{EvalError, Request as EvalRequest, VariantEvaluation};

use super::access::{header_environment, Grant, Scope};
use super::evaluate::{answer_request, json_response};
use super::parse::{self, EvaluationRequest};
use super::snapshot::current_revision;
use super::AppError;
use crate::state::AppState;
use crate::wire::legacy::{LegacyBatchResponse, LegacyResponse};
use crate::wire::response::ResponseMeta;
use crate::wire::{now_rfc3339, request_id};

/// `POST /api/v1/evaluate`.
pub async fn evaluate(state: State<AppState>, request: Request) -> Result<Response, AppError> {
    answer_in(state, None, request, answer_one).await
}

/// `POST /api/v1/namespaces/{namespace}/evaluate`.
pub async fn evaluate_namespaced(
    state: State<AppState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    answer_in(state, Some(namespace), request, answer_one).await
}

/// `POST /api/v1/batch-evaluate`.
pub async fn batch(state: State<AppState>, request: Request) -> Result<Response, AppError> {
    answer_in(state, None, request, answer_batch).await
}

/// `POST /api/v1/namespaces/{namespace}/batch-evaluate`.
pub async fn batch_namespaced(
    state: State<AppState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    answer_in(state, Some(namespace), request, answer_batch).await
}

/// What answers a v1 request once its body is read, given the route's namespace if it names one.
type Answer = fn(
    &AppState,
    &HeaderMap,
    Option<Grant>,
    &[u8],
    Option<&str>,
    Instant,
) -> Result<Response, AppError>;

/// Reads the body and answers it with `answer` (see `evaluate::answer_request`).
async fn answer_in(
    State(state): State<AppState>,
    route: Option<String>,
    request: Request,
    answer: Answer,
) -> Result<Response, AppError> {
    answer_request(
        state,
        request,
        move |state, headers, grant, bytes, started| {
            answer(state, headers, grant, bytes, route.as_deref(), started)
        },
    )
    .await
}

/// The namespace a v1 request is asked of: the route's when it names one (Flipt's gateway lets
/// the path override the body), else the one the body names, else `default`.
fn namespace_of<'a>(route: Option<&'a str>, named: &'a str) -> &'a str {
    match (route, named) {
        (Some(route), _) => route,
        (None, "") => "default",
        (None, named) => named,
    }
}

fn variant<'i>(
    index: &'i vexil_eval::Index,
    namespace: &str,
    request: &EvaluationRequest<'_>,
) -> Result<VariantEvaluation<'i>, AppError> {
    let asked = EvalRequest::new(&request.flag_key, &request.entity_id, &request.context);
    index.evaluate_variant(&asked).map_err(|error| match error {
        EvalError::FlagNotFound => AppError::NotFound(format!(
            "flag \"{namespace}/{}\" not found",
            request.flag_key
        )),
        EvalError::WrongFlagType { actual } => {
            AppError::BadRequest(format!("flag type {} invalid", actual.as_str()))
        }
    })
}

fn answer_one(
    state: &AppState,
    headers: &HeaderMap,
    grant: Option<Grant>,
    bytes: &[u8],
    route: Option<&str>,
    started: Instant,
) -> Result<Response, AppError> {
    let scope = Scope::new(state, grant);
    let environment = state.environment(header_environment(headers)?)?;
    let implied = Some(route.unwrap_or("default"));
    let body = parse::evaluation_request_in(bytes, &state.limits, &scope, implied)?;
    let namespace = namespace_of(route, &body.namespace_key);
    scope.check(namespace)?;
    let revision = current_revision(environment, namespace)?;
    let evaluation = variant(&revision.index, namespace, &body)?;
    let request_id = request_id(&body.request_id);
    let timestamp = now_rfc3339();
    let response = LegacyResponse {
        evaluation: &evaluation,
        namespace_key: namespace,
        entity_id: &body.entity_id,
        context: &body.context,
        meta: ResponseMeta {
            request_id: &request_id,
            request_duration_millis: started.elapsed().as_secs_f64() * 1000.0,
            timestamp: &timestamp,
        },
    };
    let digest = revision.digest_header().clone();
    json_response(state, headers, digest, &response, 512)
}

fn answer_batch(
    state: &AppState,
    headers: &HeaderMap,
    grant: Option<Grant>,
    bytes: &[u8],
    route: Option<&str>,
    started: Instant,
) -> Result<Response, AppError> {
    let scope = Scope::new(state, grant);
    // Requests naming no namespace take the batch's, which may come after them in the body:
    // checked once the batch is read, before anything is evaluated.
    let body = parse::batch_request_in(bytes, &state.limits, &scope, route)?;
    let batch_namespace = namespace_of(route, &body.namespace_key);
    scope.check(batch_namespace)?;
    let environment = state.environment(header_environment(headers)?)?;
    let revision = current_revision(environment, batch_namespace)?;
    let timestamp = now_rfc3339();
    let mut evaluations = Vec::with_capacity(body.requests.len());
    for request in &body.requests {
        let named = &*request.namespace_key;
        if !named.is_empty() && named != batch_namespace {
            return Err(AppError::BadRequest(format!(
                "namespaceKey {named:?} does not match the batch's namespace {batch_namespace:?}"
            )));
        }
        match variant(&revision.index, batch_namespace, request) {
            Ok(evaluation) => evaluations.push((request, evaluation)),
            Err(AppError::NotFound(_)) if body.exclude_not_found => {}
            Err(error) => return Err(error),
        }
    }
    let meta = ResponseMeta {
        request_id: "",
        request_duration_millis: started.elapsed().as_secs_f64() * 1000.0,
        timestamp: &timestamp,
    };
    let responses: Vec<LegacyResponse<'_>> = evaluations
        .iter()
        .map(|(request, evaluation)| LegacyResponse {
            evaluation,
            namespace_key: batch_namespace,
            entity_id: &request.entity_id,
            context: &request.context,
            meta,
        })
        .collect();
    let request_id = request_id(&body.request_id);
    let response = LegacyBatchResponse {
        request_id: &request_id,
        responses: &responses,
        request_duration_millis: started.elapsed().as_secs_f64() * 1000.0,
    };
    let size_hint = 128 + responses.len() * 384;
    let digest = revision.digest_header().clone();
    json_response(state, headers, digest, &response, size_hint)
}
