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
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A growing realloc is charged its new size: what the allocator had to find.
        count(new_size);
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
