//! The loaded snapshot described for JS, as JSON text that JS parses with `JSON.parse`: one
//! string across the boundary instead of a JS call per string, which made describing the larger
//! part of a load. The snapshot's keys come at load; the rest of a flag (its properties,
//! variants and segment groups) when it is first evaluated, so a load costs what the flags
//! evaluated need, not what the snapshot holds.
//!
//! The engine carries no JSON library (it reads none), so the little it writes, strings and
//! arrays, is written here.

use vexil_eval::model::FlagKind;
use vexil_eval::{Index, Reason};

/// Reasons by code: an evaluation's reason code is its position here.
pub const REASONS: [Reason; 4] = [
    Reason::Match,
    Reason::Default,
    Reason::Unknown,
    Reason::FlagDisabled,
];

/// `[namespace, digest, reasons, keys, kinds]`: `keys` the flag keys in snapshot order (each
/// flag's position for `evaluate`), `kinds` one character per flag, `0` + (1 for a boolean
/// flag) + (2 when enabled).
pub fn describe(index: &Index, digest: &str) -> String {
    let mut out = String::with_capacity(64 + 24 * index.flags().len());
    out.push('[');
    push_str(&mut out, index.namespace_key());
    out.push(',');
    push_str(&mut out, digest);
    out.push(',');
    push_strs(&mut out, REASONS.iter().map(|reason| reason.as_str()));
    out.push(',');
    push_strs(&mut out, index.flags().map(|(key, _, _)| key));
    out.push_str(",\"");
    for (_, kind, enabled) in index.flags() {
        let code = u8::from(kind == FlagKind::Boolean) + 2 * u8::from(enabled);
        out.push(char::from(b'0' + code));
    }
    out.push_str("\"]");
    out
}

/// `[properties, variants, groups]` of the flag at `position` (`""` when there is none):
/// `properties` the context properties it reads (`reads`), `variants` `[key, attachment]`
/// pairs, `groups` the segment keys of each rule (variant flag) or rollout (boolean flag).
pub fn describe_flag(index: &Index, position: usize, reads: &[Box<str>]) -> String {
    if index.flag_key(position).is_none() {
        return String::new();
    }
    let mut out = String::with_capacity(256);
    out.push('[');
    push_strs(&mut out, reads.iter().map(|name| &**name));
    out.push_str(",[");
    for (i, variant) in index.variants(position).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_strs(&mut out, [variant.key(), variant.attachment()]);
    }
    out.push_str("],[");
    for (i, group) in index.segment_groups(position).enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_strs(&mut out, group);
    }
    out.push_str("]]");
    out
}

/// The context properties the flag at `position` reads, as the engine keeps them.
pub fn flag_reads(index: &Index, position: usize) -> Box<[Box<str>]> {
    index
        .context_properties(position)
        .into_iter()
        .map(Box::from)
        .collect()
}

/// A JSON array of these strings.
fn push_strs<'t>(out: &mut String, texts: impl IntoIterator<Item = &'t str>) {
    out.push('[');
    for (i, text) in texts.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, text);
    }
    out.push(']');
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped.
fn push_str(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    // Most text needs no escape: copied in one go.
    if !text
        .bytes()
        .any(|byte| byte == b'"' || byte == b'\\' || byte < 0x20)
    {
        out.push_str(text);
        out.push('"');
        return;
    }
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json_reads_them() {
        let mut out = String::new();
        push_strs(
            &mut out,
            ["plain", "a\"b\\c", "new\nline\u{1}", "été 😀", ""],
        );
        assert_eq!(
            out,
            r#"["plain","a\"b\\c","new\u000aline\u0001","été 😀",""]"#
        );
    }
}
