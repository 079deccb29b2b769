//! What an index says a flag reads: the segment groups results are reported against, and the
//! context properties a caller must fetch. The wasm engine fetches only these from a JS object.

mod support;

use serde_json::json;
use support::*;
use vexil_eval::{read_compiled, write_compiled, Index};

fn plans_and_regions() -> Index {
    let pro = segment(
        "pro",
        "ALL",
        json!([
            constraint("STRING", "plan", "eq", "pro"),
            constraint("ENTITY_ID", "ignored", "eq", "user-1"),
        ]),
    );
    let eu = segment(
        "eu",
        "ANY",
        json!([
            constraint("STRING", "region", "eq", "eu"),
            constraint("NUMBER", "seats", "gt", "10"),
            constraint("STRING", "plan", "eq", "team"),
        ]),
    );
    index(json!([
        variant_flag(
            "checkout",
            true,
            json!([
                rule("OR", json!([eu.clone()]), &[]),
                rule("AND", json!([pro.clone(), eu.clone()]), &[]),
            ]),
            None
        ),
        boolean_flag(
            "banner",
            true,
            json!([
                threshold(10.0, true),
                segment_rollout("OR", json!([pro.clone()]), true),
            ])
        ),
        boolean_flag("plain", true, json!([])),
    ]))
}

fn groups(index: &Index, position: usize) -> Vec<Vec<&str>> {
    index
        .segment_groups(position)
        .map(|group| group.collect())
        .collect()
}

#[test]
fn groups_follow_rules_of_variant_flags_and_rollouts_of_boolean_ones() {
    let index = plans_and_regions();
    assert_eq!(groups(&index, 0), [vec!["eu"], vec!["pro", "eu"]]);
    // The threshold rollout keeps its place, with no segments.
    assert_eq!(groups(&index, 1), [vec![], vec!["pro"]]);
    assert!(groups(&index, 2).is_empty());
    assert!(groups(&index, 3).is_empty(), "no such flag");
}

#[test]
fn properties_are_each_read_once_in_order_without_entity_ids() {
    let index = plans_and_regions();
    assert_eq!(index.context_properties(0), ["region", "seats", "plan"]);
    assert_eq!(index.context_properties(1), ["plan"]);
    assert!(index.context_properties(2).is_empty());
    assert!(index.context_properties(3).is_empty());
}

#[test]
fn a_compiled_snapshot_reads_the_same() {
    let index = plans_and_regions();
    let read = read_compiled(&write_compiled(&index).bytes).expect("reads back");
    for position in 0..4 {
        assert_eq!(groups(&read, position), groups(&index, position));
        assert_eq!(
            read.context_properties(position),
            index.context_properties(position)
        );
    }
}
