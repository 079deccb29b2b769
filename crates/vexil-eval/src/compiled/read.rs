//! Compiled snapshot bytes to an index, every byte taken as hostile.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxBuildHasher;

use super::codes::*;
use super::{MAGIC, VERSION};
use crate::bucket::VARIANT_BUCKETS;
use crate::index::{
    CompiledConstraint, CompiledFlag, CompiledRollout, CompiledRule, CompiledSegment,
    CompiledVariant, Index, SegmentGroup, MAX_SEGMENTS_PER_RULE,
};
use crate::message::quoted;
use crate::model::{ConstraintType, Operator};
use crate::operand::Operand;
use crate::snapshot::{snapshot_error, SnapshotError, SnapshotErrorKind};

/// Reads a compiled snapshot ([`super::write_compiled`]'s bytes) back into an index.
///
/// Refuses, with a [`SnapshotError`], anything that is not a whole, consistent document of
/// this version: no input makes it panic, and it allocates no more than the input could hold.
///
/// A signed document ([`super::envelope`]) is read from inside its envelope, unverified: the
/// engine carries no cryptography, and whoever hands it bytes verifies them first.
pub fn read_compiled(bytes: &[u8]) -> Result<Index, SnapshotError> {
    let bytes = match super::envelope::open_envelope(bytes)? {
        Some(envelope) => envelope.document,
        None => bytes,
    };
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        return Err(broken("not a compiled snapshot (no VXLC header)"));
    };
    let Some((&version, body)) = rest.split_first() else {
        return Err(broken("the document ends after its header"));
    };
    if version != VERSION {
        let message = format!(
            "compiled snapshot version {version}: this engine reads version {VERSION} only"
        );
        return Err(snapshot_error(SnapshotErrorKind::Version, message));
    }
    let mut input = Reader { bytes: body, at: 0 };
    let index = input.index()?;
    if input.at != body.len() {
        return Err(broken("bytes after the end of the document"));
    }
    Ok(index)
}

/// The operand tag the operand parser makes for `operator` on `kind`.
fn expected_operand(kind: ConstraintType, operator: Operator) -> u8 {
    let list = matches!(operator, Operator::IsOneOf | Operator::IsNotOneOf);
    match kind {
        _ if !operator.takes_value() => OPERAND_NONE,
        ConstraintType::String | ConstraintType::EntityId if list => OPERAND_TEXT_SET,
        ConstraintType::String | ConstraintType::EntityId => OPERAND_TEXT,
        ConstraintType::Number if list => OPERAND_NUMBER_SET,
        ConstraintType::Number => OPERAND_NUMBER,
        ConstraintType::DateTime => OPERAND_TIMESTAMP,
        ConstraintType::Boolean => OPERAND_NONE,
    }
}

fn operand_tag(operand: &Operand) -> u8 {
    match operand {
        Operand::None => OPERAND_NONE,
        Operand::Text(_) => OPERAND_TEXT,
        Operand::Number(_) => OPERAND_NUMBER,
        Operand::Timestamp(_) => OPERAND_TIMESTAMP,
        Operand::TextSet(_) => OPERAND_TEXT_SET,
        Operand::NumberSet(_) => OPERAND_NUMBER_SET,
    }
}

/// A malformed document (truncated, a bad number or text, an unknown code).
fn broken(message: &str) -> SnapshotError {
    snapshot_error(SnapshotErrorKind::Syntax, message.to_owned())
}

/// A well-formed document whose contents do not hold together.
fn inconsistent(message: String) -> SnapshotError {
    snapshot_error(SnapshotErrorKind::Shape, message)
}

/// The most items a list's count may reserve room for before they are read: counts are held
/// to the bytes left, but an item in memory is larger than its least encoding.
const RESERVE: usize = 1024;

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, count: usize) -> Result<&'b [u8], SnapshotError> {
        if count > self.remaining() {
            return Err(broken("the document is truncated"));
        }
        let taken = &self.bytes[self.at..self.at + count];
        self.at += count;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }

    fn flag(&mut self) -> Result<bool, SnapshotError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(broken("a boolean that is neither 0 nor 1")),
        }
    }

    fn code<T>(&mut self, decode: fn(u8) -> Option<T>, what: &str) -> Result<T, SnapshotError> {
        let code = self.byte()?;
        decode(code).ok_or_else(|| broken(&format!("unknown {what} code {code}")))
    }

    /// LEB128, at most ten bytes, no bits past 64.
    fn varint(&mut self) -> Result<u64, SnapshotError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(broken("a number larger than 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                // One form per number: a last byte of 0 after others is a longer spelling.
                if byte == 0 && shift > 0 {
                    return Err(broken("a number written longer than it needs"));
                }
                return Ok(value);
            }
        }
        Err(broken("a number larger than 64 bits"))
    }

    fn usize(&mut self) -> Result<usize, SnapshotError> {
        usize::try_from(self.varint()?).map_err(|_| broken("a number too large for this machine"))
    }

    /// A list length, held to what the rest of the document could hold (each item takes at
    /// least `item_bytes`), so that no allocation is sized by an unchecked number.
    fn count(&mut self, item_bytes: usize) -> Result<usize, SnapshotError> {
        let count = self.usize()?;
        if count > self.remaining() / item_bytes.max(1) {
            return Err(broken("a list longer than the rest of the document"));
        }
        Ok(count)
    }

    fn str(&mut self) -> Result<Box<str>, SnapshotError> {
        let length = self.usize()?;
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes)
            .map(Box::from)
            .map_err(|_| broken("text that is not UTF-8"))
    }

    fn f64(&mut self) -> Result<f64, SnapshotError> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(f64::from_le_bytes(array))
    }

    fn f32(&mut self) -> Result<f32, SnapshotError> {
        let bytes = self.take(4)?;
        let mut array = [0u8; 4];
        array.copy_from_slice(bytes);
        Ok(f32::from_le_bytes(array))
    }

    fn index(&mut self) -> Result<Index, SnapshotError> {
        let namespace_key = self.str()?;
        // A segment is at least a key length, a match type and a constraint count.
        let segment_count = self.count(3)?;
        let mut segments = Vec::with_capacity(segment_count.min(RESERVE));
        let mut segment_keys =
            HashSet::with_capacity_and_hasher(segment_count.min(RESERVE), FxBuildHasher);
        for _ in 0..segment_count {
            let segment = self.segment()?;
            if !segment_keys.insert(segment.key.clone()) {
                return Err(inconsistent(format!(
                    "segment {} twice",
                    quoted(&segment.key)
                )));
            }
            segments.push(segment);
        }
        // A flag is at least seven bytes: key length, enabled, kind, default and three counts.
        let flag_count = self.count(7)?;
        let mut flags = Vec::with_capacity(flag_count.min(RESERVE));
        let mut flag_positions =
            HashMap::with_capacity_and_hasher(flag_count.min(RESERVE), FxBuildHasher);
        for position in 0..flag_count {
            let flag = self.flag_item(segments.len())?;
            if flag_positions.insert(flag.key.clone(), position).is_some() {
                return Err(inconsistent(format!("flag {} twice", quoted(&flag.key))));
            }
            flags.push(flag);
        }
        Ok(Index {
            namespace_key,
            flags,
            flag_positions,
            segments,
        })
    }

    fn segment(&mut self) -> Result<CompiledSegment, SnapshotError> {
        let key = self.str()?;
        let match_type = self.code(match_type, "match type")?;
        // A constraint is at least two codes, two text lengths and an operand tag.
        let count = self.count(5)?;
        let mut constraints = Vec::with_capacity(count.min(RESERVE));
        for _ in 0..count {
            let kind = self.code(constraint_type, "constraint type")?;
            let operator = self.code(operator, "operator")?;
            if !operator.allowed_for(kind) {
                let message = format!(
                    "segment {}: operator {} on {}",
                    quoted(&key),
                    operator.as_str(),
                    kind.file_name()
                );
                return Err(inconsistent(message));
            }
            let property = self.str()?;
            let value = self.str()?;
            let operand = self.operand()?;
            if operand_tag(&operand) != expected_operand(kind, operator) {
                let message = format!(
                    "segment {}: an operand of the wrong form for {} on {}",
                    quoted(&key),
                    operator.as_str(),
                    kind.file_name()
                );
                return Err(inconsistent(message));
            }
            constraints.push(CompiledConstraint {
                kind,
                operator,
                property,
                value,
                operand,
            });
        }
        Ok(CompiledSegment {
            key,
            match_type,
            constraints: constraints.into_boxed_slice(),
        })
    }

    fn operand(&mut self) -> Result<Operand, SnapshotError> {
        Ok(match self.byte()? {
            OPERAND_NONE => Operand::None,
            OPERAND_TEXT => Operand::Text(self.str()?),
            OPERAND_NUMBER => Operand::Number(self.number()?),
            OPERAND_TIMESTAMP => {
                let zigzag = self.varint()?;
                Operand::Timestamp(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
            }
            OPERAND_TEXT_SET => {
                let count = self.count(1)?;
                let mut set = HashSet::with_capacity_and_hasher(count.min(RESERVE), FxBuildHasher);
                let mut previous: Option<Box<str>> = None;
                for _ in 0..count {
                    let member = self.str()?;
                    // Sorted and without duplicates, as written: one form per set.
                    if previous.as_deref().is_some_and(|before| before >= &*member) {
                        return Err(inconsistent("a text set out of order".into()));
                    }
                    previous = Some(member.clone());
                    set.insert(member);
                }
                Operand::TextSet(set)
            }
            OPERAND_NUMBER_SET => {
                let count = self.count(8)?;
                let mut numbers = Vec::with_capacity(count.min(RESERVE));
                for _ in 0..count {
                    numbers.push(self.number()?);
                }
                // Searched by binary search: the order must hold.
                if numbers
                    .windows(2)
                    .any(|pair| pair[0].total_cmp(&pair[1]).is_ge())
                {
                    return Err(inconsistent("a number set out of order".into()));
                }
                Operand::NumberSet(numbers.into_boxed_slice())
            }
            tag => return Err(broken(&format!("unknown operand tag {tag}"))),
        })
    }

    /// A number operand as the operand parser makes them: finite, and never -0 (a set is
    /// searched for +0).
    fn number(&mut self) -> Result<f64, SnapshotError> {
        let number = self.f64()?;
        if !number.is_finite() || (number == 0.0 && number.is_sign_negative()) {
            return Err(inconsistent(
                "a number operand that is not finite, or is -0".into(),
            ));
        }
        Ok(number)
    }

    fn flag_item(&mut self, segment_count: usize) -> Result<CompiledFlag, SnapshotError> {
        let key = self.str()?;
        let enabled = self.flag()?;
        let kind = self.code(flag_kind, "flag type")?;
        let default = self.usize()?;
        let variant_count = self.count(2)?;
        let mut variants = Vec::with_capacity(variant_count.min(RESERVE));
        for _ in 0..variant_count {
            variants.push(CompiledVariant {
                key: self.str()?,
                attachment: self.str()?,
            });
        }
        let out_of_place = |what: &str| inconsistent(format!("flag {}: {what}", quoted(&key)));
        let default_variant = match default {
            0 => None,
            n if n <= variants.len() => Some(n - 1),
            _ => {
                return Err(out_of_place(
                    "its default variant is not one of its variants",
                ))
            }
        };
        let rule_count = self.count(3)?;
        let mut rules = Vec::with_capacity(rule_count.min(RESERVE));
        for _ in 0..rule_count {
            let segments = self
                .group(segment_count)
                .map_err(|e| e.unwrap_or_else(|m| out_of_place(&m)))?;
            let bucket_count = self.count(2)?;
            let mut buckets = Vec::with_capacity(bucket_count.min(RESERVE));
            for _ in 0..bucket_count {
                let boundary = u32::try_from(self.varint()?).unwrap_or(u32::MAX);
                let variant = self.usize()?;
                if variant >= variants.len() {
                    return Err(out_of_place("a rule names a variant it does not have"));
                }
                buckets.push((boundary, variant));
            }
            let ordered = buckets.windows(2).all(|pair| pair[0].0 <= pair[1].0);
            let last = buckets
                .last()
                .map_or(VARIANT_BUCKETS, |&(boundary, _)| boundary);
            if !ordered || last != VARIANT_BUCKETS {
                return Err(out_of_place(
                    "a rule's bucket boundaries do not rise to 1000",
                ));
            }
            rules.push(CompiledRule {
                segments,
                buckets: buckets.into_boxed_slice(),
            });
        }
        let rollout_count = self.count(3)?;
        let mut rollouts = Vec::with_capacity(rollout_count.min(RESERVE));
        for _ in 0..rollout_count {
            rollouts.push(match self.byte()? {
                ROLLOUT_THRESHOLD => {
                    let percentage = self.f32()?;
                    if !(0.0..=100.0).contains(&percentage) {
                        return Err(out_of_place("a threshold outside 0..100"));
                    }
                    CompiledRollout::Threshold {
                        percentage,
                        value: self.flag()?,
                    }
                }
                ROLLOUT_SEGMENT => CompiledRollout::Segment {
                    segments: self
                        .group(segment_count)
                        .map_err(|e| e.unwrap_or_else(|m| out_of_place(&m)))?,
                    value: self.flag()?,
                },
                tag => return Err(broken(&format!("unknown rollout tag {tag}"))),
            });
        }
        Ok(CompiledFlag {
            key,
            enabled,
            kind,
            variants,
            default_variant,
            rules,
            rollouts,
        })
    }

    /// A segment group: `Err(Ok(error))` for a malformed document, `Err(Err(message))` for
    /// references out of place, which the caller names with its flag.
    fn group(
        &mut self,
        segment_count: usize,
    ) -> Result<SegmentGroup, Result<SnapshotError, String>> {
        let operator = self
            .code(segment_operator, "segment operator")
            .map_err(Ok)?;
        let count = self.count(1).map_err(Ok)?;
        if count == 0 || count > MAX_SEGMENTS_PER_RULE {
            return Err(Err(format!(
                "a rule or rollout with {count} segments (1 to {MAX_SEGMENTS_PER_RULE})"
            )));
        }
        let mut positions = Vec::with_capacity(count.min(RESERVE));
        for _ in 0..count {
            let position = self.usize().map_err(Ok)?;
            if position >= segment_count {
                return Err(Err(
                    "a rule or rollout names a segment that is not there".into()
                ));
            }
            positions.push(position);
        }
        Ok(SegmentGroup {
            positions: positions.into_boxed_slice(),
            operator,
        })
    }
}
