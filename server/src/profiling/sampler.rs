//! Sampled allocation stacks: the table `/debug/pprof/allocs` is written from.
//!
//! The counting allocator calls [`maybe_sample`] on every allocation. Like Go's runtime (the
//! allocation profile the seed story read), it samples on average one allocation per
//! [`sample_bytes`] allocated (512 KiB unless `--alloc-sample-bytes` says otherwise), at
//! exponentially distributed intervals, so every byte is equally likely to be sampled: an
//! allocation of `n` bytes is sampled with probability `1 - exp(-n / rate)`, and each sample is
//! counted as `1 / p` allocations of its size.
//! Totals are cumulative since the process started (`alloc_space`, `alloc_objects`).
//!
//! This runs inside the global allocator, so it must not allocate: stacks are walked into a
//! fixed array, kept in a fixed table behind a lock that is only ever tried (a sample that finds
//! it taken, or the table full, is counted as lost, never waited for).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Average bytes allocated between two samples unless set (Go's default `MemProfileRate`).
pub const DEFAULT_SAMPLE_BYTES: u64 = 512 * 1024;

static SAMPLE_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_SAMPLE_BYTES);

/// Sets the average bytes between two samples; 0 stops sampling.
pub fn set_sample_bytes(bytes: u64) {
    SAMPLE_BYTES.store(bytes, Ordering::Relaxed);
}

/// The average bytes between two samples (0: none are taken).
pub fn sample_bytes() -> u64 {
    SAMPLE_BYTES.load(Ordering::Relaxed)
}
/// Frames kept per stack, innermost first.
pub const MAX_DEPTH: usize = 48;
/// Distinct stacks kept; samples of further stacks are lost (and counted).
const SLOTS: usize = 4096;
/// How often a sample tries the table's lock before it is lost.
const LOCK_TRIES: usize = 64;

/// One distinct stack and what was sampled on it, scaled to estimates of the totals.
#[derive(Clone, Copy)]
pub struct StackTotals {
    pub hash: u64,
    pub depth: usize,
    pub frames: [usize; MAX_DEPTH],
    /// Estimated allocations made on this stack.
    pub objects: f64,
    /// Estimated bytes allocated on this stack.
    pub bytes: f64,
}

const EMPTY: StackTotals = StackTotals {
    hash: 0,
    depth: 0,
    frames: [0; MAX_DEPTH],
    objects: 0.0,
    bytes: 0.0,
};

struct Table {
    slots: [StackTotals; SLOTS],
    used: usize,
    lost: u64,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    slots: [EMPTY; SLOTS],
    used: 0,
    lost: 0,
});

/// Per thread: bytes left before the next sample, the interval generator's state, and whether
/// this thread is inside the sampler (its own allocations, if any, are not sampled).
#[derive(Clone, Copy)]
struct ThreadSampler {
    until_next: i64,
    rng: u64,
    busy: bool,
}

thread_local! {
    static SAMPLER: Cell<ThreadSampler> = const {
        Cell::new(ThreadSampler { until_next: -1, rng: 0, busy: false })
    };
}

/// Called by the allocator with each allocation's size.
pub fn maybe_sample(bytes: usize) {
    let rate = sample_bytes();
    if rate == 0 {
        return;
    }
    let _ = SAMPLER.try_with(|cell| {
        let mut state = cell.get();
        if state.busy {
            return;
        }
        if state.until_next < 0 {
            // A new thread: its own generator, and a first interval drawn like any other.
            state.rng = seed_for(cell as *const _ as u64);
            state.until_next = next_interval(&mut state.rng, rate);
        }
        state.until_next -= bytes as i64;
        if state.until_next >= 0 {
            cell.set(state);
            return;
        }
        state.busy = true;
        cell.set(state);
        record(bytes, rate);
        state.busy = false;
        state.until_next = next_interval(&mut state.rng, rate);
        cell.set(state);
    });
}

/// Runs `work` with this thread's sampling off: for code that holds the table.
fn unsampled<T>(work: impl FnOnce() -> T) -> T {
    let was = SAMPLER.try_with(|cell| {
        let mut state = cell.get();
        let was = state.busy;
        state.busy = true;
        cell.set(state);
        was
    });
    let result = work();
    if let Ok(was) = was {
        let _ = SAMPLER.try_with(|cell| {
            let mut state = cell.get();
            state.busy = was;
            cell.set(state);
        });
    }
    result
}

fn seed_for(address: u64) -> u64 {
    // SplitMix64 of the thread's slot address: distinct per thread, never zero after mixing.
    let mut z = address.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) | 1
}

/// An exponentially distributed interval with mean `rate` (xorshift64* uniform).
fn next_interval(rng: &mut u64, rate: u64) -> i64 {
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    let uniform = (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
    // 1 - uniform is in (0, 1]: its logarithm is finite.
    (-(1.0 - uniform).ln() * rate as f64) as i64
}

/// Walks this thread's stack and adds one sampled allocation of `bytes`, taken at an average
/// of one per `rate` bytes, to its totals.
fn record(bytes: usize, rate: u64) {
    let mut frames = [0usize; MAX_DEPTH];
    let mut depth = 0;
    // SAFETY: `trace_unsynchronized` may not run beside another unwind of the same thread, and
    // this thread is inside its allocator, not unwinding. It does not allocate.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            frames[depth] = frame.ip() as usize;
            depth += 1;
            depth < MAX_DEPTH
        });
    }
    let hash = stack_hash(&frames[..depth]);
    let probability = -(-(bytes as f64) / rate as f64).exp_m1();
    let weight = if probability > 0.0 {
        1.0 / probability
    } else {
        1.0
    };
    let Some(mut table) = try_lock() else { return };
    let table = &mut *table;
    // Open addressing over the fixed slots.
    let mut at = (hash as usize) % SLOTS;
    for _ in 0..SLOTS {
        let slot = &mut table.slots[at];
        if slot.depth == 0 {
            if table.used * 10 >= SLOTS * 9 {
                break; // nearly full: keep probes short, lose the sample
            }
            *slot = StackTotals {
                hash,
                depth: depth.max(1),
                frames,
                objects: 0.0,
                bytes: 0.0,
            };
            table.used += 1;
        }
        let slot = &mut table.slots[at];
        if slot.hash == hash && slot.frames[..slot.depth] == frames[..depth.max(1)] {
            slot.objects += weight;
            slot.bytes += weight * bytes as f64;
            return;
        }
        at = (at + 1) % SLOTS;
    }
    table.lost += 1;
}

fn try_lock() -> Option<std::sync::MutexGuard<'static, Table>> {
    for _ in 0..LOCK_TRIES {
        match TABLE.try_lock() {
            Ok(table) => return Some(table),
            // Nothing panics while holding the table: a poisoned lock still holds whole data.
            Err(std::sync::TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}

/// FNV-1a over the frame addresses.
fn stack_hash(frames: &[usize]) -> u64 {
    frames.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &frame| {
        (hash ^ frame as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every stack sampled so far, and how many samples were lost.
pub fn snapshot() -> (Vec<StackTotals>, u64) {
    // Allocated before the table is held; this thread's sampling is off while it is.
    let mut stacks = Vec::with_capacity(SLOTS);
    unsampled(|| {
        let Some(table) = try_lock() else {
            return (stacks, 0);
        };
        stacks.extend(table.slots.iter().filter(|slot| slot.depth > 0).copied());
        let lost = table.lost;
        drop(table);
        (stacks, lost)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_average_the_sampling_rate() {
        let mut rng = seed_for(42);
        let draws = 20_000;
        let total: i64 = (0..draws)
            .map(|_| next_interval(&mut rng, DEFAULT_SAMPLE_BYTES))
            .sum();
        let mean = total as f64 / draws as f64;
        let expected = DEFAULT_SAMPLE_BYTES as f64;
        assert!((mean - expected).abs() < expected * 0.05, "mean {mean}");
    }

    #[test]
    fn a_sample_lands_on_its_stack() {
        record(1000, DEFAULT_SAMPLE_BYTES);
        record(1000, DEFAULT_SAMPLE_BYTES);
        let (stacks, _) = snapshot();
        let sampled: f64 = stacks.iter().map(|stack| stack.objects).sum();
        // Two samples of 1000 bytes: each counts as ~524 allocations (1 / p).
        assert!(sampled >= 2.0 * 500.0, "estimated objects {sampled}");
        assert!(stacks.iter().all(|stack| stack.depth > 0));
    }
}
