//! Evaluation results as plain JS objects, in Flipt's field names.
//!
//! Each object is built by one call to a JS function taking the fields as arguments: an object
//! literal in JS is several times cheaper than a `Reflect.set` per field from wasm. The strings
//! (flag, variant and segment keys, attachments, reasons) are the index's own, turned into JS
//! strings once and then reused, so an evaluation decodes no UTF-8 on the way out. So are the
//! lists of matched segment keys, which the JS side copies for each result (a caller may change
//! the array it gets).

use std::cell::RefCell;

use js_sys::Array;
use std::collections::HashMap;

use rustc_hash::FxBuildHasher;
use vexil_eval::{
    BooleanEvaluation, Evaluation, SegmentKeys, VariantEvaluation, MAX_SEGMENTS_PER_RULE,
};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = "
export function variantResult(flagKey, match, reason, variantKey, variantAttachment, segmentKeys) {
  return { flagKey, match, reason, variantKey, variantAttachment, segmentKeys: segmentKeys.slice() };
}
export function booleanResult(flagKey, enabled, reason, segmentKeys) {
  return { flagKey, enabled, reason, segmentKeys: segmentKeys.slice() };
}
export function variantItem(variantResponse) {
  return { type: 'VARIANT_EVALUATION_RESPONSE_TYPE', variantResponse };
}
export function booleanItem(booleanResponse) {
  return { type: 'BOOLEAN_EVALUATION_RESPONSE_TYPE', booleanResponse };
}
export function errorItem(flagKey, namespaceKey) {
  return { type: 'ERROR_EVALUATION_RESPONSE_TYPE',
           errorResponse: { flagKey, namespaceKey, reason: 'NOT_FOUND_ERROR_EVALUATION_REASON' } };
}
export function batchResult(responses) {
  return { responses };
}
export function loadResult(namespace, digest, flags) {
  return { namespace, digest, flags };
}
export function flagInfo(key, type, enabled) {
  return { key, type, enabled };
}
")]
extern "C" {
    #[wasm_bindgen(js_name = variantResult)]
    fn variant_result(
        flag_key: &JsValue,
        matched: bool,
        reason: &JsValue,
        variant_key: &JsValue,
        variant_attachment: &JsValue,
        segment_keys: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = booleanResult)]
    fn boolean_result(
        flag_key: &JsValue,
        enabled: bool,
        reason: &JsValue,
        segment_keys: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = variantItem)]
    fn variant_item(response: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = booleanItem)]
    fn boolean_item(response: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = errorItem)]
    pub fn error_item(flag_key: &str, namespace_key: &str) -> JsValue;
    #[wasm_bindgen(js_name = batchResult)]
    pub fn batch_result(responses: &Array) -> JsValue;
    #[wasm_bindgen(js_name = loadResult)]
    pub fn load_result(namespace: &str, digest: &str, flags: u32) -> JsValue;
    #[wasm_bindgen(js_name = flagInfo)]
    pub fn flag_info(key: &str, kind: &str, enabled: bool) -> JsValue;
}

/// JS copies of the index's strings, keyed by address and length.
///
/// Evaluation results borrow their strings from the index, which does not change while this
/// cache lives (both belong to one loaded snapshot), so an address names one string's content.
#[derive(Default)]
pub struct JsStrings {
    cache: RefCell<Cache>,
}

#[derive(Default)]
struct Cache {
    slots: HashMap<(usize, usize), usize, FxBuildHasher>,
    /// Segment key lists, by the addresses of their keys.
    list_slots: HashMap<Vec<usize>, usize, FxBuildHasher>,
    values: Vec<JsValue>,
}

impl Cache {
    /// The slot of the JS string for `text`, a string borrowed from the index.
    fn slot(&mut self, text: &str) -> usize {
        let address = (text.as_ptr() as usize, text.len());
        let values = &mut self.values;
        *self.slots.entry(address).or_insert_with(|| {
            values.push(JsValue::from_str(text));
            values.len() - 1
        })
    }

    /// The slot of the JS array of these segment keys.
    fn list_slot(&mut self, keys: &SegmentKeys<'_>) -> usize {
        let mut addresses = [0usize; MAX_SEGMENTS_PER_RULE];
        let mut count = 0;
        for (address, key) in addresses.iter_mut().zip(keys.iter()) {
            *address = key.as_ptr() as usize;
            count += 1;
        }
        let addresses = &addresses[..count];
        if let Some(&slot) = self.list_slots.get(addresses) {
            return slot;
        }
        let array = Array::new();
        for key in keys.iter() {
            let slot = self.slot(key);
            array.push(&self.values[slot]);
        }
        self.values.push(array.into());
        let slot = self.values.len() - 1;
        self.list_slots.insert(addresses.to_vec(), slot);
        slot
    }
}

impl JsStrings {
    /// `{flagKey, match, reason, variantKey, variantAttachment, segmentKeys}`.
    pub fn variant(&self, evaluation: &VariantEvaluation<'_>) -> JsValue {
        let mut cache = self.cache.borrow_mut();
        let segment_keys = cache.list_slot(&evaluation.segment_keys);
        let flag_key = cache.slot(evaluation.flag_key);
        let reason = cache.slot(evaluation.reason.as_str());
        let variant_key = cache.slot(evaluation.variant_key());
        let attachment = cache.slot(evaluation.variant_attachment());
        let values = &cache.values;
        variant_result(
            &values[flag_key],
            evaluation.matched,
            &values[reason],
            &values[variant_key],
            &values[attachment],
            &values[segment_keys],
        )
    }

    /// `{flagKey, enabled, reason, segmentKeys}`.
    pub fn boolean(&self, evaluation: &BooleanEvaluation<'_>) -> JsValue {
        let mut cache = self.cache.borrow_mut();
        let segment_keys = cache.list_slot(&evaluation.segment_keys);
        let flag_key = cache.slot(evaluation.flag_key);
        let reason = cache.slot(evaluation.reason.as_str());
        let values = &cache.values;
        boolean_result(
            &values[flag_key],
            evaluation.enabled,
            &values[reason],
            &values[segment_keys],
        )
    }

    /// A batch entry: `{type, variantResponse}` or `{type, booleanResponse}`.
    pub fn batch_item(&self, evaluation: &Evaluation<'_>) -> JsValue {
        match evaluation {
            Evaluation::Variant(evaluation) => variant_item(&self.variant(evaluation)),
            Evaluation::Boolean(evaluation) => boolean_item(&self.boolean(evaluation)),
        }
    }
}
