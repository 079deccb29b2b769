//! A counting global allocator: the process's heap allocations and bytes, live.
//!
//! The profiling story this project starts from needed pprof to see that a handler allocated a
//! compressor per response; here `/metrics` answers that question at any time, and
//! `/debug/pprof/allocs` says where (one allocation in every 512 KiB allocated, on average, has
//! its stack recorded: `profiling::sampler`). Two relaxed atomic adds and a thread-local
//! countdown per allocation are the cost.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// The system allocator, counted.
pub struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes handed back: allocated less freed is the heap in use, which RSS alone cannot tell
/// apart from what the system allocator keeps.
static FREED_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's allocations and bytes, so a span of work on one thread can be measured.
    /// Const-initialized without a destructor: reading it never allocates.
    static THREAD_TOTALS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        FREED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A realloc is charged its new size (what the allocator had to find) and frees its old.
        count(new_size);
        FREED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    ALLOCATED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    // `try_with`: the slot is gone while the thread shuts down.
    let _ = THREAD_TOTALS.try_with(|totals| {
        let (count, total) = totals.get();
        totals.set((count + 1, total + bytes as u64));
    });
    crate::profiling::sampler::maybe_sample(bytes);
}

/// Has glibc's allocator hand a freed revision's memory back to the system.
///
/// A revision's buffers (its documents, index and compressed snapshots: megabytes for a large
/// namespace) live until the next reload frees them. glibc raises its mmap threshold each time
/// such a buffer is freed, so the next revision's buffers come from its heaps instead, which
/// keep what they once held: a 1,000-flag namespace rose from 47 to 139 MiB resident over 20
/// reloads. A fixed threshold keeps large buffers mapped on their own and unmapped when freed
/// (21 to 57 MiB then; benches/README.md, "Growth", has today's figures). Requests allocate far
/// below it, so their path is unchanged. Call before the runtime's threads start.
pub fn return_freed_revisions_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's own starting threshold, pinned: setting it turns the raising off.
        const MMAP_THRESHOLD_BYTES: libc::c_int = 128 * 1024;
        // SAFETY: mallopt only sets allocator parameters; it is called before other threads run.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        }
    }
}

/// Hands the pages glibc's allocator holds free back to the system: after a reload, which
/// frees a revision's thousands of small allocations at once (a 10,000-flag namespace reloaded
/// ten times: 365 MiB resident without it, 221 MiB with it; 100 MiB of heap in use). It walks
/// the allocator's free lists, milliseconds once per reload.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory; it takes the allocator's own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// This thread's allocations and allocated bytes so far; the difference of two readings around
/// a piece of work is what that work allocated.
pub fn thread_totals() -> (u64, u64) {
    THREAD_TOTALS.try_with(Cell::get).unwrap_or((0, 0))
}

/// Allocations and allocated bytes since the process started.
pub fn totals() -> (u64, u64) {
    (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    )
}

/// Bytes of heap in use now: allocated and not yet freed.
pub fn live_bytes() -> u64 {
    // Freed is read first and the difference saturates: the counters are read one at a time.
    let freed = FREED_BYTES.load(Ordering::Relaxed);
    ALLOCATED_BYTES
        .load(Ordering::Relaxed)
        .saturating_sub(freed)
}
