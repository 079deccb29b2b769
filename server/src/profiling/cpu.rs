//! The CPU profile: tikv's `pprof` sampler (`SIGPROF` at [`FREQUENCY`] Hz) over a span of
//! seconds, written as a pprof profile. The sampler is process-wide, so one profile runs at a
//! time; while it runs it holds its fixed table of stacks (some 70 MB: 16,384 entries of up to 128
//! frames), allocated when it starts and freed when it ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pprof::protos::Profile;

/// Samples per second: 99, not 100, so sampling does not run in step with periodic work.
const FREQUENCY: i32 = 99;

static RUNNING: AtomicBool = AtomicBool::new(false);

/// Holds the one profile slot while a profile runs.
pub struct Slot(());

impl Slot {
    /// The slot, unless a profile is running.
    pub fn take() -> Option<Slot> {
        RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Slot(()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

/// Samples the whole process for `span`, or until `stop` resolves, whichever is first.
pub async fn profile(
    _slot: &Slot,
    span: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Profile, pprof::Error> {
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY)
        // Unwinding through these from a signal handler is unsafe or useless.
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()?;
    tokio::select! {
        () = tokio::time::sleep(span) => {}
        () = stop => {}
    }
    let profile = guard.report().build()?.pprof();
    // The debug info read to name the frames is dropped again: a profile is rare, memory not.
    backtrace::clear_symbol_cache();
    profile
}
