//! Watches the flag directory and reloads on change, debounced.

use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use crate::state::AppState;

/// Starts watching; the returned debouncer must be kept alive for as long as watching goes on.
/// Reloads run on the debouncer's own thread, never on the async runtime.
pub fn watch(
    state: AppState,
    debounce: Duration,
) -> notify::Result<Debouncer<notify::RecommendedWatcher>> {
    let dir = state.flags_dir.clone();
    let reloader = state.clone();
    let mut debouncer = new_debouncer(debounce, move |result: DebounceEventResult| match result {
        Ok(events) if !events.is_empty() => {
            tracing::debug!(changes = events.len(), "flag files changed");
            reloader.reload();
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "watching the flag files failed"),
    })?;
    debouncer.watcher().watch(&dir, RecursiveMode::Recursive)?;
    Ok(debouncer)
}
