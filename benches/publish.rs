//! Publishing a namespace of 10, 100, 1,000 and 10,000 flags, as the server does on a reload:
//! what a reload of unchanged files costs (serialize and hash; the revision is kept), what a
//! changed namespace costs to publish (compile, the compiled snapshot, every encoding of both
//! documents, the read API's documents), the heap a revision holds and needs at its peak, and the
//! bytes each encoding takes.
//!
//!   cargo bench -p vexil-benches --bench publish      (`./x bench-publish`)
//!   VEXIL_BENCH_SIZES=10,100 VEXIL_BENCH_ROUNDS=3      (fewer, faster)
//!
//! Prints a Markdown table; results in benches/README.md, "Publishing".

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use vexil::catalog::{Catalog, ReloadClock};
use vexil::publish::EncodedBody;
use vexil::wire::resources::Resources;
use vexil_benches::flag_file;
use vexil_flags::{Limits, Loaded};

const NAMESPACE: &str = "bench";

/// The system allocator, with the bytes live now and the most live since the last reset: what a
/// publish holds on to, and what it needs at its peak.
struct PeakAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Whether the peak is tracked: only inside `memory_of`, so timings pay one relaxed load.
static TRACKING: AtomicBool = AtomicBool::new(false);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if TRACKING.load(Ordering::Relaxed) {
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

/// Runs `work`; returns what it left allocated and the most it had allocated at once, above
/// what was live before it, and its result.
fn memory_of<T>(work: impl FnOnce() -> T) -> (usize, usize, T) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    TRACKING.store(true, Ordering::Relaxed);
    let result = work();
    TRACKING.store(false, Ordering::Relaxed);
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    (held, peak, result)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("VEXIL_BENCH_SIZES")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![10, 100, 1000, 10_000]);
    let rounds: usize = std::env::var("VEXIL_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let limits = Limits {
        max_file_bytes: 64 << 20,
        ..Limits::default()
    };
    println!("median of {rounds} rounds; sizes as identity / gzip / br / zstd (— where not kept: not smaller than gzip)\n");
    println!("| flags | flag file | load (parse, validate) | reload, files unchanged | publish, namespace changed | of which: JSON snapshot and digest | compile | compiled snapshot | read API documents | encodings (JSON / compiled) | memory: held by the revision / peak while publishing | JSON snapshot | compiled snapshot |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut breakdown = Vec::new();
    for &count in &sizes {
        let files = [
            flag_file(NAMESPACE, count, 0),
            flag_file(NAMESPACE, count, 1),
        ];
        let load =
            |text: &str| vexil_flags::load_str_with(Path::new("features.yml"), text, &limits);
        let loaded: Vec<Loaded> = files.iter().map(|text| load(text)).collect();
        assert!(loaded.iter().all(Loaded::is_ok), "the generated files load");
        let load_time = median(rounds, || {
            std::hint::black_box(load(&files[0]));
        });

        let clock = ReloadClock::now(Duration::from_secs(1));
        let reload = |catalog: &Catalog, loaded: &Loaded| {
            catalog.reload(loaded, Path::new("."), &clock, None)
        };
        let (held, peak, first) = memory_of(|| reload(&Catalog::default(), &loaded[0]));
        let unchanged = median(rounds, || {
            let next = reload(&first, &loaded[0]);
            assert!(std::sync::Arc::ptr_eq(current(&next), current(&first)));
        });
        // Alternating between two revisions: every reload publishes anew.
        let mut catalog = first;
        let mut turn = 0;
        let changed = median(rounds, || {
            turn += 1;
            catalog = reload(&catalog, &loaded[turn % 2]);
        });

        let namespace = match &loaded[0].namespaces[NAMESPACE].result {
            Ok(namespace) => namespace,
            Err(_) => unreachable!("the generated files load"),
        };
        let snapshot = median(rounds, || {
            std::hint::black_box(vexil_eval::write_snapshot(namespace));
        });
        let compile = median(rounds, || {
            std::hint::black_box(vexil_eval::Index::compile(namespace).expect("compiles"));
        });
        let index = vexil_eval::Index::compile(namespace).expect("compiles");
        let write_compiled = median(rounds, || {
            std::hint::black_box(vexil_eval::write_compiled(&index));
        });
        let resources = median(rounds, || {
            std::hint::black_box(Resources::build(namespace, "2026-12-04T00:00:00Z"));
        });
        let revision = current(&catalog).clone();
        let held_by = |work: &dyn Fn() -> Box<dyn std::any::Any>| size(memory_of(work).0);
        breakdown.push(format!(
            "| {count} | {} | {} | {} | {} | {} |",
            size(held),
            held_by(&|| Box::new(vexil_eval::Index::compile(namespace).expect("compiles"))),
            held_by(&|| Box::new(EncodedBody::new(
                revision.documents.snapshot.identity.clone(),
                9
            ))),
            held_by(&|| Box::new(revision.documents.snapshot.identity.to_vec())),
            held_by(&|| Box::new(Resources::build(namespace, "2026-12-04T00:00:00Z"))),
        ));
        let json = revision.documents.snapshot.identity.clone();
        let compiled_bytes = revision.documents.compiled.identity.clone();
        let encode_json = median(rounds, || {
            std::hint::black_box(EncodedBody::new(json.clone(), 9));
        });
        let encode_compiled = median(rounds, || {
            std::hint::black_box(EncodedBody::new(compiled_bytes.clone(), 9));
        });
        println!(
            "| {count} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} | {} |",
            size(files[0].len()),
            ms(load_time),
            ms(unchanged),
            ms(changed),
            ms(snapshot),
            ms(compile),
            ms(write_compiled),
            ms(resources),
            ms(encode_json),
            ms(encode_compiled),
            size(held),
            size(peak),
            sizes_of(&revision.documents.snapshot),
            sizes_of(&revision.documents.compiled),
        );
    }
    println!("\nWhat a revision holds, by part (each built alone):\n");
    println!("| flags | the whole revision | index | JSON snapshot's encodings (gzip, br, zstd) | JSON snapshot | read API documents |");
    println!("|---|---|---|---|---|---|");
    for row in breakdown {
        println!("{row}");
    }
}

fn current(catalog: &Catalog) -> &std::sync::Arc<vexil::publish::Revision> {
    let entry = catalog.namespaces.get(NAMESPACE).expect("the namespace");
    entry.current.as_ref().expect("a revision")
}

/// The median duration of `rounds` runs, after one to warm up.
fn median(rounds: usize, mut run: impl FnMut()) -> Duration {
    run();
    let mut times: Vec<Duration> = (0..rounds.max(1))
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn sizes_of(body: &EncodedBody) -> String {
    let optional =
        |bytes: &Option<Bytes>| bytes.as_ref().map_or("—".to_owned(), |b| size(b.len()));
    format!(
        "{} / {} / {} / {}",
        size(body.identity.len()),
        size(body.gzip.len()),
        optional(&body.brotli),
        optional(&body.zstd)
    )
}

fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.0} µs", ms * 1000.0)
    }
}

fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.2} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} KB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}
