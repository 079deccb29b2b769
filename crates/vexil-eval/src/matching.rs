//! Whether constraints, segments and segment groups match a request.

use crate::context::Request;
use crate::datetime::parse_timestamp;
use crate::index::{CompiledConstraint, CompiledSegment, Index, SegmentGroup};
use crate::model::{ConstraintType, MatchType, Operator, SegmentOperator};
use crate::operand::{parse_number, Operand};

/// The positions (within a group) of the segments that matched, as bits.
pub(crate) type SegmentMask = u64;

/// Tests a group's segments; `Some(mask)` when the group matches under its operator.
pub(crate) fn group_matches(
    index: &Index,
    group: &SegmentGroup,
    request: &Request<'_>,
) -> Option<SegmentMask> {
    let mut mask: SegmentMask = 0;
    for (bit, &position) in group.positions.iter().enumerate() {
        if segment_matches(&index.segments[position], request) {
            mask |= 1 << bit;
        } else if group.operator == SegmentOperator::And {
            return None;
        }
    }
    (mask != 0).then_some(mask)
}

pub(crate) fn segment_matches(segment: &CompiledSegment, request: &Request<'_>) -> bool {
    let mut constraints = segment.constraints.iter();
    let test = |constraint: &CompiledConstraint| constraint_matches(constraint, request);
    match segment.match_type {
        MatchType::All => constraints.all(test),
        MatchType::Any => segment.constraints.is_empty() || constraints.any(test),
    }
}

pub(crate) fn constraint_matches(constraint: &CompiledConstraint, request: &Request<'_>) -> bool {
    let value = match constraint.kind {
        ConstraintType::EntityId => request.entity_id,
        _ => request.property(&constraint.property),
    };
    value_matches(constraint, value)
}

/// The verdict of one constraint on the value it reads.
pub(crate) fn value_matches(constraint: &CompiledConstraint, value: &str) -> bool {
    match constraint.kind {
        ConstraintType::String | ConstraintType::EntityId => {
            text_matches(constraint.operator, &constraint.operand, value)
        }
        ConstraintType::Number => number_matches(constraint.operator, &constraint.operand, value),
        ConstraintType::Boolean => boolean_matches(constraint.operator, value),
        ConstraintType::DateTime => {
            timestamp_matches(constraint.operator, &constraint.operand, value)
        }
    }
}

fn text_matches(operator: Operator, operand: &Operand, value: &str) -> bool {
    match operator {
        Operator::Empty => return value.is_empty(),
        Operator::NotEmpty => return !value.is_empty(),
        // Flipt: every other text operator is false on an empty value, even the negative ones.
        _ if value.is_empty() => return false,
        _ => {}
    }
    match (operator, operand) {
        (Operator::Eq, Operand::Text(text)) => value == &**text,
        (Operator::Neq, Operand::Text(text)) => value != &**text,
        (Operator::Prefix, Operand::Text(text)) => value.starts_with(&**text),
        (Operator::Suffix, Operand::Text(text)) => value.ends_with(&**text),
        (Operator::Contains, Operand::Text(text)) => value.contains(&**text),
        (Operator::NotContains, Operand::Text(text)) => !value.contains(&**text),
        (Operator::IsOneOf, Operand::TextSet(set)) => set.contains(value),
        (Operator::IsNotOneOf, Operand::TextSet(set)) => !set.contains(value),
        _ => false,
    }
}

fn number_matches(operator: Operator, operand: &Operand, value: &str) -> bool {
    if let Some(verdict) = presence(operator, value) {
        return verdict;
    }
    // A value that is not a number matches nothing, as in Flipt.
    let Some(number) = parse_number(value) else {
        return false;
    };
    match operand {
        Operand::Number(target) => compare(operator, number, *target),
        Operand::NumberSet(set) => {
            // Adding 0.0 turns -0 into +0, as the set was built.
            let found = set
                .binary_search_by(|member| member.total_cmp(&(number + 0.0)))
                .is_ok();
            match operator {
                Operator::IsOneOf => found,
                Operator::IsNotOneOf => !found,
                _ => false,
            }
        }
        _ => false,
    }
}

fn boolean_matches(operator: Operator, value: &str) -> bool {
    if let Some(verdict) = presence(operator, value) {
        return verdict;
    }
    matches!(
        (operator, value),
        (Operator::True, "true") | (Operator::False, "false")
    )
}

fn timestamp_matches(operator: Operator, operand: &Operand, value: &str) -> bool {
    if let Some(verdict) = presence(operator, value) {
        return verdict;
    }
    match (operand, parse_timestamp(value)) {
        (Operand::Timestamp(target), Some(seconds)) => compare(operator, seconds, *target),
        _ => false,
    }
}

/// `present` and `notpresent` test for a non-empty value; every other operator is false on `""`.
fn presence(operator: Operator, value: &str) -> Option<bool> {
    match operator {
        Operator::Present => Some(!value.is_empty()),
        Operator::NotPresent => Some(value.is_empty()),
        _ if value.is_empty() => Some(false),
        _ => None,
    }
}

fn compare<T: PartialOrd>(operator: Operator, value: T, target: T) -> bool {
    match operator {
        Operator::Eq => value == target,
        Operator::Neq => value != target,
        Operator::Lt => value < target,
        Operator::Lte => value <= target,
        Operator::Gt => value > target,
        Operator::Gte => value >= target,
        _ => false,
    }
}
