//! The evaluation index: a namespace compiled once, so that evaluation only reads.
//!
//! Compiling resolves every reference (segment and variant keys become positions), parses every
//! constraint operand, turns `isoneof` lists into sets and distributions into bucket boundaries.
//! Segments are compiled once and shared by every rule and rollout that names them.

use std::collections::HashMap;
use std::fmt;

use rustc_hash::FxBuildHasher;

use crate::bucket::distribution_boundaries;
use crate::message::{number, quoted};
use crate::model::{
    ConstraintType, FlagKind, MatchType, Namespace, Operator, RolloutKind, SegmentOperator,
};
use crate::operand::{parse_operand, Operand};

/// The most segments one rule or rollout may name: matched segments are tracked in a `u64`.
pub const MAX_SEGMENTS_PER_RULE: usize = 64;

/// A compiled namespace, ready to evaluate.
#[derive(Debug)]
pub struct Index {
    pub(crate) namespace_key: Box<str>,
    pub(crate) flags: Vec<CompiledFlag>,
    pub(crate) flag_positions: HashMap<Box<str>, usize, FxBuildHasher>,
    pub(crate) segments: Vec<CompiledSegment>,
}

#[derive(Debug)]
pub(crate) struct CompiledFlag {
    pub(crate) key: Box<str>,
    pub(crate) enabled: bool,
    pub(crate) kind: FlagKind,
    pub(crate) variants: Vec<CompiledVariant>,
    pub(crate) default_variant: Option<usize>,
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) rollouts: Vec<CompiledRollout>,
}

/// A variant as evaluation returns it.
#[derive(Debug)]
pub struct CompiledVariant {
    pub(crate) key: Box<str>,
    /// The attachment as compact JSON text, `""` when there is none (Flipt's wire form).
    pub(crate) attachment: Box<str>,
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) segments: SegmentGroup,
    /// `(boundary, variant position)` in ascending boundary order; the last boundary is 1000.
    pub(crate) buckets: Box<[(u32, usize)]>,
}

#[derive(Debug)]
pub(crate) enum CompiledRollout {
    Threshold { percentage: f32, value: bool },
    Segment { segments: SegmentGroup, value: bool },
}

/// The segments of one rule or rollout and how they combine.
#[derive(Debug)]
pub(crate) struct SegmentGroup {
    pub(crate) positions: Box<[usize]>,
    pub(crate) operator: SegmentOperator,
}

#[derive(Debug)]
pub(crate) struct CompiledSegment {
    pub(crate) key: Box<str>,
    pub(crate) match_type: MatchType,
    pub(crate) constraints: Box<[CompiledConstraint]>,
}

#[derive(Debug)]
pub(crate) struct CompiledConstraint {
    pub(crate) kind: ConstraintType,
    pub(crate) property: Box<str>,
    pub(crate) operator: Operator,
    pub(crate) operand: Operand,
    /// The operand as written, for explanations.
    pub(crate) value: Box<str>,
}

/// Why a namespace does not compile: the first problem found, with its path in the namespace.
///
/// Flag files are validated completely before they get here; this guards snapshots and other
/// programmatic input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    kind: CompileErrorKind,
    path: String,
    message: String,
}

/// What kind of problem stopped a compile.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// Two flags, or two segments, with one key.
    DuplicateKey,
    /// An operator that does not apply to the constraint's type.
    OperatorNotAllowed,
    /// A constraint value its operator cannot use.
    InvalidOperand,
    /// A rule or rollout naming no segment, or more than [`MAX_SEGMENTS_PER_RULE`].
    SegmentCount,
    /// A reference to a segment or variant the namespace does not have.
    UnknownReference,
    /// A percentage outside 0..=100.
    OutOfRange,
}

impl CompileError {
    fn new(kind: CompileErrorKind, path: String, message: String) -> CompileError {
        CompileError {
            kind,
            path,
            message,
        }
    }

    /// The kind of problem.
    pub fn kind(&self) -> CompileErrorKind {
        self.kind
    }

    /// Where in the namespace, e.g. `flags[2].rules[0].distributions[1]`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong there.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for CompileError {}

impl Index {
    /// Compiles a namespace, checking every reference and operand.
    pub fn compile(namespace: &Namespace) -> Result<Index, CompileError> {
        let mut segments = Vec::with_capacity(namespace.segments.len());
        let mut segment_positions =
            HashMap::with_capacity_and_hasher(namespace.segments.len(), FxBuildHasher);
        for (segment_idx, segment) in namespace.segments.iter().enumerate() {
            let path = format!("segments[{segment_idx}]");
            if segment_positions
                .insert(segment.key.as_str(), segments.len())
                .is_some()
            {
                let message = format!("duplicate segment key {}", quoted(&segment.key));
                return Err(CompileError::new(
                    CompileErrorKind::DuplicateKey,
                    path,
                    message,
                ));
            }
            let constraints = segment
                .constraints
                .iter()
                .enumerate()
                .map(|(constraint_idx, constraint)| {
                    let path = format!("{path}.constraints[{constraint_idx}]");
                    if !constraint.operator.allowed_for(constraint.kind) {
                        let message = format!(
                            "operator \"{}\" does not apply to {}",
                            constraint.operator.as_str(),
                            constraint.kind.file_name()
                        );
                        let kind = CompileErrorKind::OperatorNotAllowed;
                        return Err(CompileError::new(kind, path, message));
                    }
                    let operand =
                        parse_operand(constraint.kind, constraint.operator, &constraint.value)
                            .map_err(|error| {
                                let kind = CompileErrorKind::InvalidOperand;
                                CompileError::new(kind, path, error.to_string())
                            })?;
                    Ok(CompiledConstraint {
                        kind: constraint.kind,
                        property: constraint.property.as_str().into(),
                        operator: constraint.operator,
                        operand,
                        value: constraint.value.as_str().into(),
                    })
                })
                .collect::<Result<_, _>>()?;
            segments.push(CompiledSegment {
                key: segment.key.as_str().into(),
                match_type: segment.match_type,
                constraints,
            });
        }

        let resolve_segments = |path: &str, keys: &[String], operator: SegmentOperator| {
            if keys.is_empty() {
                let kind = CompileErrorKind::SegmentCount;
                return Err(CompileError::new(
                    kind,
                    path.into(),
                    "names no segment".into(),
                ));
            }
            if keys.len() > MAX_SEGMENTS_PER_RULE {
                let message = format!(
                    "names {} segments; at most {MAX_SEGMENTS_PER_RULE} are supported",
                    keys.len()
                );
                let kind = CompileErrorKind::SegmentCount;
                return Err(CompileError::new(kind, path.into(), message));
            }
            let positions = keys
                .iter()
                .map(|key| {
                    segment_positions.get(key.as_str()).copied().ok_or_else(|| {
                        let message = format!("unknown segment {}", quoted(key));
                        CompileError::new(CompileErrorKind::UnknownReference, path.into(), message)
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(SegmentGroup {
                positions,
                operator,
            })
        };

        let mut flags = Vec::with_capacity(namespace.flags.len());
        let mut flag_positions =
            HashMap::with_capacity_and_hasher(namespace.flags.len(), FxBuildHasher);
        for (flag_idx, flag) in namespace.flags.iter().enumerate() {
            let path = format!("flags[{flag_idx}]");
            if flag_positions
                .insert(Box::from(flag.key.as_str()), flags.len())
                .is_some()
            {
                let message = format!("duplicate flag key {}", quoted(&flag.key));
                return Err(CompileError::new(
                    CompileErrorKind::DuplicateKey,
                    path,
                    message,
                ));
            }
            let variants: Vec<CompiledVariant> = flag
                .variants
                .iter()
                .map(|variant| CompiledVariant {
                    key: variant.key.as_str().into(),
                    attachment: variant
                        .attachment
                        .as_ref()
                        .map(|value| serde_json::to_string(value).unwrap_or_default().into())
                        .unwrap_or_default(),
                })
                .collect();
            let variant_position = |key: &str| variants.iter().position(|v| &*v.key == key);
            let mut rules = Vec::with_capacity(flag.rules.len());
            for (rule_idx, rule) in flag.rules.iter().enumerate() {
                let path = format!("{path}.rules[{rule_idx}]");
                let segments = resolve_segments(&path, &rule.segment_keys, rule.segment_operator)?;
                let mut positions = Vec::with_capacity(rule.distributions.len());
                for (distribution_idx, distribution) in rule.distributions.iter().enumerate() {
                    let path = format!("{path}.distributions[{distribution_idx}]");
                    let position =
                        variant_position(&distribution.variant_key).ok_or_else(|| {
                            let message =
                                format!("unknown variant {}", quoted(&distribution.variant_key));
                            CompileError::new(
                                CompileErrorKind::UnknownReference,
                                path.clone(),
                                message,
                            )
                        })?;
                    if !(0.0..=100.0).contains(&distribution.rollout) {
                        let message =
                            format!("rollout {} is outside 0..100", number(distribution.rollout));
                        return Err(CompileError::new(
                            CompileErrorKind::OutOfRange,
                            path,
                            message,
                        ));
                    }
                    positions.push(position);
                }
                let rollouts = rule.distributions.iter().map(|d| d.rollout);
                let buckets = distribution_boundaries(rollouts)
                    .map(|(boundary, distribution_idx)| (boundary, positions[distribution_idx]))
                    .collect();
                rules.push(CompiledRule { segments, buckets });
            }
            let mut rollouts = Vec::with_capacity(flag.rollouts.len());
            for (rollout_idx, rollout) in flag.rollouts.iter().enumerate() {
                let path = format!("{path}.rollouts[{rollout_idx}]");
                rollouts.push(match &rollout.kind {
                    RolloutKind::Threshold { percentage, value } => {
                        if !(0.0..=100.0).contains(percentage) {
                            let message =
                                format!("percentage {} is outside 0..100", number(*percentage));
                            let kind = CompileErrorKind::OutOfRange;
                            return Err(CompileError::new(kind, path, message));
                        }
                        CompiledRollout::Threshold {
                            percentage: *percentage,
                            value: *value,
                        }
                    }
                    RolloutKind::Segment {
                        segment_keys,
                        segment_operator,
                        value,
                    } => CompiledRollout::Segment {
                        segments: resolve_segments(&path, segment_keys, *segment_operator)?,
                        value: *value,
                    },
                });
            }
            flags.push(CompiledFlag {
                key: flag.key.as_str().into(),
                enabled: flag.enabled,
                kind: flag.kind,
                default_variant: flag.variants.iter().position(|variant| variant.default),
                variants,
                rules,
                rollouts,
            });
        }

        Ok(Index {
            namespace_key: namespace.key.as_str().into(),
            flags,
            flag_positions,
            segments,
        })
    }

    /// The key of the compiled namespace.
    pub fn namespace_key(&self) -> &str {
        &self.namespace_key
    }

    /// The flags, in file order, as `(key, kind, enabled)`.
    pub fn flags(&self) -> impl ExactSizeIterator<Item = (&str, FlagKind, bool)> {
        self.flags
            .iter()
            .map(|flag| (&*flag.key, flag.kind, flag.enabled))
    }

    /// The key of the flag at `flag_position` in [`Index::flags`]' order.
    pub fn flag_key(&self, flag_position: usize) -> Option<&str> {
        self.flags.get(flag_position).map(|flag| &*flag.key)
    }

    /// The variants of the flag at `flag_position` in [`Index::flags`]' order (none if there is
    /// no such flag), in file order: an evaluation's `variant` is one of them.
    pub fn variants(&self, flag_position: usize) -> &[CompiledVariant] {
        self.flags
            .get(flag_position)
            .map(|flag| &*flag.variants)
            .unwrap_or(&[])
    }

    /// The segment keys of each rule (of a variant flag) or rollout (of a boolean flag) of the
    /// flag at `flag_position`, in order; a threshold rollout names none. An evaluation's `rule`
    /// or `rollout` is a position in this list, and its matched segments a mask over that group.
    pub fn segment_groups(
        &self,
        flag_position: usize,
    ) -> impl ExactSizeIterator<Item = impl ExactSizeIterator<Item = &str>> {
        let groups: Vec<&[usize]> = match self.flags.get(flag_position) {
            None => Vec::new(),
            Some(flag) => match flag.kind {
                FlagKind::Variant => flag
                    .rules
                    .iter()
                    .map(|rule| &*rule.segments.positions)
                    .collect(),
                FlagKind::Boolean => flag
                    .rollouts
                    .iter()
                    .map(|rollout| match rollout {
                        CompiledRollout::Segment { segments, .. } => &*segments.positions,
                        CompiledRollout::Threshold { .. } => &[],
                    })
                    .collect(),
            },
        };
        groups.into_iter().map(|positions| {
            positions
                .iter()
                .map(|&position| &*self.segments[position].key)
        })
    }

    /// The context properties the flag at `flag_position` reads, each once, in the order its
    /// rules and then its rollouts reach them. Entity-id constraints read the entity id instead.
    /// A caller fetching context values from elsewhere (a JS object) needs only these.
    pub fn context_properties(&self, flag_position: usize) -> Vec<&str> {
        let Some(flag) = self.flags.get(flag_position) else {
            return Vec::new();
        };
        let rule_groups = flag.rules.iter().map(|rule| &rule.segments);
        let rollout_groups = flag.rollouts.iter().filter_map(|rollout| match rollout {
            CompiledRollout::Segment { segments, .. } => Some(segments),
            CompiledRollout::Threshold { .. } => None,
        });
        let mut names: Vec<&str> = Vec::new();
        for group in rule_groups.chain(rollout_groups) {
            for &position in group.positions.iter() {
                for constraint in self.segments[position].constraints.iter() {
                    let reads_context = constraint.kind != ConstraintType::EntityId;
                    if reads_context && !names.contains(&&*constraint.property) {
                        names.push(&constraint.property);
                    }
                }
            }
        }
        names
    }

    pub(crate) fn flag(&self, key: &str) -> Option<&CompiledFlag> {
        self.flag_positions
            .get(key)
            .map(|&position| &self.flags[position])
    }
}

impl CompiledVariant {
    /// The variant's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The attachment as JSON text, or `""`.
    pub fn attachment(&self) -> &str {
        &self.attachment
    }
}
