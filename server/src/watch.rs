//! Watches the flag directory and reloads after changes, once things are quiet.
//!
//! Only events that change content count (create, write, rename, remove): reading the files,
//! which every reload does, raises access events on Linux, and reacting to those would reload
//! forever.

use std::sync::mpsc;
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::state::AppState;

/// Starts watching; the returned watcher must be kept alive for as long as watching goes on.
/// Reloads run on a thread of their own, never on the async runtime.
pub fn watch(state: AppState, quiet: Duration) -> notify::Result<RecommendedWatcher> {
    let (changes, changed) = mpsc::channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<Event>| match event {
            Ok(event) if changes_content(&event.kind) => {
                let _ = changes.send(());
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "watching the flag files failed"),
        })?;
    watcher.watch(&state.flags_dir, RecursiveMode::Recursive)?;
    std::thread::Builder::new()
        .name("vexil-reload".into())
        .spawn(move || {
            // Ends when the watcher, and with it the sender, is dropped.
            while changed.recv().is_ok() {
                // An editor's save is often several events: wait until they stop.
                while changed.recv_timeout(quiet).is_ok() {}
                state.reload();
            }
        })
        .map_err(|error| notify::Error::generic(&error.to_string()))?;
    Ok(watcher)
}

fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}
