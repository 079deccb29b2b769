//! User text and numbers in error messages, written without `{:?}` and float `Display`.
//!
//! Both would pull large parts of `core` into the WebAssembly engine (the `Debug` escaper with
//! its Unicode tables, the `flt2dec` float printer); serde_json's string escaper and its
//! shortest float printer are linked anyway.

/// `text` in double quotes, escaped as a JSON string: `"a\"b"`, as `{:?}` writes ordinary text.
pub(crate) fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A percentage as `{}` writes an `f32`: `110`, `100.5`, `NaN`.
pub(crate) fn number(value: f32) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let text = serde_json::to_string(&value).unwrap_or_default();
    match text.strip_suffix(".0") {
        Some(integer) => integer.into(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_debug_for_ordinary_text() {
        for text in [
            "plain",
            "with \"quotes\"",
            "back\\slash",
            "new\nline",
            "été",
            "",
        ] {
            assert_eq!(quoted(text), format!("{text:?}"));
        }
    }

    #[test]
    fn numbers_like_display() {
        for value in [
            110.0f32,
            100.5,
            -0.5,
            33.33,
            1000.25,
            f32::NAN,
            f32::INFINITY,
            -1.0,
        ] {
            assert_eq!(number(value), format!("{value}"));
        }
    }
}
