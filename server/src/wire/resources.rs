//! Flipt's v1 read API documents (namespaces, flags, variants, rules, rollouts, segments), built
//! once per revision as JSON text, so a list request only joins the texts of its page.
//!
//! Field names and enum strings are those of Flipt's `flipt.proto` as its gateway writes them:
//! camelCase, every field present. Vexil keeps no edit history, so `createdAt` and `updatedAt`
//! are the time the revision was published. Ids are derived from positions, as in snapshots:
//! rule `<flag>/<n>`, distribution `<flag>/<n>/<m>`, rollout `<flag>/rollouts/<n>`, constraint
//! `<segment>/<n>`, variant `<flag>/<key>` (as in snapshots).

use std::collections::HashMap;

use serde_json::{json, Value};
use vexil_eval::model::{Flag, Namespace, RolloutKind, Segment};

/// One namespace's read API documents.
#[derive(Debug, Default)]
pub struct Resources {
    /// The `Namespace` message.
    pub namespace: String,
    /// `Flag` messages in file order.
    pub flags: Vec<String>,
    /// Per flag, its `Rule` messages.
    pub rules: Vec<Vec<String>>,
    /// Per flag, its `Rollout` messages.
    pub rollouts: Vec<Vec<String>>,
    /// `Segment` messages in file order.
    pub segments: Vec<String>,
    flag_positions: HashMap<String, usize>,
    segment_positions: HashMap<String, usize>,
}

impl Resources {
    /// Every document of `namespace`, dated `published` (RFC 3339).
    pub fn build(namespace: &Namespace, published: &str) -> Resources {
        let key = namespace.key.as_str();
        // Kept for the revision's life: without the spare capacity the writer grew into.
        let text = |value: Value| {
            let mut text = value.to_string();
            text.shrink_to_fit();
            text
        };
        Resources {
            namespace: text(namespace_json(namespace, published)),
            flags: namespace
                .flags
                .iter()
                .map(|flag| text(flag_json(key, flag, published)))
                .collect(),
            rules: namespace
                .flags
                .iter()
                .map(|flag| rules_json(key, flag, published).map(text).collect())
                .collect(),
            rollouts: namespace
                .flags
                .iter()
                .map(|flag| rollouts_json(key, flag, published).map(text).collect())
                .collect(),
            segments: namespace
                .segments
                .iter()
                .map(|segment| text(segment_json(key, segment, published)))
                .collect(),
            flag_positions: positions(namespace.flags.iter().map(|f| f.key.as_str())),
            segment_positions: positions(namespace.segments.iter().map(|s| s.key.as_str())),
        }
    }

    /// The position of the flag `key`.
    pub fn flag(&self, key: &str) -> Option<usize> {
        self.flag_positions.get(key).copied()
    }

    /// The position of the segment `key`.
    pub fn segment(&self, key: &str) -> Option<usize> {
        self.segment_positions.get(key).copied()
    }
}

fn positions<'a>(keys: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    keys.enumerate()
        .map(|(position, key)| (key.to_owned(), position))
        .collect()
}

fn namespace_json(namespace: &Namespace, published: &str) -> Value {
    json!({
        "key": namespace.key,
        "name": namespace.name,
        "description": namespace.description,
        // Flipt's default namespace is protected (it cannot be deleted).
        "protected": namespace.key == "default",
        "createdAt": published,
        "updatedAt": published,
    })
}

fn flag_json(namespace: &str, flag: &Flag, published: &str) -> Value {
    let variant = |variant: &vexil_eval::model::Variant| {
        json!({
            "id": format!("{}/{}", flag.key, variant.key),
            "flagKey": flag.key,
            "key": variant.key,
            "name": variant.name,
            "description": variant.description,
            "createdAt": published,
            "updatedAt": published,
            "attachment": variant.attachment.as_ref().map(Value::to_string).unwrap_or_default(),
            "namespaceKey": namespace,
        })
    };
    json!({
        "key": flag.key,
        "name": flag.name,
        "description": flag.description,
        "enabled": flag.enabled,
        "createdAt": published,
        "updatedAt": published,
        "variants": flag.variants.iter().map(variant).collect::<Vec<_>>(),
        "namespaceKey": namespace,
        "type": flag.kind.as_str(),
        "defaultVariant": flag.default_variant().map(variant),
        "metadata": flag.metadata,
    })
}

fn rules_json<'a>(
    namespace: &'a str,
    flag: &'a Flag,
    published: &'a str,
) -> impl Iterator<Item = Value> + 'a {
    flag.rules.iter().enumerate().map(move |(position, rule)| {
        let id = format!("{}/{position}", flag.key);
        let distributions: Vec<Value> = rule
            .distributions
            .iter()
            .enumerate()
            .map(|(share, distribution)| {
                json!({
                    "id": format!("{id}/{share}"),
                    "ruleId": id,
                    "variantId": format!("{}/{}", flag.key, distribution.variant_key),
                    "rollout": float32(distribution.rollout),
                    "createdAt": published,
                    "updatedAt": published,
                })
            })
            .collect();
        let (segment_key, segment_keys) = segment_fields(&rule.segment_keys);
        json!({
            "id": id,
            "flagKey": flag.key,
            "segmentKey": segment_key,
            "segmentKeys": segment_keys,
            "segmentOperator": rule.segment_operator.as_str(),
            "distributions": distributions,
            "rank": position + 1,
            "createdAt": published,
            "updatedAt": published,
            "namespaceKey": namespace,
        })
    })
}

/// A 32-bit share as protojson prints a `float`: its shortest form (33.33, not 33.3300018).
fn float32(value: f32) -> Value {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Flipt writes one segment in `segmentKey` and several in `segmentKeys`.
fn segment_fields(keys: &[String]) -> (&str, &[String]) {
    match keys {
        [only] => (only, &[]),
        several => ("", several),
    }
}

fn rollouts_json<'a>(
    namespace: &'a str,
    flag: &'a Flag,
    published: &'a str,
) -> impl Iterator<Item = Value> + 'a {
    flag.rollouts
        .iter()
        .enumerate()
        .map(move |(position, rollout)| {
            let mut body = json!({
                "id": format!("{}/rollouts/{position}", flag.key),
                "namespaceKey": namespace,
                "flagKey": flag.key,
                "rank": position + 1,
                "description": rollout.description,
                "createdAt": published,
                "updatedAt": published,
            });
            match &rollout.kind {
                RolloutKind::Threshold { percentage, value } => {
                    body["type"] = "THRESHOLD_ROLLOUT_TYPE".into();
                    let percentage = float32(*percentage);
                    body["threshold"] = json!({ "percentage": percentage, "value": value });
                }
                RolloutKind::Segment {
                    segment_keys,
                    segment_operator,
                    value,
                } => {
                    let (segment_key, segment_keys) = segment_fields(segment_keys);
                    body["type"] = "SEGMENT_ROLLOUT_TYPE".into();
                    body["segment"] = json!({
                        "segmentKey": segment_key,
                        "segmentKeys": segment_keys,
                        "segmentOperator": segment_operator.as_str(),
                        "value": value,
                    });
                }
            }
            body
        })
}

fn segment_json(namespace: &str, segment: &Segment, published: &str) -> Value {
    let constraints: Vec<Value> = segment
        .constraints
        .iter()
        .enumerate()
        .map(|(position, constraint)| {
            json!({
                "id": format!("{}/{position}", segment.key),
                "segmentKey": segment.key,
                "type": constraint.kind.file_name(),
                "property": constraint.property,
                "operator": constraint.operator.as_str(),
                "value": constraint.value,
                "createdAt": published,
                "updatedAt": published,
                "namespaceKey": namespace,
                "description": constraint.description,
            })
        })
        .collect();
    json!({
        "key": segment.key,
        "name": segment.name,
        "description": segment.description,
        "createdAt": published,
        "updatedAt": published,
        "constraints": constraints,
        "matchType": segment.match_type.file_name(),
        "namespaceKey": namespace,
    })
}
