//! The caller's context object (`{plan: 'pro', seats: '12'}`), read from JS.
//!
//! One call into JS reads every property the flag needs and hands them back as one string
//! (`5:hello` per value, `-` when absent): asking from wasm would cost a JS call per property
//! and several more per value to learn its type.

use js_sys::{Array, Object};
use vexil_eval::Context;
use wasm_bindgen::prelude::*;

use crate::properties::Property;

#[wasm_bindgen(inline_js = "
export function readProperties(context, names) {
  if (context === null || typeof context !== 'object') return '';
  let out = '';
  for (const name of names) {
    const value = context[name];
    const type = typeof value;
    const text = type === 'string' ? value
      : type === 'number' || type === 'boolean' || type === 'bigint' ? String(value) : undefined;
    out += text === undefined ? '-' : text.length + ':' + text;
  }
  return out;
}
")]
extern "C" {
    #[wasm_bindgen(js_name = readProperties)]
    fn read_properties(context: &JsValue, names: &Array) -> String;
}

/// The values of the properties one flag reads, fetched from the caller's object.
pub struct FetchedContext<'p> {
    properties: &'p [Property],
    text: String,
    /// Per property, its value's byte range in `text`; `None` when absent.
    values: Vec<Option<(usize, usize)>>,
}

impl<'p> FetchedContext<'p> {
    /// Reads `properties` from `context` (an object; anything else reads as no properties).
    /// Strings are taken as they are, numbers, booleans and bigints as JS prints them (`12`,
    /// `true`); `null`, `undefined` and objects read as absent.
    pub fn fetch(
        properties: &'p [Property],
        names: &Array,
        context: &JsValue,
    ) -> FetchedContext<'p> {
        let text = if properties.is_empty() {
            String::new()
        } else {
            read_properties(context, names)
        };
        let values = decode_values(&text, properties.len());
        FetchedContext {
            properties,
            text,
            values,
        }
    }
}

impl Context for FetchedContext<'_> {
    fn get(&self, property: &str) -> Option<&str> {
        let position = self.properties.iter().position(|p| &*p.name == property)?;
        let (start, end) = (*self.values.get(position)?)?;
        self.text.get(start..end)
    }
}

/// Splits `readProperties`' answer into byte ranges. Lengths are in UTF-16 units, as JS counts.
fn decode_values(text: &str, count: usize) -> Vec<Option<(usize, usize)>> {
    let mut values = Vec::with_capacity(count);
    let mut rest = text;
    while values.len() < count && !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('-') {
            values.push(None);
            rest = after;
            continue;
        }
        let Some((length, after)) = rest.split_once(':') else {
            break;
        };
        let Ok(mut units_left) = length.parse::<usize>() else {
            break;
        };
        let mut byte_length = 0;
        for character in after.chars() {
            if units_left == 0 {
                break;
            }
            units_left = units_left.saturating_sub(character.len_utf16());
            byte_length += character.len_utf8();
        }
        let start = text.len() - after.len();
        values.push(Some((start, start + byte_length)));
        rest = &after[byte_length..];
    }
    values
}

/// A value read from JS as Flipt's string context holds it: strings as they are, numbers and
/// booleans as JS prints them (`12`, `true`), `null`/`undefined` (and objects) as absent.
pub fn property_text(value: &JsValue) -> Option<String> {
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    let is_scalar = value.as_f64().is_some() || value.as_bool().is_some() || value.is_bigint();
    is_scalar.then(|| String::from(value.unchecked_ref::<Object>().to_string()))
}

#[cfg(test)]
mod tests {
    use super::decode_values;

    #[test]
    fn values_split_by_utf16_lengths() {
        let text = "3:pro-0:3:été4:a:b-";
        let values = decode_values(text, 5);
        let read: Vec<Option<&str>> = values
            .iter()
            .map(|range| range.map(|(start, end)| &text[start..end]))
            .collect();
        assert_eq!(
            read,
            [Some("pro"), None, Some(""), Some("été"), Some("a:b-")]
        );
        // Emoji take two UTF-16 units.
        assert_eq!(decode_values("2:😀", 1), [Some((2, 6))]);
        // Fewer values than properties: the rest are absent.
        assert_eq!(decode_values("", 2), []);
    }
}
