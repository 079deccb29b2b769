//! The other ways of crossing the JS boundary that were measured (`bench.mjs`), kept so the
//! numbers in benches/README.md can be reproduced. Built only with `--features boundary-bench`.

use std::collections::HashMap;

use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use vexil_eval::{Request, VariantEvaluation};
use wasm_bindgen::prelude::*;

use crate::context::property_text;
use crate::engine::Engine;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VariantResult<'a> {
    flag_key: &'a str,
    #[serde(rename = "match")]
    matched: bool,
    reason: &'a str,
    variant_key: &'a str,
    variant_attachment: &'a str,
    segment_keys: Vec<&'a str>,
}

fn serde_result(evaluation: &VariantEvaluation<'_>) -> JsValue {
    let result = VariantResult {
        flag_key: evaluation.flag_key,
        matched: evaluation.matched,
        reason: evaluation.reason.as_str(),
        variant_key: evaluation.variant_key(),
        variant_attachment: evaluation.variant_attachment(),
        segment_keys: evaluation.segment_keys.iter().collect(),
    };
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    result.serialize(&serializer).unwrap_or(JsValue::NULL)
}

thread_local! {
    static FIELD_NAMES: [JsValue; 6] = ["flagKey", "match", "reason", "variantKey",
        "variantAttachment", "segmentKeys"].map(JsValue::from_str);
}

fn reflect_result(evaluation: &VariantEvaluation<'_>) -> JsValue {
    let object = Object::new();
    let segment_keys = Array::new();
    for key in evaluation.segment_keys.iter() {
        segment_keys.push(&JsValue::from_str(key));
    }
    FIELD_NAMES.with(|names| {
        let values = [
            JsValue::from_str(evaluation.flag_key),
            JsValue::from_bool(evaluation.matched),
            JsValue::from_str(evaluation.reason.as_str()),
            JsValue::from_str(evaluation.variant_key()),
            JsValue::from_str(evaluation.variant_attachment()),
            segment_keys.into(),
        ];
        for (name, value) in names.iter().zip(&values) {
            let _ = Reflect::set(&object, name, value);
        }
    });
    object.into()
}

#[wasm_bindgen]
impl Engine {
    /// The call alone: arguments in, `null` out.
    #[wasm_bindgen(js_name = benchCallOnly)]
    pub fn bench_call_only(&self, flag_key: &str, entity_id: &str, context: &JsValue) -> JsValue {
        let _ = (flag_key, entity_id, context);
        JsValue::NULL
    }

    /// Context through serde-wasm-bindgen into a `HashMap`; the shipped result objects.
    #[wasm_bindgen(js_name = benchSerdeContext)]
    pub fn bench_serde_context(
        &self,
        flag_key: &str,
        entity_id: &str,
        context: JsValue,
    ) -> Result<JsValue, JsError> {
        let loaded = self.loaded()?;
        let context: HashMap<String, String> =
            serde_wasm_bindgen::from_value(context).unwrap_or_default();
        let request = Request::new(flag_key, entity_id, &context);
        let evaluation = loaded.index.evaluate_variant(&request)?;
        Ok(loaded.strings.variant(&evaluation))
    }

    /// Context through `Object.entries`, every property; the shipped result objects.
    #[wasm_bindgen(js_name = benchEntriesContext)]
    pub fn bench_entries_context(
        &self,
        flag_key: &str,
        entity_id: &str,
        context: &JsValue,
    ) -> Result<JsValue, JsError> {
        let loaded = self.loaded()?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(object) = context.dyn_ref::<Object>() {
            for entry in Object::entries(object).iter() {
                let entry: Array = entry.unchecked_into();
                if let (Some(key), Some(value)) =
                    (entry.get(0).as_string(), property_text(&entry.get(1)))
                {
                    pairs.push((key, value));
                }
            }
        }
        let request = Request::new(flag_key, entity_id, &pairs);
        let evaluation = loaded.index.evaluate_variant(&request)?;
        Ok(loaded.strings.variant(&evaluation))
    }

    /// Context as a flat `[key, value, ...]` array of strings; the shipped result objects.
    #[wasm_bindgen(js_name = benchFlatContext)]
    pub fn bench_flat_context(
        &self,
        flag_key: &str,
        entity_id: &str,
        context: Vec<String>,
    ) -> Result<JsValue, JsError> {
        let loaded = self.loaded()?;
        let pairs: Vec<(&str, &str)> = context
            .chunks_exact(2)
            .map(|pair| (pair[0].as_str(), pair[1].as_str()))
            .collect();
        let request = Request::new(flag_key, entity_id, &pairs);
        let evaluation = loaded.index.evaluate_variant(&request)?;
        Ok(loaded.strings.variant(&evaluation))
    }

    /// The shipped context reading; the result through serde-wasm-bindgen (`json_compatible`).
    #[wasm_bindgen(js_name = benchSerdeResult)]
    pub fn bench_serde_result(
        &self,
        flag_key: &str,
        entity_id: &str,
        context: &JsValue,
    ) -> Result<JsValue, JsError> {
        let loaded = self.loaded()?;
        let context = loaded.fetch_context(flag_key, context);
        let request = Request::new(flag_key, entity_id, &context);
        let evaluation = loaded.index.evaluate_variant(&request)?;
        Ok(serde_result(&evaluation))
    }

    /// The shipped context reading; the result by `Reflect.set` per field, fresh strings.
    #[wasm_bindgen(js_name = benchReflectResult)]
    pub fn bench_reflect_result(
        &self,
        flag_key: &str,
        entity_id: &str,
        context: &JsValue,
    ) -> Result<JsValue, JsError> {
        let loaded = self.loaded()?;
        let context = loaded.fetch_context(flag_key, context);
        let request = Request::new(flag_key, entity_id, &context);
        let evaluation = loaded.index.evaluate_variant(&request)?;
        Ok(reflect_result(&evaluation))
    }
}
