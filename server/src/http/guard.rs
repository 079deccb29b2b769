//! Limits on the request head, checked before the handler runs: the target's length, the number
//! and size of headers, and a declared body larger than the limit when the client waits for
//! `100 Continue` (refused before hyper would send it). Hyper's own limits are set above these (see `listener`),
//! so these are what clients meet, with a JSON body.

use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use super::{ofrep, AppError};
use crate::metrics::Rejection;
use crate::state::{AppState, Limits};

/// The head limits, as a [`super::gate`] check: lets the request in, or answers 400 (a path
/// that is not UTF-8), 413, 414 or 431 (in OFREP's shape on OFREP routes, whose clients read
/// that).
pub fn check(state: &AppState, request: &mut Request) -> Option<Response> {
    let refused = check_head(&state.limits, request).err()?;
    state.metrics.record_rejection(Rejection::Limit);
    Some(ofrep::in_shape_of(request.uri().path(), refused).into_response())
}

/// The head's target, headers and declared body length against the limits.
pub fn check_head(limits: &Limits, request: &Request) -> Result<(), AppError> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > limits.max_uri_bytes {
        return Err(AppError::UriTooLong(format!(
            "the request target is longer than {} bytes",
            limits.max_uri_bytes
        )));
    }
    // Path parameters are text: a path whose escapes are not UTF-8 is refused here, in JSON,
    // where the router's extractor would answer in plain text. (No allocation without escapes.)
    if percent_decode_str(request.uri().path())
        .decode_utf8()
        .is_err()
    {
        return Err(AppError::BadRequest(
            "the path is not UTF-8 once percent-decoded".into(),
        ));
    }
    let headers = request.headers();
    if headers.len() > limits.max_headers {
        return Err(AppError::HeadersTooLarge(format!(
            "the request has more than {} headers",
            limits.max_headers
        )));
    }
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > limits.max_header_bytes {
        return Err(AppError::HeadersTooLarge(format!(
            "the request headers are larger than {} bytes",
            limits.max_header_bytes
        )));
    }
    // A client that asks `Expect: 100-continue` waits to be told to send: tell it no at once.
    // Others are already sending, and are refused once the limit is read (`body::read_body`):
    // closing before reading would break their pipe before they read the answer.
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if expects_continue && declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return Err(AppError::TooLarge(format!(
            "request body is larger than {} bytes",
            limits.max_body_bytes
        )));
    }
    Ok(())
}
