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
    /// The flag's key.
    pub key: Box<str>,
    pub properties: Box<[Property]>,
    pub js_names: Array,
}

/// Per flag, in snapshot order (the index's order), the properties its rules or rollouts read,
/// each once; found by position (the numeric path) or by key.
pub struct FlagProperties {
    flags: Vec<FlagReads>,
    positions: HashMap<Box<str>, usize, FxBuildHasher>,
}

impl FlagProperties {
    /// The flag with this key.
    pub fn get(&self, flag_key: &str) -> Option<&FlagReads> {
        self.positions
            .get(flag_key)
            .and_then(|&position| self.flags.get(position))
    }

    /// The flag at this position.
    pub fn at(&self, position: usize) -> Option<&FlagReads> {
        self.flags.get(position)
    }

    /// The most properties any one flag reads.
    pub fn most_read(&self) -> usize {
        self.flags
            .iter()
            .map(|flag| flag.properties.len())
            .max()
            .unwrap_or(0)
    }
}

/// Collects, for every flag, the context properties its segments' constraints read.
pub fn flag_properties(namespace: &Namespace) -> FlagProperties {
    let flags: Vec<FlagReads> = namespace
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
            FlagReads {
                key: flag.key.as_str().into(),
                properties,
                js_names,
            }
        })
        .collect();
    let positions = flags
        .iter()
        .enumerate()
        .map(|(position, flag)| (flag.key.clone(), position))
        .collect();
    FlagProperties { flags, positions }
}
