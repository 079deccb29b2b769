//! Request bodies in, built response bodies out, each within its limits and within one memory
//! budget.
//!
//! A request body is read within the size limit and the body timeout. A response body that a
//! handler builds (evaluation answers; snapshots are shared bytes and cost nothing per
//! response) is refused past `max_response_bytes` while it is serialized. Both hold a share of
//! the buffer budget for the memory they actually use, taken as it grows (a body as its bytes
//! arrive, a response as it is written), and given back when the last of their bytes is
//! dropped: a client that declares a large body and sends nothing holds nothing, clients that
//! never read their answers cannot pin more than the budget, and the write-stall timeout (see
//! `listener`) frees what they hold.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AppError;
use crate::metrics::Rejection;
use crate::state::AppState;

/// The memory request bodies being read and built responses not yet sent may hold together, in
/// KiB.
#[derive(Debug)]
pub struct BufferBudget {
    kibibytes: Arc<Semaphore>,
}

impl BufferBudget {
    pub fn new(bytes: usize) -> BufferBudget {
        let kibibytes = (bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        BufferBudget {
            kibibytes: Arc::new(Semaphore::new(kibibytes)),
        }
    }

    /// Bytes left.
    #[cfg(test)]
    pub fn available_bytes(&self) -> usize {
        self.kibibytes.available_permits() * 1024
    }
}

/// A buffer and its share of the budget, grown together.
struct Budgeted {
    data: Vec<u8>,
    share: Option<OwnedSemaphorePermit>,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Budgeted {
    fn with_capacity(capacity: usize) -> Budgeted {
        Budgeted {
            data: Vec::with_capacity(capacity),
            share: None,
        }
    }

    /// Takes more of the budget if the buffer's capacity outgrew its share; `false` when the
    /// budget has no room.
    fn cover(&mut self, budget: &BufferBudget) -> bool {
        cover(&mut self.share, self.data.capacity(), budget)
    }

    /// The buffer as shared bytes that give the share back when the last copy is dropped.
    fn into_bytes(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

fn no_room(state: &AppState) -> AppError {
    state.metrics.record_rejection(Rejection::Busy);
    AppError::Unavailable(
        "the server holds as much buffered data as it may: retry in a moment".into(),
    )
}

/// Bytes that hold a share of the budget until the last copy of them is dropped.
struct Held {
    bytes: Bytes,
    _share: Option<OwnedSemaphorePermit>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Takes enough of the budget that `share` covers `bytes`; `false` when it has no room.
fn cover(share: &mut Option<OwnedSemaphorePermit>, bytes: usize, budget: &BufferBudget) -> bool {
    let needed = bytes.div_ceil(1024);
    let held = share.as_ref().map_or(0, |share| share.num_permits());
    if needed <= held {
        return true;
    }
    let more = u32::try_from(needed - held).unwrap_or(u32::MAX);
    match budget.kibibytes.clone().try_acquire_many_owned(more) {
        Ok(extra) => {
            match share {
                Some(share) => share.merge(extra),
                None => *share = Some(extra),
            }
            true
        }
        Err(_) => false,
    }
}

/// Gives back what `share` holds beyond `bytes`.
fn trim(share: &mut Option<OwnedSemaphorePermit>, bytes: usize) {
    let needed = bytes.div_ceil(1024);
    if let Some(held) = share.as_mut() {
        if held.num_permits() > needed {
            drop(held.split(held.num_permits() - needed));
        }
    }
}

/// Reads a request body within the size limit and the body timeout, holding its share of the
/// buffer budget (503 when the budget has no room). The chunks hyper read are kept as they are,
/// and joined only if there are several.
pub async fn read_body(mut body: Body, state: &AppState) -> Result<Bytes, AppError> {
    let limits = &state.limits;
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut length = 0;
    let mut share = None;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                // A body that broke off, or was framed wrongly.
                return Err(AppError::BadRequest(format!(
                    "the request body broke off: {error}"
                )));
            }
            Err(_) => {
                state.metrics.record_rejection(Rejection::Timeout);
                return Err(AppError::Timeout(format!(
                    "the request body did not arrive within {} ms",
                    limits.body_timeout.as_millis()
                )));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        length += data.len();
        if length > limits.max_body_bytes {
            state.metrics.record_rejection(Rejection::Limit);
            return Err(AppError::TooLarge(format!(
                "request body is larger than {} bytes",
                limits.max_body_bytes
            )));
        }
        // The chunks, and a joined copy should there be several.
        let held = if chunks.is_empty() {
            length
        } else {
            2 * length
        };
        if !cover(&mut share, held, &state.buffer_budget) {
            return Err(no_room(state));
        }
        chunks.push(data);
    }
    let bytes = match chunks.len() {
        0 => return Ok(Bytes::new()),
        1 => chunks.pop().unwrap_or_default(),
        _ => Bytes::from(chunks.concat()),
    };
    // The chunks are gone: only the joined copy stays.
    trim(&mut share, bytes.len());
    Ok(Bytes::from_owner(Held {
        bytes,
        _share: share,
    }))
}

/// Why a response could not be written.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteRefusal {
    /// Past `max_response_bytes`.
    TooLarge,
    /// The buffer budget has no room now.
    NoRoom,
}

/// A response buffer that refuses to grow past the response limit, and takes its share of the
/// buffer budget as it grows: a response too large to send, or one there is no memory for, is
/// given up while it is serialized, not after.
pub struct ResponseWriter<'s> {
    buffer: Budgeted,
    limit: usize,
    state: &'s AppState,
    pub refusal: Option<WriteRefusal>,
}

impl<'s> ResponseWriter<'s> {
    pub fn new(state: &'s AppState, size_hint: usize) -> ResponseWriter<'s> {
        let limit = state.limits.max_response_bytes;
        ResponseWriter {
            buffer: Budgeted::with_capacity(size_hint.min(limit)),
            limit,
            state,
            refusal: None,
        }
    }

    /// What was written.
    pub fn written(&self) -> &[u8] {
        &self.buffer.data
    }

    /// The error for the refusal that stopped the writer.
    pub fn error(&self) -> AppError {
        match self.refusal {
            Some(WriteRefusal::NoRoom) => no_room(self.state),
            _ => {
                self.state.metrics.record_rejection(Rejection::Limit);
                AppError::TooLarge(format!(
                    "the response would be larger than {} bytes: ask for fewer flags at once",
                    self.limit
                ))
            }
        }
    }

    /// The written bytes, holding their share.
    pub fn into_bytes(self) -> Bytes {
        self.buffer.into_bytes()
    }

    /// `data` (a compressed form of what was written) in place of it, under a share cut down
    /// to what it holds.
    pub fn replace_with(mut self, data: Vec<u8>) -> Bytes {
        trim(&mut self.buffer.share, data.capacity());
        self.buffer.data = data;
        self.buffer.into_bytes()
    }
}

impl std::io::Write for ResponseWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buffer.data.len() + data.len() > self.limit {
            self.refusal = Some(WriteRefusal::TooLarge);
            return Err(std::io::Error::other("response limit"));
        }
        self.buffer.data.extend_from_slice(data);
        if !self.buffer.cover(&self.state.buffer_budget) {
            self.refusal = Some(WriteRefusal::NoRoom);
            return Err(std::io::Error::other("buffer budget"));
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Limits;

    fn state(budget: usize, max_response: usize) -> AppState {
        AppState::for_tests_with(Limits {
            buffer_memory_bytes: budget,
            max_response_bytes: max_response,
            ..Limits::default()
        })
    }

    #[tokio::test]
    async fn a_body_in_chunks_holds_one_copy_of_itself() {
        let state = state(1 << 20, 1 << 20);
        let full = state.buffer_budget.available_bytes();
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..4)
            .map(|_| Ok(Bytes::from(vec![b'x'; 64 * 1024])))
            .collect();
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let bytes = read_body(body, &state).await.unwrap();
        assert_eq!(bytes.len(), 256 * 1024);
        assert_eq!(full - state.buffer_budget.available_bytes(), 256 * 1024);
        drop(bytes);
        assert_eq!(state.buffer_budget.available_bytes(), full);
    }

    #[test]
    fn a_response_holds_its_share_until_the_last_copy_of_its_bytes_is_dropped() {
        let state = state(1 << 20, 1 << 20);
        let budget = &state.buffer_budget;
        let full = budget.available_bytes();
        let mut writer = ResponseWriter::new(&state, 10 * 1024);
        std::io::Write::write_all(&mut writer, &[b'x'; 10 * 1024 + 1]).unwrap();
        let body = writer.into_bytes();
        let held = full - budget.available_bytes();
        assert!(held >= 11 * 1024, "{held}");
        let copy = body.clone();
        drop(body);
        assert_eq!(full - budget.available_bytes(), held);
        assert_eq!(copy.len(), 10 * 1024 + 1);
        drop(copy);
        assert_eq!(budget.available_bytes(), full);
    }

    #[test]
    fn a_response_stops_at_its_limit_and_at_the_budget() {
        let state = state(64 * 1024, 10);
        let mut writer = ResponseWriter::new(&state, 4);
        assert!(serde_json::to_writer(&mut writer, &"short").is_ok());
        let mut writer = ResponseWriter::new(&state, 4);
        assert!(serde_json::to_writer(&mut writer, &"much too long").is_err());
        assert_eq!(writer.refusal, Some(WriteRefusal::TooLarge));
        assert!(writer.written().len() <= 10);
        let state = self::state(64 * 1024, 1 << 20);
        let held = ResponseWriter::new(&state, 0);
        let mut writer = ResponseWriter::new(&state, 0);
        let big = "x".repeat(100 * 1024);
        assert!(serde_json::to_writer(&mut writer, &big).is_err());
        assert_eq!(writer.refusal, Some(WriteRefusal::NoRoom));
        drop((held, writer));
        assert_eq!(state.buffer_budget.available_bytes(), 64 * 1024);
    }
}
