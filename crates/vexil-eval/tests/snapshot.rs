//! Snapshot JSON: deterministic bytes, a digest of them, and a faithful round trip.

mod support;

use std::collections::BTreeMap;

use serde_json::json;
use vexil_eval::model::*;
use vexil_eval::{read_snapshot, write_snapshot, Evaluation, Index, Request};

fn sample() -> Namespace {
    let segment = Segment {
        key: "pro".into(),
        name: "Pro users".into(),
        description: String::new(),
        match_type: MatchType::Any,
        constraints: vec![Constraint {
            kind: ConstraintType::String,
            property: "plan".into(),
            operator: Operator::IsOneOf,
            value: "[\"pro\",\"team\"]".into(),
            description: String::new(),
        }],
    };
    let variant = |key: &str, attachment, default| Variant {
        key: key.into(),
        name: key.into(),
        description: String::new(),
        attachment,
        default,
    };
    Namespace {
        key: "default".into(),
        name: "Default".into(),
        description: String::new(),
        segments: vec![segment],
        flags: vec![
            Flag {
                key: "checkout".into(),
                name: "Checkout".into(),
                description: "New checkout".into(),
                enabled: true,
                kind: FlagKind::Variant,
                metadata: BTreeMap::new(),
                variants: vec![
                    variant("blue", Some(json!({"z": 1, "a": [true, null]})), false),
                    variant("green", None, true),
                ],
                rules: vec![Rule {
                    segment_keys: vec!["pro".into()],
                    segment_operator: SegmentOperator::Or,
                    distributions: vec![
                        Distribution {
                            variant_key: "blue".into(),
                            rollout: 33.33,
                        },
                        Distribution {
                            variant_key: "green".into(),
                            rollout: 66.67,
                        },
                    ],
                }],
                rollouts: vec![],
            },
            Flag {
                key: "dark-mode".into(),
                name: "Dark mode".into(),
                description: String::new(),
                enabled: false,
                kind: FlagKind::Boolean,
                metadata: BTreeMap::new(),
                variants: vec![],
                rules: vec![],
                rollouts: vec![
                    Rollout {
                        description: String::new(),
                        kind: RolloutKind::Segment {
                            segment_keys: vec!["pro".into()],
                            segment_operator: SegmentOperator::And,
                            value: true,
                        },
                    },
                    Rollout {
                        description: String::new(),
                        kind: RolloutKind::Threshold {
                            percentage: 12.5,
                            value: true,
                        },
                    },
                ],
            },
        ],
    }
}

#[test]
fn same_namespace_same_bytes_and_digest() {
    let first = write_snapshot(&sample());
    let second = write_snapshot(&sample().clone());
    assert_eq!(first, second);
    assert_eq!(first.digest.len(), 64);
    assert!(first
        .digest
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
}

#[test]
fn digest_is_sha256_of_the_json_without_the_digest_field() {
    use sha2::{Digest, Sha256};
    let snapshot = write_snapshot(&sample());
    let suffix = format!(",\"digest\":\"{}\"}}", snapshot.digest);
    let without = format!(
        "{}}}",
        snapshot.json.strip_suffix(&suffix).expect("digest is last")
    );
    let expected: String = Sha256::digest(without.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(snapshot.digest, expected);
    // And the digest changes with the content.
    let mut changed = sample();
    changed.flags[1].enabled = true;
    assert_ne!(write_snapshot(&changed).digest, snapshot.digest);
}

#[test]
fn shape_is_flipts() {
    let snapshot = write_snapshot(&sample());
    let value: serde_json::Value = serde_json::from_str(&snapshot.json).unwrap();
    assert_eq!(value["namespace"], json!({"key": "default"}));
    let checkout = &value["flags"][0];
    assert_eq!(checkout["type"], "VARIANT_FLAG_TYPE");
    assert_eq!(checkout["rules"][0]["id"], "checkout/0");
    assert_eq!(checkout["rules"][0]["rank"], 1);
    assert_eq!(
        checkout["rules"][0]["segments"][0]["matchType"],
        "ANY_SEGMENT_MATCH_TYPE"
    );
    assert_eq!(
        checkout["rules"][0]["segments"][0]["constraints"][0],
        json!({"type": "STRING_CONSTRAINT_COMPARISON_TYPE", "property": "plan",
               "operator": "isoneof", "value": "[\"pro\",\"team\"]"})
    );
    assert_eq!(
        checkout["rules"][0]["distributions"][0],
        json!({"ruleId": "checkout/0", "variantKey": "blue",
               "variantAttachment": "{\"a\":[true,null],\"z\":1}", "rollout": 33.33})
    );
    assert_eq!(
        checkout["defaultVariant"],
        json!({"id": "checkout/green", "key": "green", "attachment": ""})
    );
    let dark = &value["flags"][1];
    assert_eq!(dark["defaultVariant"], serde_json::Value::Null);
    assert_eq!(
        dark["rollouts"][1],
        json!({"type": "THRESHOLD_ROLLOUT_TYPE", "rank": 2, "threshold": {"percentage": 12.5, "value": true}})
    );
    assert_eq!(
        dark["rollouts"][0]["segment"]["segmentOperator"],
        "AND_SEGMENT_OPERATOR"
    );
    assert_eq!(value["digest"], snapshot.digest.as_str());
}

/// What a client sees of an evaluation.
fn observable(index: &Index, request: &Request<'_>) -> String {
    match index.evaluate(request) {
        Ok(Evaluation::Variant(v)) => format!(
            "{} {:?} {} {} {:?} {:?}",
            v.matched,
            v.reason,
            v.variant_key(),
            v.variant_attachment(),
            v.segment_keys.iter().collect::<Vec<_>>(),
            v.bucket
        ),
        Ok(Evaluation::Boolean(b)) => format!(
            "{} {:?} {:?} {:?}",
            b.enabled,
            b.reason,
            b.segment_keys.iter().collect::<Vec<_>>(),
            b.bucket
        ),
        Err(error) => error.to_string(),
    }
}

#[test]
fn read_back_evaluates_the_same_and_writes_the_same_bytes() {
    let original = sample();
    let snapshot = write_snapshot(&original);
    let read = read_snapshot(snapshot.json.as_bytes()).unwrap();
    let (a, b) = (
        Index::compile(&original).unwrap(),
        Index::compile(&read).unwrap(),
    );
    for n in 0..500 {
        let entity = format!("user-{n}");
        for plan in ["pro", "free"] {
            let context = [("plan", plan)];
            for flag in ["checkout", "dark-mode"] {
                let request = Request::new(flag, &entity, &context);
                assert_eq!(observable(&a, &request), observable(&b, &request));
            }
        }
    }
    // What a snapshot does not carry (variant names, metadata) is the only loss; the snapshot of
    // the read-back namespace is byte-identical.
    assert_eq!(write_snapshot(&read).json, snapshot.json);
}

#[test]
fn malformed_snapshots_are_errors() {
    for (text, expected) in [
        (
            "{",
            "malformed snapshot: EOF while parsing an object at line 1 column 1",
        ),
        (
            r#"{"namespace":{"key":"d"},"flags":[{"key":"f","type":"OTHER"}]}"#,
            "malformed snapshot: flag \"f\": unknown flag type \"OTHER\"",
        ),
        (
            r#"{"namespace":{"key":"d"},"flags":[{"key":"f","rules":[{"segments":[{"key":"s","matchType":"ALL_SEGMENT_MATCH_TYPE","constraints":[{"type":"NUMBER_CONSTRAINT_COMPARISON_TYPE","property":"p","operator":"between","value":"1"}]}]}]}]}"#,
            "malformed snapshot: flag \"f\": segment \"s\": unknown operator \"between\"",
        ),
    ] {
        assert_eq!(
            read_snapshot(text.as_bytes()).unwrap_err().to_string(),
            expected
        );
    }
}
