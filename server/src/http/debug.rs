//! `/debug/pprof/profile?seconds=N` (CPU) and `/debug/pprof/allocs` (allocations since start),
//! admin-only, as Go's `net/http/pprof` serves them: `go tool pprof http://HOST/debug/pprof/profile`
//! works as it does against Flipt.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::AppError;
use crate::profiling;
use crate::state::AppState;

/// Go's default span.
const DEFAULT_SECONDS: u64 = 30;
/// The longest span: a profile holds its request, and the one profile slot, that long.
pub const MAX_SECONDS: u64 = 120;

/// `GET /debug/pprof/profile`: samples the process for `seconds` (default 30, at most 120); one
/// profile at a time (429 while another runs); cut short when the server shuts down.
pub async fn cpu(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match cpu_profile(&state, query.as_deref()).await {
        Ok(body) => body,
        Err(error) => error.into_response(),
    }
}

/// The same, for the metrics listener, which has no access layer.
pub async fn cpu_response(state: &AppState, query: Option<&str>) -> Response {
    match cpu_profile(state, query).await {
        Ok(body) => body,
        Err(error) => error.into_response(),
    }
}

async fn cpu_profile(state: &AppState, query: Option<&str>) -> Result<Response, AppError> {
    let seconds = seconds_of(query)?;
    let slot = profiling::cpu::Slot::take().ok_or_else(|| {
        AppError::TooManyRequests("a CPU profile is already running; one runs at a time".into())
    })?;
    let mut shutting_down = state.shutting_down.subscribe();
    let stop = async move {
        let _ = shutting_down.wait_for(|stopping| *stopping).await;
    };
    let profile = profiling::cpu::profile(&slot, Duration::from_secs(seconds), stop)
        .await
        .map_err(|error| AppError::Internal(format!("CPU profile: {error}")))?;
    Ok(profile_response(&profile))
}

/// `GET /debug/pprof/allocs`: every allocation since the process started, sampled.
pub async fn allocs() -> Response {
    profile_response(&profiling::allocs::profile())
}

fn profile_response(profile: &pprof::protos::Profile) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"profile.pb.gz\""),
            ),
        ],
        profiling::encode(profile),
    )
        .into_response()
}

/// `seconds` from the query: a whole number from 1 to [`MAX_SECONDS`].
fn seconds_of(query: Option<&str>) -> Result<u64, AppError> {
    let Some(value) = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "seconds")
        .map(|(_, value)| value)
    else {
        return Ok(DEFAULT_SECONDS);
    };
    match value.parse::<u64>() {
        Ok(seconds) if (1..=MAX_SECONDS).contains(&seconds) => Ok(seconds),
        _ => Err(AppError::BadRequest(format!(
            "seconds must be a whole number from 1 to {MAX_SECONDS}, not {value:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_bounded() {
        assert_eq!(seconds_of(None).ok(), Some(DEFAULT_SECONDS));
        assert_eq!(seconds_of(Some("debug=1")).ok(), Some(DEFAULT_SECONDS));
        assert_eq!(seconds_of(Some("seconds=5")).ok(), Some(5));
        for bad in [
            "seconds=0",
            "seconds=121",
            "seconds=-1",
            "seconds=1.5",
            "seconds=",
        ] {
            assert!(seconds_of(Some(bad)).is_err(), "{bad}");
        }
    }
}
