//! The context properties each flag reads, found once per snapshot.
//!
//! Reading a JS object costs a call into JS per property, so evaluation asks the caller's context
//! only for the properties the flag's constraints name (usually one to three), however many
//! the caller passes.

use std::collections::HashMap;

use js_sys::Array;
use rustc_hash::FxBuildHasher;
use vexil_eval::model::{ConstraintType, Namespace, RolloutKind};
use wasm_bindgen::JsValue;

/// A property name.
pub struct Property {
    pub name: Box<str>,
}

/// The properties one flag reads, with the same names as a JS array for `readProperties`.
pub struct FlagReads {
    pub properties: Box<[Property]>,
    pub js_names: Array,
}

/// Per flag key, the properties its rules or rollouts read, each once.
pub type FlagProperties = HashMap<Box<str>, FlagReads, FxBuildHasher>;

/// Collects, for every flag, the context properties its segments' constraints read.
pub fn flag_properties(namespace: &Namespace) -> FlagProperties {
    namespace
        .flags
        .iter()
        .map(|flag| {
            let rule_segments = flag.rules.iter().flat_map(|rule| &rule.segment_keys);
            let rollout_segments = flag
                .rollouts
                .iter()
                .flat_map(|rollout| match &rollout.kind {
                    RolloutKind::Segment { segment_keys, .. } => segment_keys.as_slice(),
                    RolloutKind::Threshold { .. } => &[],
                });
            let mut names: Vec<&str> = Vec::new();
            for segment_key in rule_segments.chain(rollout_segments) {
                let Some(segment) = namespace.segment(segment_key) else {
                    continue;
                };
                for constraint in &segment.constraints {
                    // Entity-id constraints read the entity id, not the context.
                    let reads_context = constraint.kind != ConstraintType::EntityId;
                    if reads_context && !names.contains(&constraint.property.as_str()) {
                        names.push(&constraint.property);
                    }
                }
            }
            let js_names = Array::new();
            for name in &names {
                js_names.push(&JsValue::from_str(name));
            }
            let properties = names
                .into_iter()
                .map(|name| Property { name: name.into() })
                .collect();
            let reads = FlagReads {
                properties,
                js_names,
            };
            (flag.key.as_str().into(), reads)
        })
        .collect()
}
