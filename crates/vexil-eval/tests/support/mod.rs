//! Builders shared by the integration tests: namespaces written as compact snapshot JSON.

#![allow(dead_code)]

use serde_json::{json, Value};
use vexil_eval::{read_snapshot, Index};

/// Compiles a namespace given as a list of snapshot flags.
pub fn index(flags: Value) -> Index {
    let document = json!({ "namespace": { "key": "default" }, "flags": flags });
    let namespace = read_snapshot(document.to_string().as_bytes()).expect("valid snapshot");
    Index::compile(&namespace).expect("compiles")
}

/// A snapshot segment.
pub fn segment(key: &str, match_type: &str, constraints: Value) -> Value {
    json!({
        "key": key,
        "matchType": format!("{match_type}_SEGMENT_MATCH_TYPE"),
        "constraints": constraints,
    })
}

/// A snapshot constraint; `kind` is e.g. `STRING`.
pub fn constraint(kind: &str, property: &str, operator: &str, value: &str) -> Value {
    json!({
        "type": format!("{kind}_CONSTRAINT_COMPARISON_TYPE"),
        "property": property,
        "operator": operator,
        "value": value,
    })
}

/// A variant flag with the given rules and optional default variant `(key, attachment)`.
pub fn variant_flag(
    key: &str,
    enabled: bool,
    rules: Value,
    default: Option<(&str, &str)>,
) -> Value {
    let mut flag = json!({
        "key": key, "name": key, "enabled": enabled, "type": "VARIANT_FLAG_TYPE", "rules": rules,
    });
    if let Some((variant_key, attachment)) = default {
        flag["defaultVariant"] =
            json!({ "id": variant_key, "key": variant_key, "attachment": attachment });
    }
    flag
}

/// A rule over `segments` with `operator` (`OR`/`AND`) and `(variant, rollout)` distributions.
pub fn rule(operator: &str, segments: Value, distributions: &[(&str, f32)]) -> Value {
    let distributions: Vec<Value> = distributions
        .iter()
        .map(|(variant, rollout)| {
            json!({ "variantKey": variant, "variantAttachment": "", "rollout": rollout })
        })
        .collect();
    json!({
        "segmentOperator": format!("{operator}_SEGMENT_OPERATOR"),
        "segments": segments,
        "distributions": distributions,
    })
}

/// A boolean flag with the given rollouts.
pub fn boolean_flag(key: &str, enabled: bool, rollouts: Value) -> Value {
    json!({ "key": key, "name": key, "enabled": enabled, "type": "BOOLEAN_FLAG_TYPE", "rollouts": rollouts })
}

/// A threshold rollout.
pub fn threshold(percentage: f32, value: bool) -> Value {
    json!({ "type": "THRESHOLD_ROLLOUT_TYPE", "threshold": { "percentage": percentage, "value": value } })
}

/// A segment rollout.
pub fn segment_rollout(operator: &str, segments: Value, value: bool) -> Value {
    json!({
        "type": "SEGMENT_ROLLOUT_TYPE",
        "segment": {
            "value": value,
            "segmentOperator": format!("{operator}_SEGMENT_OPERATOR"),
            "segments": segments,
        },
    })
}

/// A segment with no constraints, which matches everyone.
pub fn everyone() -> Value {
    segment("everyone", "ALL", json!([]))
}
