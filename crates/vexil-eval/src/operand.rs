//! Constraint operands, parsed once when a namespace is compiled.
//!
//! The flag-file loader calls [`parse_operand`] too, so that a value rejected here is reported at
//! load time with its file and line, and a loaded namespace always compiles.

use std::collections::HashSet;
use std::fmt;

use rustc_hash::FxBuildHasher;

use crate::datetime::parse_timestamp;
use crate::message::quoted;
use crate::model::{ConstraintType, Operator};

/// A constraint's value in the form its operator compares against.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// The operator takes no value (`empty`, `present`, `true`, ...).
    None,
    Text(Box<str>),
    Number(f64),
    /// Seconds since the Unix epoch.
    Timestamp(i64),
    TextSet(HashSet<Box<str>, FxBuildHasher>),
    /// Sorted, for a binary search.
    NumberSet(Box<[f64]>),
}

/// Why a constraint value cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperandError {
    message: String,
}

impl OperandError {
    fn new(message: String) -> OperandError {
        OperandError { message }
    }
}

impl fmt::Display for OperandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OperandError {}

/// Whether `value` is an operand a constraint of type `kind` with `operator` can use: the
/// check the flag-file loader makes, so that every namespace it produces compiles.
pub fn check_operand(
    kind: ConstraintType,
    operator: Operator,
    value: &str,
) -> Result<(), OperandError> {
    parse_operand(kind, operator, value).map(|_| ())
}

/// Parses `value` as the operand of a constraint of type `kind` with `operator`.
///
/// The operator must be one that `kind` allows ([`Operator::allowed_for`]).
pub(crate) fn parse_operand(
    kind: ConstraintType,
    operator: Operator,
    value: &str,
) -> Result<Operand, OperandError> {
    if !operator.takes_value() {
        return Ok(Operand::None);
    }
    let is_list = matches!(operator, Operator::IsOneOf | Operator::IsNotOneOf);
    match kind {
        ConstraintType::String | ConstraintType::EntityId if is_list => {
            parse_text_list(value).map(Operand::TextSet)
        }
        ConstraintType::String | ConstraintType::EntityId => Ok(Operand::Text(value.into())),
        ConstraintType::Number if is_list => parse_number_list(value).map(Operand::NumberSet),
        ConstraintType::Number => parse_number(value)
            .map(Operand::Number)
            .ok_or_else(|| OperandError::new(format!("{} is not a number", quoted(value)))),
        ConstraintType::DateTime => {
            parse_timestamp(value)
                .map(Operand::Timestamp)
                .ok_or_else(|| {
                    OperandError::new(format!(
                        "{} is not an RFC 3339 date-time or a YYYY-MM-DD date",
                        quoted(value)
                    ))
                })
        }
        ConstraintType::Boolean => Ok(Operand::None),
    }
}

/// A finite decimal number. Rust's float grammar, less `inf` and `NaN`, which no user means.
pub fn parse_number(text: &str) -> Option<f64> {
    parse_f64(text).filter(|number| number.is_finite())
}

/// Natively, core's parser: the fastest, with a 10 KB table of powers of five.
#[cfg(not(target_arch = "wasm32"))]
fn parse_f64(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

/// In WebAssembly, lexical's compact parser: the same grammar and the same correctly rounded
/// results (a test checks both), without the table (8 KB less gzip-compressed engine).
#[cfg(target_arch = "wasm32")]
fn parse_f64(text: &str) -> Option<f64> {
    compact_parse_f64(text)
}

#[cfg(any(test, target_arch = "wasm32"))]
fn compact_parse_f64(text: &str) -> Option<f64> {
    lexical_parse_float::FromLexical::from_lexical(text.as_bytes()).ok()
}

fn parse_text_list(value: &str) -> Result<HashSet<Box<str>, FxBuildHasher>, OperandError> {
    let not_a_list = || {
        OperandError::new(format!(
            "{} is not a list of strings (a JSON array such as [\"a\",\"b\"])",
            quoted(value)
        ))
    };
    json_array(value)
        .ok_or_else(not_a_list)?
        .iter()
        .map(|item| item.as_str().map(Box::from).ok_or_else(not_a_list))
        .collect()
}

fn parse_number_list(value: &str) -> Result<Box<[f64]>, OperandError> {
    let not_a_list = || {
        OperandError::new(format!(
            "{} is not a list of numbers (a JSON array such as [1,2])",
            quoted(value)
        ))
    };
    let mut numbers = json_array(value)
        .ok_or_else(not_a_list)?
        .iter()
        .map(|item| item.as_f64().ok_or_else(not_a_list))
        .collect::<Result<Vec<f64>, _>>()?;
    // total_cmp orders -0 before +0, which are the same number to a user: keep only +0.
    for number in &mut numbers {
        *number += 0.0;
    }
    // Numbers equal under total_cmp have the same bits: a stable sort would change nothing.
    numbers.sort_unstable_by(f64::total_cmp);
    // A set: a number given twice is there once (the compiled form holds sets strictly rising).
    numbers.dedup();
    Ok(numbers.into_boxed_slice())
}

/// A JSON array, parsed as a `Value` (one parser for every JSON the engine reads keeps the
/// WebAssembly engine small).
fn json_array(text: &str) -> Option<Vec<serde_json::Value>> {
    match serde_json::from_slice(text.as_bytes()) {
        Ok(serde_json::Value::Array(items)) => Some(items),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_parsers_agree(text: &str) {
        let core = text.parse::<f64>().ok();
        let compact = compact_parse_f64(text);
        let same = match (core, compact) {
            (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (a, b) => a.is_none() && b.is_none(),
        };
        assert!(same, "{text:?}: core {core:?}, compact {compact:?}");
    }

    #[test]
    fn the_wasm_float_parser_agrees_with_core_on_grammar() {
        for text in [
            "0",
            "-0",
            "+0",
            "1",
            "+1",
            "-1",
            "01",
            "1.",
            ".5",
            "-.5",
            "+.5",
            ".",
            "-",
            "+",
            "",
            "1e5",
            "1E5",
            "1e+5",
            "1e-5",
            "1e",
            "1e+",
            "e5",
            ".e5",
            "1.e5",
            ".5e5",
            "1e05",
            " 1",
            "1 ",
            "1_000",
            "1,5",
            "0x10",
            "0b1",
            "1f",
            "1d",
            "1.5.5",
            "--1",
            "+-1",
            "1e5.5",
            "inf",
            "-inf",
            "+inf",
            "Inf",
            "INF",
            "infinity",
            "Infinity",
            "-infinity",
            "infin",
            "nan",
            "NaN",
            "-NaN",
            "+nan",
            "nan(1)",
            "1e400",
            "-1e400",
            "1e-400",
            "4.9e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "179769313486231580793728971405301e276",
            "0.1",
            "0.30000000000000004",
            "9007199254740993",
            "9007199254740992.5",
            "123456789012345678901234567890",
            "0.000000000000000000000000000001",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "1e23",
            "8.41e21",
            "0000000000000000000000000000000000001e1",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203124",
            "1.00000000000000011102230246251565404236316680908203126",
            "é",
            "1é",
            "١",
        ] {
            assert_parsers_agree(text);
        }
    }

    #[test]
    fn the_wasm_float_parser_agrees_with_core_on_random_decimals() {
        // xorshift64*: a fixed sequence, so a failure reproduces.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mut text = String::new();
        for _ in 0..100_000 {
            text.clear();
            if next() % 4 == 0 {
                text.push('-');
            }
            let digits = 1 + next() % 40;
            let point = next() % (digits + 1);
            for position in 0..digits {
                if position == point && next() % 2 == 0 {
                    text.push('.');
                }
                text.push(char::from(b'0' + (next() % 10) as u8));
            }
            if next() % 2 == 0 {
                let exponent = (next() % 700) as i64 - 350;
                text.push_str(&format!("e{exponent}"));
            }
            assert_parsers_agree(&text);
        }
        // Bit patterns printed shortest round-trip back to themselves in both.
        for _ in 0..100_000 {
            let number = f64::from_bits(next());
            if number.is_finite() {
                assert_parsers_agree(&number.to_string());
                assert_parsers_agree(&format!("{number:e}"));
            }
        }
    }

    #[test]
    fn value_free_operators_ignore_the_value() {
        let operand = parse_operand(ConstraintType::Number, Operator::Present, "junk");
        assert_eq!(operand, Ok(Operand::None));
    }

    #[test]
    fn numbers_and_lists() {
        assert_eq!(
            parse_operand(ConstraintType::Number, Operator::Gte, "1.5"),
            Ok(Operand::Number(1.5))
        );
        assert_eq!(
            parse_operand(ConstraintType::Number, Operator::IsOneOf, "[3, 1, 2.5]"),
            Ok(Operand::NumberSet(vec![1.0, 2.5, 3.0].into_boxed_slice()))
        );
        // A set: duplicates (and -0 beside 0) are there once.
        assert_eq!(
            parse_operand(
                ConstraintType::Number,
                Operator::IsOneOf,
                "[2, 1, 2.0, -0, 0, 1e0]"
            ),
            Ok(Operand::NumberSet(vec![0.0, 1.0, 2.0].into_boxed_slice()))
        );
        let error = parse_operand(ConstraintType::Number, Operator::Eq, "NaN").unwrap_err();
        assert_eq!(error.to_string(), "\"NaN\" is not a number");
        let error = parse_operand(ConstraintType::Number, Operator::IsOneOf, "[1, \"a\"]");
        assert_eq!(
            error.unwrap_err().to_string(),
            "\"[1, \\\"a\\\"]\" is not a list of numbers (a JSON array such as [1,2])"
        );
    }

    #[test]
    fn text_lists_become_sets() {
        let Ok(Operand::TextSet(set)) = parse_operand(
            ConstraintType::EntityId,
            Operator::IsNotOneOf,
            r#"["a","b"]"#,
        ) else {
            panic!("expected a set");
        };
        assert!(set.contains("a") && set.contains("b") && set.len() == 2);
        assert!(parse_operand(ConstraintType::String, Operator::IsOneOf, "a,b").is_err());
    }

    #[test]
    fn datetimes() {
        assert_eq!(
            parse_operand(ConstraintType::DateTime, Operator::Lt, "1970-01-02"),
            Ok(Operand::Timestamp(86_400))
        );
        assert!(parse_operand(ConstraintType::DateTime, Operator::Lt, "tomorrow").is_err());
    }
}
