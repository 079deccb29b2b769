//! The `Engine` class exported to JS, and the state a load leaves: the one owner of both.

use std::cell::Cell;

use js_sys::{Array, JsString, Uint8Array};
use vexil_eval::{read_compiled, sha256_hex, EvalError, Evaluation, Index, Request, SegmentKeys};
use wasm_bindgen::prelude::*;

use crate::describe::{describe, describe_flag, flag_reads, REASONS};
use crate::scratch::{Scratch, ScratchContext, RESULT_WORDS};

/// The largest snapshot `load` takes (the SDK's default bound is the same).
pub const MAX_SNAPSHOT_BYTES: usize = 64 * 1024 * 1024;

/// Why `evaluate` did not answer, by code: code `-n` is the name at position `n - 1`. The SDK
/// turns them into its `VexilError` codes.
const ERROR_CODES: [&str; 4] = [
    "NO_SNAPSHOT",
    "FLAG_NOT_FOUND",
    "TYPE_MISMATCH",
    "BAD_INPUT",
];
const NO_SNAPSHOT: i32 = -1;
const FLAG_NOT_FOUND: i32 = -2;
const TYPE_MISMATCH: i32 = -3;
const BAD_INPUT: i32 = -4;

/// What `evaluate` is asked for: a flag of either type (a batch item), or of one type.
const ASK_ANY: u32 = 0;
const ASK_VARIANT: u32 = 1;
const ASK_BOOLEAN: u32 = 2;

/// The names of `evaluate`'s error codes: `[-1's name, -2's name, ...]`.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Array {
    ERROR_CODES
        .iter()
        .map(|&name| JsValue::from_str(name))
        .collect()
}

/// A loaded snapshot: the index and what evaluating against it needs.
struct Loaded {
    index: Index,
    /// Per flag, by position, the context properties it reads: found when the flag is first
    /// described or evaluated, so a load does not pay for flags never evaluated.
    reads: Vec<Option<Box<[Box<str>]>>>,
    /// What `describe()` returns.
    description: String,
}

/// Evaluates flags against the last compiled snapshot loaded.
#[wasm_bindgen]
pub struct Engine {
    loaded: Option<Loaded>,
    scratch: Scratch,
}

#[wasm_bindgen]
impl Engine {
    /// An engine with no snapshot: every evaluation answers `NO_SNAPSHOT` until `load` succeeds.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)] // A JS constructor; `Default` means nothing to JS.
    pub fn new() -> Engine {
        Engine {
            loaded: None,
            scratch: Scratch::default(),
        }
    }

    /// Loads a compiled snapshot (`Uint8Array`: the document, or its signed envelope; not
    /// compressed). With `expected_namespace`, a snapshot of another namespace is refused. On
    /// any error it throws and the previous snapshot stays loaded. The envelope's signature is
    /// not checked here: whoever hands over the bytes verifies them first.
    ///
    /// Input over [`MAX_SNAPSHOT_BYTES`] is refused before it is copied into wasm memory.
    pub fn load(
        &mut self,
        data: &JsValue,
        expected_namespace: Option<String>,
    ) -> Result<(), JsError> {
        let Some(array) = data.dyn_ref::<Uint8Array>() else {
            let hint = if data.is_instance_of::<JsString>() || data.is_string() {
                ": text is a JSON snapshot, and the engine reads compiled ones (`vexil snapshot \
                 --format compiled`, or `Accept: application/vnd.vexil.snapshot`)"
            } else {
                ""
            };
            return Err(JsError::new(&format!(
                "load() takes a compiled snapshot as a Uint8Array{hint}"
            )));
        };
        if array.length() as usize > MAX_SNAPSHOT_BYTES {
            return Err(JsError::new(&format!(
                "the snapshot is larger than {MAX_SNAPSHOT_BYTES} bytes"
            )));
        }
        let document = array.to_vec();
        let index = read_compiled(&document).map_err(|error| {
            let first = document.iter().find(|byte| !byte.is_ascii_whitespace());
            let hint = if first == Some(&b'{') {
                " (this is a JSON snapshot: the engine reads compiled ones, which `vexil snapshot \
                 --format compiled` writes and `Accept: application/vnd.vexil.snapshot` asks for)"
            } else {
                ""
            };
            JsError::new(&format!("{error}{hint}"))
        })?;
        if let Some(expected) =
            expected_namespace.filter(|expected| expected != index.namespace_key())
        {
            return Err(JsError::new(&format!(
                "the snapshot is of namespace \"{}\", not \"{expected}\"",
                index.namespace_key()
            )));
        }
        let reads = (0..index.flags().len()).map(|_| None).collect();
        let description = describe(&index, &sha256_hex(&document));
        self.loaded = Some(Loaded {
            index,
            reads,
            description,
        });
        Ok(())
    }

    /// The loaded snapshot as JSON text, `[namespace, digest, reasons, keys, kinds]` (see
    /// `describe.rs`); `""` before a load.
    pub fn describe(&self) -> String {
        self.loaded
            .as_ref()
            .map(|loaded| loaded.description.clone())
            .unwrap_or_default()
    }

    /// The flag at `flag_position` as JSON text, `[properties, variants, groups]` (see
    /// `describe.rs`); `""` when there is none.
    #[wasm_bindgen(js_name = describeFlag)]
    pub fn describe_flag(&mut self, flag_position: u32) -> String {
        let Some(loaded) = &mut self.loaded else {
            return String::new();
        };
        let position = usize::try_from(flag_position).unwrap_or(usize::MAX);
        if loaded.reads_at(position).is_none() {
            return String::new();
        }
        match loaded.reads.get(position) {
            Some(Some(reads)) => describe_flag(&loaded.index, position, reads),
            _ => String::new(),
        }
    }

    /// Where the scratch regions are, making the byte region at least `min_bytes` long (and the
    /// word region long enough for the loaded snapshot): `[bytes address, bytes length, words
    /// address, words length]`. Growing may move the regions, and may grow wasm memory.
    #[wasm_bindgen(js_name = scratchLayout)]
    pub fn scratch_layout(&mut self, min_bytes: u32) -> Vec<u32> {
        // The flags found so far: JS asks again after describing a flag.
        let most_read = self.loaded.as_ref().map_or(0, |loaded| {
            let found = loaded.reads.iter().flatten();
            found.map(|names| names.len()).max().unwrap_or(0)
        });
        let min_bytes = usize::try_from(min_bytes).unwrap_or(usize::MAX);
        self.scratch.layout(min_bytes, most_read)
    }

    /// Evaluates the flag at `flag_position` (`ask`: 0 either type, 1 a variant flag, 2 a
    /// boolean one) for the entity id in the first `entity_length` scratch bytes and the
    /// `values_length` bytes of property values after it. Returns `match` (or `enabled`) in bit
    /// 0 and the reason's code above it, and writes the result words; or a negative error code.
    pub fn evaluate(
        &mut self,
        flag_position: u32,
        ask: u32,
        entity_length: u32,
        values_length: u32,
    ) -> i32 {
        let Some(loaded) = &mut self.loaded else {
            return NO_SNAPSHOT;
        };
        let flag_position = usize::try_from(flag_position).unwrap_or(usize::MAX);
        if loaded.reads_at(flag_position).is_none() {
            return FLAG_NOT_FOUND;
        }
        let loaded = &*loaded;
        let (Some(flag_key), Some(Some(properties))) = (
            loaded.index.flag_key(flag_position),
            loaded.reads.get(flag_position),
        ) else {
            return FLAG_NOT_FOUND;
        };
        let scratch = &mut self.scratch;
        let entity_length = usize::try_from(entity_length).unwrap_or(usize::MAX);
        let values_length = usize::try_from(values_length).unwrap_or(usize::MAX);
        let ranges_end = RESULT_WORDS + 2 * properties.len();
        // The inputs are checked as UTF-8 once, here, rather than at each property read.
        let (Some(ranges), Some(text)) = (
            scratch.words.get(RESULT_WORDS..ranges_end),
            entity_length
                .checked_add(values_length)
                .and_then(|end| scratch.bytes.get(..end))
                .and_then(|input| std::str::from_utf8(input).ok()),
        ) else {
            return BAD_INPUT;
        };
        let (Some(entity_id), Some(values)) =
            (text.get(..entity_length), text.get(entity_length..))
        else {
            return BAD_INPUT;
        };
        let context = ScratchContext {
            properties,
            ranges,
            values,
            next: Cell::new(0),
        };
        let request = Request::new(flag_key, entity_id, &context);
        let evaluation = match ask {
            ASK_VARIANT => loaded
                .index
                .evaluate_variant(&request)
                .map(Evaluation::Variant),
            ASK_BOOLEAN => loaded
                .index
                .evaluate_boolean(&request)
                .map(Evaluation::Boolean),
            ASK_ANY => loaded.index.evaluate(&request),
            _ => return BAD_INPUT,
        };
        let evaluation = match evaluation {
            Ok(evaluation) => evaluation,
            Err(EvalError::FlagNotFound) => return FLAG_NOT_FOUND,
            Err(EvalError::WrongFlagType { .. }) => return TYPE_MISMATCH,
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

impl Loaded {
    /// The properties the flag at `position` reads, found on first use.
    fn reads_at(&mut self, position: usize) -> Option<&[Box<str>]> {
        let slot = self.reads.get_mut(position)?;
        Some(slot.get_or_insert_with(|| flag_reads(&self.index, position)))
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
