//! Evaluation performs no heap allocation: counted by a global allocator, per thread.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use serde_json::json;
use support::*;
use vexil_eval::{Index, Reason, Request};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the slot may be gone while a thread shuts down.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `work` and returns how many allocations this thread made meanwhile.
fn allocations_during(work: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

fn namespace() -> Index {
    let pro = segment(
        "pro",
        "ALL",
        json!([
            constraint("STRING", "plan", "isoneof", "[\"pro\",\"team\"]"),
            constraint("NUMBER", "seats", "gte", "5"),
            constraint("DATETIME", "signup", "lt", "2025-01-01T00:00:00Z"),
            constraint("BOOLEAN", "verified", "true", ""),
        ]),
    );
    let staff = segment(
        "staff",
        "ANY",
        json!([constraint("ENTITY_ID", "", "suffix", "@vexil.dev")]),
    );
    index(json!([
        variant_flag(
            "checkout",
            true,
            json!([rule(
                "OR",
                json!([staff.clone(), pro.clone()]),
                &[("a", 33.33), ("b", 33.33), ("c", 33.34)]
            )]),
            Some(("control", "{\"color\":\"blue\"}"))
        ),
        boolean_flag(
            "beta",
            false,
            json!([segment_rollout("AND", json!([pro]), true)])
        ),
        boolean_flag("ramp", false, json!([threshold(100.0, true)])),
    ]))
}

#[test]
fn evaluation_does_not_allocate() {
    let index = namespace();
    let pro_user = [
        ("plan", "team"),
        ("seats", "12"),
        ("signup", "2024-03-01T10:00:00+01:00"),
        ("verified", "true"),
    ];
    let free_user = [("plan", "free"), ("seats", "many")];

    let mut outcomes = Vec::with_capacity(8);
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, &str, Pairs); 5] = [
        ("variant match", "checkout", &pro_user),
        ("variant default", "checkout", &free_user),
        ("boolean segment", "beta", &pro_user),
        ("boolean threshold", "ramp", &free_user),
        ("flag not found", "missing", &free_user),
    ];
    for (name, flag_key, context) in cases {
        let mut outcome = None;
        let count = allocations_during(|| {
            let request = Request::new(flag_key, "user-42", &context);
            let result = index.evaluate(&request);
            // Reading the whole result, segment keys included, must not allocate either.
            outcome = Some(match result {
                Ok(vexil_eval::Evaluation::Variant(v)) => (
                    v.reason,
                    v.variant_key().len() + v.segment_keys.iter().count(),
                ),
                Ok(vexil_eval::Evaluation::Boolean(b)) => (
                    b.reason,
                    usize::from(b.enabled) + b.segment_keys.iter().count(),
                ),
                Err(_) => (Reason::Unknown, 0),
            });
        });
        assert_eq!(count, 0, "{name} allocated {count} times");
        outcomes.push((name, outcome));
    }
    // The cases really took the paths they are named after.
    let reasons: Vec<_> = outcomes
        .iter()
        .map(|(name, o)| (*name, o.map(|o| o.0)))
        .collect();
    assert_eq!(
        reasons,
        [
            ("variant match", Some(Reason::Match)),
            ("variant default", Some(Reason::Default)),
            ("boolean segment", Some(Reason::Match)),
            ("boolean threshold", Some(Reason::Match)),
            ("flag not found", Some(Reason::Unknown)),
        ]
    );
}

#[test]
fn the_counter_sees_allocations() {
    let count = allocations_during(|| {
        std::hint::black_box(vec![1u8; 16]);
    });
    assert_eq!(count, 1);
}
