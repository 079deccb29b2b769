//! The scratch regions: where JS writes an evaluation's inputs and reads its result.
//!
//! Per evaluation, JS writes the entity id and the values of the flag's context properties as
//! UTF-8 into the byte region, back to back, and where each value starts and how long it is into
//! the word region (after the result words); the engine answers into the result words. Nothing
//! is allocated per evaluation, so wasm memory, and the JS views of it, stay put.

use std::cell::Cell;

use vexil_eval::Context;

/// Words at the start of the word region: variant position, rule or rollout position, and the
/// matched-segment mask's low and high halves. Two words per property follow.
pub const RESULT_WORDS: usize = 4;

/// Bytes of the byte region before any input asked for more.
const INITIAL_BYTES: usize = 1024;

/// The two regions, owned by the engine.
#[derive(Default)]
pub struct Scratch {
    /// The entity id's UTF-8 bytes, then each present property's value.
    pub bytes: Vec<u8>,
    /// [`RESULT_WORDS`] result words, then per property where its value starts (in bytes, from
    /// the first value) and its length, -1 when the context does not carry it.
    pub words: Vec<i32>,
}

impl Scratch {
    /// Makes the byte region at least `min_bytes` long and the word region long enough for
    /// `most_properties`; returns `[bytes address, bytes length, words address, words length]`.
    /// Growing may move the regions, and may grow wasm memory.
    pub fn layout(&mut self, min_bytes: usize, most_properties: usize) -> Vec<u32> {
        if self.bytes.len() < min_bytes.max(INITIAL_BYTES) {
            let length = min_bytes.max(self.bytes.len() * 2).max(INITIAL_BYTES);
            self.bytes.resize(length, 0);
        }
        let words = RESULT_WORDS + 2 * most_properties;
        if self.words.len() < words {
            self.words.resize(words, 0);
        }
        // Addresses and lengths fit in 32 bits: wasm32 memory does.
        vec![
            self.bytes.as_ptr() as u32,
            self.bytes.len() as u32,
            self.words.as_ptr() as u32,
            self.words.len() as u32,
        ]
    }
}

/// The context as JS wrote it into the scratch regions.
pub struct ScratchContext<'s> {
    /// The names of the properties the flag reads, in the order JS wrote their values.
    pub properties: &'s [Box<str>],
    /// Per property, where its value starts in `values` and its length in bytes (negative when
    /// absent).
    pub ranges: &'s [i32],
    /// The present values, back to back.
    pub values: &'s str,
    /// Where to start looking for the next property: constraints mostly read the properties in
    /// the order they were collected in, so the next one is usually the one after the last.
    pub next: Cell<usize>,
}

impl Context for ScratchContext<'_> {
    fn get(&self, property: &str) -> Option<&str> {
        let count = self.properties.len();
        let mut position = self.next.get();
        for _ in 0..count {
            if position >= count {
                position = 0;
            }
            if self
                .properties
                .get(position)
                .is_some_and(|name| &**name == property)
            {
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::{Scratch, ScratchContext, RESULT_WORDS};
    use vexil_eval::Context;

    #[test]
    fn values_follow_their_ranges() {
        let properties: Vec<Box<str>> = ["plan", "seats", "gone", "region"]
            .into_iter()
            .map(Into::into)
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

    #[test]
    fn regions_grow_to_what_is_asked_and_never_shrink() {
        let mut scratch = Scratch::default();
        let layout = scratch.layout(0, 2);
        assert_eq!(layout[1], 1024);
        assert_eq!(layout[3] as usize, RESULT_WORDS + 4);
        let layout = scratch.layout(5000, 1);
        assert!(layout[1] >= 5000);
        assert_eq!(layout[3] as usize, RESULT_WORDS + 4);
    }
}
