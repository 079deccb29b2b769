//! Push: `GET .../namespaces/{namespace}/stream`, one event per new revision.
//!
//! With `Accept: text/event-stream`, Server-Sent Events: `id: <digest>` and a small
//! `refetchEvaluation` payload; otherwise newline-delimited `{"result":<snapshot>}`. Each event
//! was encoded once when its revision was published, and every subscriber is sent the same
//! shared bytes. Streams are never compressed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use tokio::sync::watch;
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use super::snapshot::current_revision;
use super::{AppError, REVISION_HEADER};
use crate::publish::Revision;
use crate::state::{AppState, Environment};

const KEEP_ALIVE: Bytes = Bytes::from_static(b": keep-alive\n\n");
const NDJSON_KEEP_ALIVE: Bytes = Bytes::from_static(b"\n");

/// The stream's wire format.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    ServerSentEvents,
    Ndjson,
}

pub async fn stream(
    State(state): State<AppState>,
    Path((environment, namespace)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let environment = state.environment(&environment)?.clone();
    // Subscribe before reading the catalog: a reload in between then still wakes this stream
    // (a subscription made after it would count it as seen, and the client would stay stale).
    let changes = environment.changes.subscribe();
    let revision = current_revision(&environment, &namespace)?;
    let format = if headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"))
    {
        Format::ServerSentEvents
    } else {
        Format::Ndjson
    };
    // A client that reconnects having seen the current revision waits for the next; any other
    // (first connection, or an older `Last-Event-ID`) gets the current event at once.
    let last_seen = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok());
    let first = match (format, last_seen) {
        (Format::ServerSentEvents, Some(id)) if id == revision.digest() => VecDeque::new(),
        _ => event(&revision, format),
    };
    let subscription = Subscription {
        environment,
        namespace,
        changes,
        shutting_down: state.shutting_down.subscribe(),
        sent: revision.clone(),
        pending: first,
        keep_alive: interval_at(Instant::now() + state.keep_alive, state.keep_alive),
        format,
    };
    let body = stream::unfold(subscription, |mut subscription| async move {
        let chunk = subscription.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), subscription))
    });
    let content_type = match format {
        Format::ServerSentEvents => "text/event-stream",
        Format::Ndjson => "application/x-ndjson",
    };
    let mut response = Response::new(Body::from_stream(body));
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(REVISION_HEADER, revision.digest_header().clone());
    // Tells nginx-like proxies not to buffer the stream.
    out.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The chunks of one event: the SSE event as it was encoded once, or the NDJSON line around
/// the snapshot's own bytes (`{"result":` · snapshot · `}` and a newline), so a revision holds
/// its JSON once.
fn event(revision: &Revision, format: Format) -> VecDeque<Bytes> {
    let mut chunks = VecDeque::with_capacity(3);
    match format {
        Format::ServerSentEvents => chunks.push_back(revision.sse_event.clone()),
        Format::Ndjson => {
            chunks.push_back(Bytes::from_static(b"{\"result\":"));
            chunks.push_back(revision.documents.snapshot.identity.clone());
            chunks.push_back(Bytes::from_static(b"}\n"));
        }
    }
    chunks
}

/// One subscriber's position: the revision it was last sent.
struct Subscription {
    environment: Arc<Environment>,
    namespace: String,
    changes: watch::Receiver<u64>,
    shutting_down: watch::Receiver<bool>,
    sent: Arc<Revision>,
    /// What is left to write of the event being sent.
    pending: VecDeque<Bytes>,
    keep_alive: Interval,
    format: Format,
}

impl Subscription {
    /// The next chunk to write: an event, or a keep-alive; `None` ends the stream (the server is
    /// shutting down, or the namespace is gone).
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(chunk) = self.pending.pop_front() {
            return Some(chunk);
        }
        self.keep_alive
            .set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            if *self.shutting_down.borrow() {
                return None;
            }
            tokio::select! {
                _ = self.shutting_down.changed() => continue,
                changed = self.changes.changed() => {
                    changed.ok()?;
                    let catalog = self.environment.catalog.load();
                    let entry = catalog.namespaces.get(&self.namespace)?;
                    let Some(current) = &entry.current else { continue };
                    if current.digest() != self.sent.digest() {
                        self.sent = current.clone();
                        self.keep_alive.reset();
                        self.pending = event(current, self.format);
                        return self.pending.pop_front();
                    }
                }
                _ = self.keep_alive.tick() => {
                    return Some(match self.format {
                        Format::ServerSentEvents => KEEP_ALIVE,
                        Format::Ndjson => NDJSON_KEEP_ALIVE,
                    });
                }
            }
        }
    }
}
