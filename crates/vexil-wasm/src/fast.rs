//! The numeric path: evaluations that pass no string and build no JS value in wasm.
//!
//! At load the engine describes the snapshot once (`describe()`: per flag its key, type, the
//! context properties it reads, its variants' keys and attachments, and the segment keys of each
//! rule or rollout), so the SDK holds every string a result can contain. Per evaluation, the SDK
//! writes the entity id and the values of the flag's properties into a scratch region of wasm
//! memory (where each value starts and how long it is into a small `i32` region) and calls
//! `evaluateAt(flagPosition, entityLength, valuesLength)` with integers only; the result comes back
//! as integers (the return value and four words: variant position, rule or rollout position, and
//! the 64-bit mask of the matched segments), from which the SDK builds the result object out of
//! its cached strings.
//!
//! The regions belong to the engine; JS asks where they are with `scratchLayout`, which also
//! grows the byte region when an input needs more room. Evaluating allocates nothing, so memory
//! does not grow during `evaluateAt`.

use std::cell::Cell;

use js_sys::Array;
use vexil_eval::model::{FlagKind, Namespace, RolloutKind};
use vexil_eval::{Context, Evaluation, Index, Reason, Request, SegmentKeys};
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::properties::{FlagProperties, Property};

/// Reasons by code: an evaluation's code is its reason's position here.
const REASONS: [Reason; 4] = [
    Reason::Match,
    Reason::Default,
    Reason::Unknown,
    Reason::FlagDisabled,
];

/// Words at the start of the `i32` region: variant position, rule or rollout position, and the
/// matched-segment mask's low and high halves. Two words per property follow.
const RESULT_WORDS: usize = 4;

/// Bytes of the scratch region before any input asked for more.
const INITIAL_SCRATCH_BYTES: usize = 1024;

/// What `evaluateAt` returns when it cannot answer (no snapshot, no such flag, bad input); the
/// caller then takes the string path, which throws the usual errors.
const NOT_EVALUATED: i32 = -1;

/// The regions JS writes inputs into and reads results from.
#[derive(Default)]
pub struct Scratch {
    /// The entity id's UTF-8 bytes, then each present property's value, back to back.
    bytes: Vec<u8>,
    /// [`RESULT_WORDS`] result words, then per property where its value starts (in bytes, from
    /// the first value) and its length, -1 when the context does not carry it.
    words: Vec<i32>,
}

#[wasm_bindgen]
impl Engine {
    /// The loaded snapshot (an empty array before a load): `[reasons, flags]`, each flag being
    /// `[key, type, properties, variants, groups]`, flags in snapshot order (their positions for
    /// `evaluateAt`), `variants` as `[key, attachment]` pairs, `groups` the segment keys of each
    /// rule of a variant flag or each rollout of a boolean flag (none for a threshold rollout).
    /// Reasons are in the order of their codes.
    pub fn describe(&self) -> Array {
        self.loaded
            .as_ref()
            .map(|loaded| loaded.description.clone())
            .unwrap_or_default()
    }

    /// Where the scratch regions are, making the byte region at least `min_bytes` long (and the
    /// word region long enough for the loaded snapshot): `[bytes address, bytes length, words
    /// address, words length]`. Growing may move the regions, and may grow wasm memory.
    #[wasm_bindgen(js_name = scratchLayout)]
    pub fn scratch_layout(&mut self, min_bytes: u32) -> Vec<u32> {
        let scratch = &mut self.scratch;
        let min_bytes = usize::try_from(min_bytes).unwrap_or(usize::MAX);
        if scratch.bytes.len() < min_bytes.max(INITIAL_SCRATCH_BYTES) {
            let length = min_bytes
                .max(scratch.bytes.len() * 2)
                .max(INITIAL_SCRATCH_BYTES);
            scratch.bytes.resize(length, 0);
        }
        let most_read = self
            .loaded
            .as_ref()
            .map_or(0, |loaded| loaded.properties.most_read());
        if scratch.words.len() < RESULT_WORDS + 2 * most_read {
            scratch.words.resize(RESULT_WORDS + 2 * most_read, 0);
        }
        // Addresses and lengths fit in 32 bits: wasm32 memory does.
        vec![
            scratch.bytes.as_ptr() as u32,
            scratch.bytes.len() as u32,
            scratch.words.as_ptr() as u32,
            scratch.words.len() as u32,
        ]
    }

    /// Evaluates the flag at `flag_position`, by its own type, for the entity id in the first
    /// `entity_length` scratch bytes and the `values_length` bytes of property values after it.
    /// Returns `matched` (or `enabled`) in bit 0 and the reason's code above it, and writes the
    /// result words; or -1 when it cannot evaluate.
    #[wasm_bindgen(js_name = evaluateAt)]
    pub fn evaluate_at(
        &mut self,
        flag_position: u32,
        entity_length: u32,
        values_length: u32,
    ) -> i32 {
        let Some(loaded) = &self.loaded else {
            return NOT_EVALUATED;
        };
        let flag_position = usize::try_from(flag_position).unwrap_or(usize::MAX);
        let entity_length = usize::try_from(entity_length).unwrap_or(usize::MAX);
        let values_length = usize::try_from(values_length).unwrap_or(usize::MAX);
        let Some(reads) = loaded.properties.at(flag_position) else {
            return NOT_EVALUATED;
        };
        let scratch = &mut self.scratch;
        let ranges_end = RESULT_WORDS + 2 * reads.properties.len();
        // The inputs are checked as UTF-8 once, here, rather than at each property read.
        let (Some(ranges), Some(text)) = (
            scratch.words.get(RESULT_WORDS..ranges_end),
            entity_length
                .checked_add(values_length)
                .and_then(|end| scratch.bytes.get(..end))
                .and_then(|input| std::str::from_utf8(input).ok()),
        ) else {
            return NOT_EVALUATED;
        };
        let (Some(entity_id), Some(values)) =
            (text.get(..entity_length), text.get(entity_length..))
        else {
            return NOT_EVALUATED;
        };
        let context = ScratchContext {
            properties: &reads.properties,
            ranges,
            values,
            next: Cell::new(0),
        };
        let request = Request::new(&reads.key, entity_id, &context);
        let Ok(evaluation) = loaded.index.evaluate(&request) else {
            return NOT_EVALUATED;
        };
        let (answer, reason, variant, group, segment_keys) = match evaluation {
            Evaluation::Variant(evaluation) => {
                let variants = loaded.index.variants(flag_position);
                let variant = evaluation.variant.and_then(|chosen| {
                    variants
                        .iter()
                        .position(|variant| std::ptr::eq(variant, chosen))
                });
                let (matched, rule) = (evaluation.matched, evaluation.rule);
                (
                    matched,
                    evaluation.reason,
                    variant,
                    rule,
                    evaluation.segment_keys,
                )
            }
            Evaluation::Boolean(evaluation) => {
                let (enabled, rollout) = (evaluation.enabled, evaluation.rollout);
                (
                    enabled,
                    evaluation.reason,
                    None,
                    rollout,
                    evaluation.segment_keys,
                )
            }
        };
        let result = [
            position_word(variant),
            position_word(group),
            mask_word(&segment_keys, 0),
            mask_word(&segment_keys, 32),
        ];
        if let Some(words) = scratch.words.get_mut(..RESULT_WORDS) {
            words.copy_from_slice(&result);
        }
        let reason = REASONS.iter().position(|&r| r == reason).unwrap_or(0) as i32;
        i32::from(answer) | reason << 1
    }
}

/// A position as a result word: -1 for none.
fn position_word(position: Option<usize>) -> i32 {
    position.map_or(-1, |position| i32::try_from(position).unwrap_or(-1))
}

/// 32 bits of the matched-segment mask, from bit `shift`.
fn mask_word(segment_keys: &SegmentKeys<'_>, shift: u32) -> i32 {
    (segment_keys.mask() >> shift) as u32 as i32
}

/// The context as JS wrote it into the scratch regions.
struct ScratchContext<'s> {
    properties: &'s [Property],
    /// Per property, where its value starts in `values` and its length in bytes (negative when
    /// absent).
    ranges: &'s [i32],
    /// The present values, back to back.
    values: &'s str,
    /// Where to start looking for the next property: constraints mostly read the properties in
    /// the order they were collected in, so the next one is usually the one after the last.
    next: Cell<usize>,
}

impl Context for ScratchContext<'_> {
    fn get(&self, property: &str) -> Option<&str> {
        let count = self.properties.len();
        let mut position = self.next.get();
        for _ in 0..count {
            if position >= count {
                position = 0;
            }
            let name = self.properties.get(position).map(|p| &*p.name);
            if name.is_some_and(|name| name == property) {
                self.next.set(position + 1);
                let start = usize::try_from(*self.ranges.get(2 * position)?).ok()?;
                let length = usize::try_from(*self.ranges.get(2 * position + 1)?).ok()?;
                return self.values.get(start..start.checked_add(length)?);
            }
            position += 1;
        }
        None
    }
}

/// The snapshot as `describe()` returns it; `properties` are those `flag_properties` found.
///
/// Arrays rather than objects or JSON: `Array.push` and JS strings are linked already.
pub fn describe_snapshot(
    namespace: &Namespace,
    index: &Index,
    properties: &FlagProperties,
) -> Array {
    let flags = Array::new();
    for (position, flag) in namespace.flags.iter().enumerate() {
        let variants = Array::new();
        for variant in index.variants(position) {
            variants.push(&strings([variant.key(), variant.attachment()]).into());
        }
        let groups = Array::new();
        let group_keys: Vec<&[String]> = match flag.kind {
            FlagKind::Variant => flag
                .rules
                .iter()
                .map(|rule| rule.segment_keys.as_slice())
                .collect(),
            FlagKind::Boolean => flag
                .rollouts
                .iter()
                .map(|rollout| match &rollout.kind {
                    RolloutKind::Segment { segment_keys, .. } => segment_keys.as_slice(),
                    RolloutKind::Threshold { .. } => &[],
                })
                .collect(),
        };
        for keys in group_keys {
            groups.push(&strings(keys.iter().map(String::as_str)).into());
        }
        let names = properties
            .at(position)
            .map(|reads| &*reads.properties)
            .unwrap_or_default();
        let entry = strings([flag.key.as_str(), flag.kind.as_str()]);
        entry.push(&strings(names.iter().map(|property| &*property.name)).into());
        entry.push(&variants.into());
        entry.push(&groups.into());
        flags.push(&entry.into());
    }
    let description = Array::new();
    description.push(&strings(REASONS.iter().map(|reason| reason.as_str())).into());
    description.push(&flags.into());
    description
}

/// A JS array of these strings.
fn strings<'t>(texts: impl IntoIterator<Item = &'t str>) -> Array {
    let array = Array::new();
    for text in texts {
        array.push(&JsValue::from_str(text));
    }
    array
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::ScratchContext;
    use crate::properties::Property;
    use vexil_eval::Context;

    #[test]
    fn scratch_values_follow_their_ranges() {
        let properties: Vec<Property> = ["plan", "seats", "gone", "region"]
            .into_iter()
            .map(|name| Property { name: name.into() })
            .collect();
        let context = ScratchContext {
            properties: &properties,
            ranges: &[0, 3, 3, 2, 0, -1, 5, 5],
            values: "pro12été",
            next: Cell::new(0),
        };
        assert_eq!(context.get("plan"), Some("pro"));
        assert_eq!(context.get("region"), Some("été"));
        // Looking again from after `region` wraps around.
        assert_eq!(context.get("seats"), Some("12"));
        assert_eq!(context.get("gone"), None);
        assert_eq!(context.get("other"), None);
        assert_eq!(context.get("plan"), Some("pro"));
        // A range past the end, or one cutting a character, reads as absent.
        let cut = ScratchContext {
            ranges: &[0, 3, 3, 40, 0, -1, 5, 1],
            ..context
        };
        assert_eq!(cut.get("seats"), None);
        assert_eq!(cut.get("region"), None);
    }
}
