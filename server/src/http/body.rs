//! Request bodies in, built response bodies out, each within its limits.
//!
//! A request body is read within the size limit and the body timeout. A response body that a
//! handler builds (evaluation answers; snapshots are shared bytes and cost nothing per
//! response) is refused past `max_response_bytes` while it is serialized, and holds a share
//! of the response memory budget until the last of its bytes is written or dropped: clients
//! that never read cannot pin more memory than the budget, and the write-stall timeout (see
//! `listener`) frees what they hold.

use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AppError;
use crate::metrics::Rejection;
use crate::state::AppState;

/// Reads a request body within the size limit and the body timeout.
pub async fn read_body(body: Body, state: &AppState) -> Result<Bytes, AppError> {
    let limits = &state.limits;
    match tokio::time::timeout(limits.body_timeout, to_bytes(body, limits.max_body_bytes)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => {
            state.metrics.record_rejection(Rejection::Limit);
            Err(AppError::TooLarge(format!(
                "request body is larger than {} bytes",
                limits.max_body_bytes
            )))
        }
        Err(_) => {
            state.metrics.record_rejection(Rejection::Timeout);
            Err(AppError::Timeout(format!(
                "the request body did not arrive within {} ms",
                limits.body_timeout.as_millis()
            )))
        }
    }
}

/// The memory all built response bodies may hold at once, in KiB.
#[derive(Debug)]
pub struct ResponseBudget {
    kibibytes: Arc<Semaphore>,
}

impl ResponseBudget {
    pub fn new(bytes: usize) -> ResponseBudget {
        let kibibytes = (bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        ResponseBudget {
            kibibytes: Arc::new(Semaphore::new(kibibytes)),
        }
    }

    /// Bytes left.
    #[cfg(test)]
    pub fn available_bytes(&self) -> usize {
        self.kibibytes.available_permits() * 1024
    }
}

/// A response body's bytes and its share of the budget, given back when the bytes are freed.
struct Budgeted {
    data: Vec<u8>,
    _share: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// `data` as a body that holds its share of the response budget while it lives; 503 when the
/// budget has no room for it now.
pub fn budgeted(state: &AppState, data: Vec<u8>) -> Result<Bytes, AppError> {
    let kibibytes = u32::try_from(data.len().div_ceil(1024)).unwrap_or(u32::MAX);
    let share = state
        .response_budget
        .kibibytes
        .clone()
        .try_acquire_many_owned(kibibytes)
        .map_err(|_| {
            state.metrics.record_rejection(Rejection::Busy);
            AppError::Unavailable(
                "the server holds as many unsent responses as it may: retry in a moment".into(),
            )
        })?;
    Ok(Bytes::from_owner(Budgeted {
        data,
        _share: share,
    }))
}

/// A `Vec` writer that fails once it would pass `limit` bytes, so a response too large to send
/// is given up while it is serialized, not after.
pub struct LimitedWriter {
    pub buffer: Vec<u8>,
    limit: usize,
}

impl LimitedWriter {
    pub fn new(size_hint: usize, limit: usize) -> LimitedWriter {
        LimitedWriter {
            buffer: Vec::with_capacity(size_hint.min(limit)),
            limit,
        }
    }
}

impl std::io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len() + data.len() > self.limit {
            return Err(std::io::Error::other("response limit"));
        }
        self.buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_of_the_budget_is_held_until_the_last_copy_of_the_bytes_is_dropped() {
        let state = AppState::for_tests(None);
        let budget = &state.response_budget;
        let full = budget.available_bytes();
        let body = budgeted(&state, vec![b'x'; 10 * 1024 + 1]).unwrap();
        assert_eq!(budget.available_bytes(), full - 11 * 1024);
        let copy = body.clone();
        drop(body);
        assert_eq!(budget.available_bytes(), full - 11 * 1024);
        assert_eq!(copy.len(), 10 * 1024 + 1);
        drop(copy);
        assert_eq!(budget.available_bytes(), full);
        // More than the whole budget is refused, without waiting.
        assert!(matches!(
            budgeted(&state, vec![0; full + 1]),
            Err(AppError::Unavailable(_))
        ));
    }

    #[test]
    fn the_limited_writer_stops_at_its_limit() {
        let mut writer = LimitedWriter::new(4, 10);
        assert!(serde_json::to_writer(&mut writer, &"short").is_ok());
        let mut writer = LimitedWriter::new(4, 10);
        assert!(serde_json::to_writer(&mut writer, &"much too long").is_err());
        assert!(writer.buffer.len() <= 10);
    }
}
