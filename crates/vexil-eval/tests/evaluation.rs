//! The evaluation flows of DESIGN §3, including Flipt's known vectors.

mod support;

use serde_json::json;
use support::*;
use vexil_eval::{EvalError, Evaluation, Reason, Request};

fn fifty_fifty() -> vexil_eval::Index {
    index(json!([variant_flag(
        "foo",
        true,
        json!([rule(
            "OR",
            json!([everyone()]),
            &[("variant1", 50.0), ("variant2", 50.0)]
        )]),
        None
    )]))
}

#[test]
fn known_variant_vectors() {
    let index = fifty_fifty();
    let context: [(&str, &str); 0] = [];
    for (entity, bucket, variant) in [
        ("1", 244, "variant1"),
        ("2", 934, "variant2"),
        ("10", 54, "variant1"),
        ("01", 785, "variant2"),
    ] {
        let answer = index
            .evaluate_variant(&Request::new("foo", entity, &context))
            .unwrap();
        assert_eq!(answer.bucket, Some(bucket), "entity {entity}");
        assert_eq!(answer.variant_key(), variant, "entity {entity}");
        assert_eq!(answer.reason, Reason::Match);
        assert!(answer.matched);
        assert_eq!(answer.rule, Some(0));
        assert_eq!(answer.segment_keys.iter().collect::<Vec<_>>(), ["everyone"]);
    }
}

#[test]
fn known_threshold_vector() {
    let context: [(&str, &str); 0] = [];
    let request = Request::new("test-flag", "test-entity", &context);
    // The entity's bucket is 65: a 65% threshold excludes it, 66% takes it.
    for (percentage, enabled, reason) in
        [(65.0, false, Reason::Default), (66.0, true, Reason::Match)]
    {
        let index = index(json!([boolean_flag(
            "test-flag",
            false,
            json!([threshold(percentage, true)])
        )]));
        let answer = index.evaluate_boolean(&request).unwrap();
        assert_eq!(
            (answer.enabled, answer.reason),
            (enabled, reason),
            "{percentage}%"
        );
        assert_eq!(answer.bucket, enabled.then_some(65));
    }
}

#[test]
fn thirds_split_at_333_and_667() {
    let index = index(json!([variant_flag(
        "thirds",
        true,
        json!([rule(
            "OR",
            json!([everyone()]),
            &[("a", 33.33), ("b", 33.33), ("c", 33.34)]
        )]),
        None
    )]));
    let context: [(&str, &str); 0] = [];
    let mut seen = std::collections::BTreeMap::new();
    for n in 0..3000 {
        let entity = n.to_string();
        let answer = index
            .evaluate_variant(&Request::new("thirds", &entity, &context))
            .unwrap();
        let bucket = answer.bucket.unwrap();
        let expected = match bucket {
            0..=332 => "a",
            333..=666 => "b",
            _ => "c",
        };
        assert_eq!(answer.variant_key(), expected, "bucket {bucket}");
        *seen.entry(expected).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 3);
}

#[test]
fn disabled_variant_flag_returns_the_default_variant() {
    let index = index(json!([variant_flag(
        "off",
        false,
        json!([rule("OR", json!([everyone()]), &[("on", 100.0)])]),
        Some(("fallback", "{\"x\":1}"))
    )]));
    let answer = index
        .evaluate_variant(&Request::new("off", "u", &[("a", "b")]))
        .unwrap();
    assert!(!answer.matched);
    assert_eq!(answer.reason, Reason::FlagDisabled);
    assert_eq!(answer.variant_key(), "fallback");
    assert_eq!(answer.variant_attachment(), "{\"x\":1}");
    assert!(answer.segment_keys.is_empty());
}

#[test]
fn no_matching_rule_gives_default_or_unknown() {
    let pro = segment(
        "pro",
        "ALL",
        json!([constraint("STRING", "plan", "eq", "pro")]),
    );
    let rules = json!([rule("OR", json!([pro]), &[("on", 100.0)])]);
    let index = index(json!([
        variant_flag("with-default", true, rules.clone(), Some(("off", ""))),
        variant_flag("without-default", true, rules, None),
    ]));
    let context = [("plan", "free")];
    let with = index
        .evaluate_variant(&Request::new("with-default", "u", &context))
        .unwrap();
    assert_eq!(
        (with.matched, with.reason, with.variant_key()),
        (false, Reason::Default, "off")
    );
    let without = index
        .evaluate_variant(&Request::new("without-default", "u", &context))
        .unwrap();
    assert_eq!(
        (without.matched, without.reason, without.variant_key()),
        (false, Reason::Unknown, "")
    );
}

#[test]
fn matched_rule_without_distributions_matches_with_the_default_variant() {
    let index = index(json!([variant_flag(
        "bare",
        true,
        json!([rule("OR", json!([everyone()]), &[("a", 0.0)])]),
        Some(("d", "\"text\""))
    )]));
    let answer = index
        .evaluate_variant(&Request::new("bare", "u", &[("k", "v")]))
        .unwrap();
    assert_eq!((answer.matched, answer.reason), (true, Reason::Match));
    assert_eq!(
        (answer.variant_key(), answer.variant_attachment()),
        ("d", "\"text\"")
    );
    assert_eq!(answer.bucket, None);
}

#[test]
fn and_needs_every_segment_or_needs_one() {
    let eu = segment(
        "eu",
        "ALL",
        json!([constraint("STRING", "region", "eq", "eu")]),
    );
    let pro = segment(
        "pro",
        "ANY",
        json!([constraint("STRING", "plan", "eq", "pro")]),
    );
    let index = index(json!([
        variant_flag(
            "and",
            true,
            json!([rule("AND", json!([eu, pro]), &[("v", 100.0)])]),
            None
        ),
        variant_flag(
            "or",
            true,
            json!([rule("OR", json!([eu, pro]), &[("v", 100.0)])]),
            None
        ),
    ]));
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Pairs, bool, &[&str]); 4] = [
        (&[("region", "eu"), ("plan", "pro")], true, &["eu", "pro"]),
        (&[("region", "eu")], false, &["eu"]),
        (&[("plan", "pro")], false, &["pro"]),
        (&[], false, &[]),
    ];
    for (context, and_matches, or_keys) in cases {
        let and = index
            .evaluate_variant(&Request::new("and", "u", &context))
            .unwrap();
        assert_eq!(and.matched, and_matches, "{context:?}");
        let or = index
            .evaluate_variant(&Request::new("or", "u", &context))
            .unwrap();
        assert_eq!(or.matched, !or_keys.is_empty(), "{context:?}");
        assert_eq!(
            or.segment_keys.iter().collect::<Vec<_>>(),
            or_keys,
            "{context:?}"
        );
    }
}

#[test]
fn all_and_any_segments() {
    let constraints = json!([
        constraint("STRING", "a", "eq", "1"),
        constraint("STRING", "b", "eq", "2"),
    ]);
    let index = index(json!([
        boolean_flag(
            "all",
            false,
            json!([segment_rollout(
                "OR",
                json!([segment("s", "ALL", constraints.clone())]),
                true
            )])
        ),
        boolean_flag(
            "any",
            false,
            json!([segment_rollout(
                "OR",
                json!([segment("t", "ANY", constraints)]),
                true
            )])
        ),
        boolean_flag(
            "any-empty",
            false,
            json!([segment_rollout(
                "OR",
                json!([segment("u", "ANY", json!([]))]),
                true
            )])
        ),
    ]));
    let enabled = |flag: &str, context: &[(&str, &str)]| {
        index
            .evaluate_boolean(&Request::new(flag, "e", &context))
            .unwrap()
            .enabled
    };
    assert!(enabled("all", &[("a", "1"), ("b", "2")]));
    assert!(!enabled("all", &[("a", "1")]));
    assert!(enabled("any", &[("b", "2")]));
    assert!(!enabled("any", &[("a", "x")]));
    assert!(enabled("any-empty", &[]));
}

#[test]
fn boolean_rollouts_apply_even_when_disabled_and_fall_back_to_enabled() {
    let beta = segment(
        "beta",
        "ALL",
        json!([constraint("BOOLEAN", "beta", "true", "")]),
    );
    let index = index(json!([
        boolean_flag(
            "off",
            false,
            json!([segment_rollout("OR", json!([beta.clone()]), true)])
        ),
        boolean_flag(
            "on",
            true,
            json!([segment_rollout("OR", json!([beta]), false)])
        ),
    ]));
    let beta_user = [("beta", "true")];
    let off = index
        .evaluate_boolean(&Request::new("off", "u", &beta_user))
        .unwrap();
    assert_eq!(
        (off.enabled, off.reason, off.rollout),
        (true, Reason::Match, Some(0))
    );
    assert_eq!(off.segment_keys.iter().collect::<Vec<_>>(), ["beta"]);
    let others: [(&str, &str); 0] = [];
    let on = index
        .evaluate_boolean(&Request::new("on", "u", &others))
        .unwrap();
    assert_eq!(
        (on.enabled, on.reason, on.rollout),
        (true, Reason::Default, None)
    );
}

#[test]
fn entity_id_constraints_read_the_entity() {
    let staff = segment(
        "staff",
        "ALL",
        json!([constraint("ENTITY_ID", "", "suffix", "@vexil.dev")]),
    );
    let index = index(json!([boolean_flag(
        "f",
        false,
        json!([segment_rollout("OR", json!([staff]), true)])
    )]));
    let context = [("entityId", "x@vexil.dev")];
    assert!(
        index
            .evaluate_boolean(&Request::new(
                "f",
                "ann@vexil.dev",
                &Vec::<(String, String)>::new()
            ))
            .unwrap()
            .enabled
    );
    assert!(
        !index
            .evaluate_boolean(&Request::new("f", "ann@example.com", &context))
            .unwrap()
            .enabled
    );
}

#[test]
fn unknown_flags_and_wrong_types_are_errors() {
    let index = index(json!([
        boolean_flag("b", true, json!([])),
        variant_flag("v", true, json!([]), None),
    ]));
    let context: [(&str, &str); 0] = [];
    let request = |flag| Request::new(flag, "u", &context);
    assert_eq!(
        index.evaluate(&request("nope")).unwrap_err(),
        EvalError::FlagNotFound
    );
    assert_eq!(
        index.evaluate_variant(&request("b")).unwrap_err(),
        EvalError::WrongFlagType {
            actual: vexil_eval::model::FlagKind::Boolean
        }
    );
    assert!(index.evaluate_boolean(&request("v")).is_err());
    assert!(matches!(
        index.evaluate(&request("b")),
        Ok(Evaluation::Boolean(_))
    ));
    assert!(matches!(
        index.evaluate(&request("v")),
        Ok(Evaluation::Variant(_))
    ));
}

/// Flipt's vectors for a share that rounds to nothing: it still takes one bucket.
#[test]
fn tiny_shares_take_one_bucket_as_in_flipt() {
    let split = |key: &str, shares: &[(&str, f32)]| {
        variant_flag(
            key,
            true,
            json!([rule("OR", json!([everyone()]), shares)]),
            None,
        )
    };
    let index = index(json!([
        split("foo", &[("v0", 50.0), ("v1", 0.01), ("v2", 49.99)]),
        split("bar", &[("v0", 99.99), ("v1", 0.01)]),
        split(
            "baz",
            &[("v0", 50.0), ("v1", 0.01), ("v2", 0.01), ("v3", 49.98)]
        ),
    ]));
    let no_context: [(&str, &str); 0] = [];
    for (flag, entity, bucket, variant) in [
        ("foo", "2325", 499, "v1"),
        ("foo", "2012", 498, "v0"),
        ("bar", "608", 999, "v1"),
        ("baz", "500", 499, "v2"),
    ] {
        let answer = index
            .evaluate_variant(&Request::new(flag, entity, &no_context))
            .unwrap();
        assert_eq!(
            (answer.bucket, answer.variant_key()),
            (Some(bucket), variant),
            "{flag} {entity}"
        );
    }
}
