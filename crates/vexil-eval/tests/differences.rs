//! Where Vexil differs from Flipt's engine on purpose (DESIGN §3), one test each.

mod support;

use serde_json::json;
use support::*;
use vexil_eval::{read_snapshot, Index, Request};

fn single_constraint_flag(kind: &str, operator: &str, value: &str) -> vexil_eval::Index {
    let segment = segment("s", "ALL", json!([constraint(kind, "p", operator, value)]));
    index(json!([boolean_flag(
        "f",
        false,
        json!([segment_rollout("OR", json!([segment]), true)])
    )]))
}

fn enabled(index: &vexil_eval::Index, value: &str) -> bool {
    index
        .evaluate_boolean(&Request::new("f", "e", &[("p", value)]))
        .unwrap()
        .enabled
}

/// Flipt's engine parses numbers as `i32`, so `1.5` never matches there; Vexil compares `f64`.
#[test]
fn numbers_are_f64() {
    let index = single_constraint_flag("NUMBER", "gt", "1.25");
    assert!(enabled(&index, "1.5"));
    assert!(!enabled(&index, "1.25"));
    assert!(enabled(&index, "3000000000"), "beyond i32");
    let list = single_constraint_flag("NUMBER", "isoneof", "[2.5, 4]");
    assert!(enabled(&list, "2.5") && enabled(&list, "4.0") && !enabled(&list, "2"));
    // Non-finite spellings are not numbers, in context or in files.
    assert!(!enabled(
        &single_constraint_flag("NUMBER", "neq", "1"),
        "inf"
    ));
}

/// Flipt's engine accepts only full RFC 3339; Vexil also reads `YYYY-MM-DD` as midnight UTC,
/// and writes such a constraint value into snapshots in full, so Flipt's clients agree.
#[test]
fn bare_dates_are_midnight_utc() {
    let index = single_constraint_flag("DATETIME", "eq", "2024-06-01");
    assert!(enabled(&index, "2024-06-01"));
    assert!(enabled(&index, "2024-06-01T02:00:00+02:00"));
    assert!(!enabled(&index, "2024-06-01T00:00:01Z"));

    let segment = segment(
        "s",
        "ALL",
        json!([constraint("DATETIME", "p", "gt", "2025-06-01")]),
    );
    let flag = boolean_flag(
        "f",
        false,
        json!([segment_rollout("OR", json!([segment]), true)]),
    );
    let document = json!({ "namespace": { "key": "default" }, "flags": [flag] });
    let namespace = read_snapshot(document.to_string().as_bytes()).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&vexil_eval::write_snapshot(&namespace).json).unwrap();
    let value =
        &written["flags"][0]["rollouts"][0]["segment"]["segments"][0]["constraints"][0]["value"];
    assert_eq!(value, "2025-06-01T00:00:00Z");
}

/// Flipt lists matched segment keys in random order; Vexil lists them in the rule's order.
#[test]
fn segment_keys_follow_the_rule_order() {
    let segments: Vec<_> = ["zeta", "alpha", "mid"]
        .iter()
        .map(|key| segment(key, "ANY", json!([])))
        .collect();
    let index = index(json!([variant_flag(
        "f",
        true,
        json!([rule("AND", json!(segments), &[])]),
        None
    )]));
    for _ in 0..20 {
        let answer = index
            .evaluate_variant(&Request::new("f", "e", &[("a", "b")]))
            .unwrap();
        assert_eq!(
            answer.segment_keys.iter().collect::<Vec<_>>(),
            ["zeta", "alpha", "mid"]
        );
    }
}

/// Flipt keeps a malformed constraint value and never matches it; Vexil refuses it at load.
#[test]
fn malformed_constraint_values_are_rejected() {
    for (kind, operator, value, message) in [
        ("NUMBER", "lt", "ten", "\"ten\" is not a number"),
        (
            "NUMBER",
            "isoneof",
            "[1,",
            "\"[1,\" is not a list of numbers (a JSON array such as [1,2])",
        ),
        (
            "DATETIME",
            "gt",
            "last week",
            "\"last week\" is not an RFC 3339 date-time or a YYYY-MM-DD date",
        ),
        (
            "STRING",
            "isnotoneof",
            "a,b",
            "\"a,b\" is not a list of strings (a JSON array such as [\"a\",\"b\"])",
        ),
    ] {
        let segment = segment("s", "ALL", json!([constraint(kind, "p", operator, value)]));
        let flag = boolean_flag(
            "f",
            false,
            json!([segment_rollout("OR", json!([segment]), true)]),
        );
        let document = json!({ "namespace": { "key": "default" }, "flags": [flag] });
        let namespace = read_snapshot(document.to_string().as_bytes()).unwrap();
        let error = Index::compile(&namespace).unwrap_err();
        assert_eq!(error.path(), "segments[0].constraints[0]");
        assert_eq!(error.message(), message);
    }
}

/// Where a context value does not parse, the constraint is false, as in Flipt.
#[test]
fn unparseable_context_values_match_nothing() {
    for (kind, operator, value) in [
        ("NUMBER", "neq", "1"),
        ("NUMBER", "isnotoneof", "[1]"),
        ("BOOLEAN", "false", ""),
        ("DATETIME", "neq", "2024-01-01T00:00:00Z"),
    ] {
        let index = single_constraint_flag(kind, operator, value);
        assert!(!enabled(&index, "garbage"), "{kind} {operator}");
    }
    assert!(enabled(
        &single_constraint_flag("NUMBER", "present", ""),
        "garbage"
    ));
}

/// Flipt's engine reads `isoneof` string lists without unescaping, so a list with any JSON
/// escape fails to parse there and never matches; Vexil reads it as the JSON it is.
#[test]
fn string_lists_with_escapes_work() {
    let list = r#"["quote\"d","tab\there","ab"]"#;
    let one_of = single_constraint_flag("STRING", "isoneof", list);
    assert!(enabled(&one_of, "quote\"d"));
    assert!(enabled(&one_of, "tab\there"));
    assert!(enabled(&one_of, "ab"));
    assert!(!enabled(&one_of, "quote"));
    let not_one_of = single_constraint_flag("STRING", "isnotoneof", list);
    assert!(!enabled(&not_one_of, "ab"));
    assert!(enabled(&not_one_of, "abc"));
}
