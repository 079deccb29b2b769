//! User text and numbers in error messages, written without `{:?}` and float `Display`.
//!
//! Both would pull large parts of `core` into the WebAssembly engine (the `Debug` escaper with
//! its Unicode tables, the `flt2dec` float printer). The quoting is written out here, since the
//! engine carries no JSON printer either.

/// `text` in double quotes, escaped as a JSON string: `"a\"b"`, as `{:?}` writes ordinary text.
pub(crate) fn quoted(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                let code = control as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[code >> 4]));
                out.push(char::from(HEX[code & 0xf]));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
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
        assert_eq!(quoted("a\u{1}b\u{1f}"), r#""a\u0001b\u001f""#);
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
