//! A flag file of N flags, for the publish benchmark: the same namespace `js/namespace.mjs`
//! writes for the SDK's load benchmark (the example shop's shapes repeated: variant flags with
//! attachments and three rules over shared segments, boolean flags with a segment and a
//! threshold rollout), as JSON, which the flag loader reads as YAML.

use serde_json::{json, Value};

fn segments() -> Value {
    let constraint = |kind: &str, property: &str, operator: &str, value: &str| json!({ "type": kind, "property": property, "operator": operator, "value": value });
    json!([
        { "key": "staff", "name": "Staff", "match_type": "ANY_MATCH_TYPE", "constraints": [
            constraint("STRING_COMPARISON_TYPE", "email", "suffix", "@vexil.dev"),
            constraint("STRING_COMPARISON_TYPE", "role", "isoneof", "[\"admin\",\"support\"]"),
        ] },
        { "key": "paying", "name": "Paying", "match_type": "ALL_MATCH_TYPE", "constraints": [
            constraint("STRING_COMPARISON_TYPE", "plan", "isoneof", "[\"pro\",\"team\"]"),
            constraint("NUMBER_COMPARISON_TYPE", "seats", "gte", "3"),
        ] },
        { "key": "europe", "name": "Europe", "match_type": "ANY_MATCH_TYPE", "constraints": [
            constraint("STRING_COMPARISON_TYPE", "country", "isoneof", "[\"DE\",\"FR\",\"NL\",\"ES\",\"IT\"]"),
        ] },
        { "key": "recent", "name": "Recent", "match_type": "ALL_MATCH_TYPE", "constraints": [
            constraint("DATETIME_COMPARISON_TYPE", "signed_up_at", "gt", "2024-01-01T00:00:00Z"),
        ] },
    ])
}

fn flag(i: usize) -> Value {
    if i % 3 == 2 {
        return json!({
            "key": format!("toggle-{i}"), "name": format!("Toggle {i}"), "type": "BOOLEAN_FLAG_TYPE",
            "enabled": i % 2 == 0,
            "rollouts": [
                { "segment": { "keys": ["staff"], "value": true } },
                { "threshold": { "percentage": (i * 7) % 100, "value": true } },
            ],
        });
    }
    json!({
        "key": format!("feature-{i}"), "name": format!("Feature {i}"),
        "description": "A variant flag of the benchmark namespace.",
        "type": "VARIANT_FLAG_TYPE", "enabled": true,
        "variants": [
            { "key": "control", "default": true, "attachment": { "steps": 3 } },
            { "key": "treatment", "attachment": { "steps": 1, "layout": { "columns": 2 } } },
        ],
        "rules": [
            { "segment": { "keys": ["staff"] }, "distributions": [{ "variant": "treatment", "rollout": 100 }] },
            { "segment": { "keys": ["paying", "europe"], "operator": "AND_SEGMENT_OPERATOR" },
              "distributions": [{ "variant": "control", "rollout": 50 }, { "variant": "treatment", "rollout": 50 }] },
            { "segment": { "keys": ["recent"] },
              "distributions": [{ "variant": "treatment", "rollout": 10 }, { "variant": "control", "rollout": 90 }] },
        ],
    })
}

/// The flag file of namespace `key` with `count` flags; `salt` changes one description, so
/// two salts give two revisions of the same size.
pub fn flag_file(key: &str, count: usize, salt: usize) -> String {
    let mut flags: Vec<Value> = (0..count).map(flag).collect();
    if let Some(first) = flags.first_mut() {
        first["description"] = json!(format!("revision {salt}"));
    }
    let document = json!({
        "version": "1.4",
        "namespace": { "key": key },
        "segments": segments(),
        "flags": flags,
    });
    document.to_string()
}
