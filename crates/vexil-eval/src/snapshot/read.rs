//! Reading a snapshot: JSON text to a [`Namespace`].
//!
//! The JSON is deserialized into borrowed documents (`&str` into the input wherever a string has
//! no escapes), then turned into the model: the reader allocates what the namespace keeps and
//! little else. (The wasm engine reads no JSON, so the derived visitors cost it nothing.) An
//! absent field and `null` are the same: the field's default; unknown fields are ignored.
//!
//! Segments, inlined in every rule and rollout of a snapshot, are collected by key; variants are
//! rebuilt from distributions and the default variant (a snapshot has no others).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{error, syntax_error, SnapshotError, SEGMENT_ROLLOUT_TYPE};
use crate::message::quoted;
use crate::model::{
    Constraint, ConstraintType, Distribution, Flag, FlagKind, MatchType, Namespace, Operator,
    Rollout, RolloutKind, Rule, Segment, SegmentOperator, Variant,
};

/// Text as it is in the input, or unescaped when it had escapes.
type Text<'a> = Cow<'a, str>;

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    namespace: Option<NamespaceDoc<'a>>,
    #[serde(borrow)]
    digest: Option<Text<'a>>,
    #[serde(borrow, default)]
    flags: Option<Vec<FlagDoc<'a>>>,
}

#[derive(Deserialize)]
struct NamespaceDoc<'a> {
    #[serde(borrow)]
    key: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlagDoc<'a> {
    #[serde(borrow)]
    key: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    description: Option<Text<'a>>,
    enabled: Option<bool>,
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    default_variant: Option<VariantDoc<'a>>,
    #[serde(borrow)]
    rules: Option<Vec<RuleDoc<'a>>>,
    #[serde(borrow)]
    rollouts: Option<Vec<RolloutDoc<'a>>>,
}

#[derive(Deserialize)]
struct VariantDoc<'a> {
    #[serde(borrow)]
    key: Option<Text<'a>>,
    #[serde(borrow)]
    attachment: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleDoc<'a> {
    #[serde(borrow)]
    segments: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    segment_operator: Option<Text<'a>>,
    #[serde(borrow)]
    distributions: Option<Vec<DistributionDoc<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DistributionDoc<'a> {
    #[serde(borrow)]
    variant_key: Option<Text<'a>>,
    #[serde(borrow)]
    variant_attachment: Option<Text<'a>>,
    rollout: Option<f64>,
}

#[derive(Deserialize)]
struct RolloutDoc<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    threshold: Option<ThresholdDoc>,
    #[serde(borrow)]
    segment: Option<SegmentRolloutDoc<'a>>,
}

#[derive(Deserialize)]
struct ThresholdDoc {
    percentage: Option<f64>,
    value: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SegmentRolloutDoc<'a> {
    value: Option<bool>,
    #[serde(borrow)]
    segment_operator: Option<Text<'a>>,
    #[serde(borrow)]
    segments: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SegmentDoc<'a> {
    #[serde(borrow)]
    key: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    description: Option<Text<'a>>,
    #[serde(borrow)]
    match_type: Option<Text<'a>>,
    #[serde(borrow)]
    constraints: Option<Vec<ConstraintDoc<'a>>>,
}

#[derive(Deserialize)]
struct ConstraintDoc<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    property: Option<Text<'a>>,
    #[serde(borrow)]
    operator: Option<Text<'a>>,
    #[serde(borrow)]
    value: Option<Text<'a>>,
}

/// Reads a snapshot and the digest it names itself with (`""` without a `digest` field).
pub(super) fn read(json: &[u8]) -> Result<(Namespace, String), SnapshotError> {
    let document: Document<'_> = serde_json::from_slice(json).map_err(|e| {
        // A value of the wrong type is a shape problem; anything else, the JSON's.
        if e.classify() == serde_json::error::Category::Data {
            error(format!("snapshot: {e}"))
        } else {
            syntax_error(e.to_string())
        }
    })?;
    let namespace = document
        .namespace
        .ok_or_else(|| error("snapshot: missing field `namespace`".into()))?;
    let namespace_key = required(namespace.key, "snapshot", "key")?;
    let mut segments = SegmentCollector::default();
    let flags = document
        .flags
        .unwrap_or_default()
        .into_iter()
        .map(|flag| read_flag(flag, &mut segments))
        .collect::<Result<_, _>>()?;
    let namespace = Namespace {
        key: namespace_key.to_string(),
        name: namespace_key.to_string(),
        description: String::new(),
        flags,
        segments: segments.segments,
    };
    Ok((namespace, document.digest.unwrap_or_default().into_owned()))
}

/// A field that must be there (not absent, not null).
fn required<T>(value: Option<T>, path: &str, name: &str) -> Result<T, SnapshotError> {
    value.ok_or_else(|| error(format!("{path}: missing field `{name}`")))
}

fn read_flag<'a>(
    flag: FlagDoc<'a>,
    segments: &mut SegmentCollector<'a>,
) -> Result<Flag, SnapshotError> {
    let key = required(flag.key, "a flag", "key")?;
    let path = format!("flag {}", quoted(&key));
    let kind = match flag.kind.as_deref().unwrap_or(FlagKind::Variant.as_str()) {
        "VARIANT_FLAG_TYPE" => FlagKind::Variant,
        "BOOLEAN_FLAG_TYPE" => FlagKind::Boolean,
        other => {
            let message = format!("{path}: unknown flag type {}", quoted(other));
            return Err(error(message));
        }
    };
    let mut variants = Variants::default();
    if let Some(default) = flag.default_variant {
        let key = required(default.key, &path, "key")?;
        let attachment = default.attachment.unwrap_or_default();
        variants.add(&key, &attachment, true, &path)?;
    }
    let mut rules = Vec::new();
    for rule in flag.rules.unwrap_or_default() {
        let mut distributions = Vec::new();
        for distribution in rule.distributions.unwrap_or_default() {
            let variant_key = required(distribution.variant_key, &path, "variantKey")?;
            let attachment = distribution.variant_attachment.unwrap_or_default();
            variants.add(&variant_key, &attachment, false, &path)?;
            distributions.push(Distribution {
                variant_key: variant_key.into_owned(),
                // Narrowed to `f32` as serde narrows it.
                rollout: required(distribution.rollout, &path, "rollout")? as f32,
            });
        }
        rules.push(Rule {
            segment_keys: segments.add_all(rule.segments.unwrap_or_default(), &path)?,
            segment_operator: segment_operator(rule.segment_operator.as_deref(), &path)?,
            distributions,
        });
    }
    let mut rollouts = Vec::new();
    for rollout in flag.rollouts.unwrap_or_default() {
        let is_segment_type = rollout.kind.as_deref() == Some(SEGMENT_ROLLOUT_TYPE);
        let kind = match (rollout.threshold, rollout.segment) {
            (Some(threshold), _) if !is_segment_type => RolloutKind::Threshold {
                percentage: required(threshold.percentage, &path, "percentage")? as f32,
                value: required(threshold.value, &path, "value")?,
            },
            (_, Some(segment)) => RolloutKind::Segment {
                value: required(segment.value, &path, "value")?,
                segment_operator: segment_operator(segment.segment_operator.as_deref(), &path)?,
                segment_keys: segments.add_all(segment.segments.unwrap_or_default(), &path)?,
            },
            _ => {
                let message = format!("{path}: a rollout has no threshold or segment");
                return Err(error(message));
            }
        };
        rollouts.push(Rollout {
            description: String::new(),
            kind,
        });
    }
    Ok(Flag {
        key: key.into_owned(),
        name: flag.name.unwrap_or_default().into_owned(),
        description: flag.description.unwrap_or_default().into_owned(),
        enabled: flag.enabled.unwrap_or(false),
        kind,
        metadata: BTreeMap::new(),
        variants: variants.variants,
        rules,
        rollouts,
    })
}

fn read_segment(segment: &SegmentDoc<'_>, path: &str) -> Result<Segment, SnapshotError> {
    let key = required(segment.key.as_deref(), path, "key")?;
    let path = format!("{path}: segment {}", quoted(key));
    let match_type = match required(segment.match_type.as_deref(), &path, "matchType")? {
        "ALL_SEGMENT_MATCH_TYPE" => MatchType::All,
        "ANY_SEGMENT_MATCH_TYPE" => MatchType::Any,
        other => {
            let message = format!("{path}: unknown match type {}", quoted(other));
            return Err(error(message));
        }
    };
    let constraints = segment
        .constraints
        .iter()
        .flatten()
        .map(|constraint| {
            let kind_name = required(constraint.kind.as_deref(), &path, "type")?;
            let kind = ConstraintType::ALL
                .into_iter()
                .find(|kind| kind.snapshot_name() == kind_name)
                .ok_or_else(|| {
                    error(format!(
                        "{path}: unknown constraint type {}",
                        quoted(kind_name)
                    ))
                })?;
            let operator_name = required(constraint.operator.as_deref(), &path, "operator")?;
            let operator = Operator::parse(operator_name).ok_or_else(|| {
                error(format!(
                    "{path}: unknown operator {}",
                    quoted(operator_name)
                ))
            })?;
            Ok(Constraint {
                kind,
                property: required(constraint.property.as_deref(), &path, "property")?.into(),
                operator,
                value: constraint.value.as_deref().unwrap_or_default().into(),
                description: String::new(),
            })
        })
        .collect::<Result<_, _>>()?;
    let name = segment.name.as_deref().filter(|name| !name.is_empty());
    Ok(Segment {
        key: key.into(),
        name: name.unwrap_or(key).into(),
        description: segment.description.as_deref().unwrap_or_default().into(),
        match_type,
        constraints,
    })
}

fn segment_operator(operator: Option<&str>, path: &str) -> Result<SegmentOperator, SnapshotError> {
    match operator {
        None | Some("OR_SEGMENT_OPERATOR") => Ok(SegmentOperator::Or),
        Some("AND_SEGMENT_OPERATOR") => Ok(SegmentOperator::And),
        Some(other) => Err(error(format!(
            "{path}: unknown segment operator {}",
            quoted(other)
        ))),
    }
}

/// Segments met while reading a snapshot, each kept once, in order of first appearance.
///
/// A snapshot repeats a segment in full in every rule and rollout naming it, so mentions are
/// kept as raw JSON text: one written as an earlier one is that segment (a comparison of bytes),
/// and only a new spelling is parsed.
#[derive(Default)]
struct SegmentCollector<'a> {
    segments: Vec<Segment>,
    positions: HashMap<String, usize>,
    /// Every spelling met so far, with the position of the segment it is.
    spellings: HashMap<&'a str, usize>,
}

impl<'a> SegmentCollector<'a> {
    fn add_all(
        &mut self,
        mentions: Vec<&'a RawValue>,
        path: &str,
    ) -> Result<Vec<String>, SnapshotError> {
        mentions
            .into_iter()
            .map(|mention| {
                let text = mention.get();
                if let Some(&position) = self.spellings.get(text) {
                    return Ok(self.segments[position].key.clone());
                }
                let document: SegmentDoc<'_> = serde_json::from_str(text)
                    .map_err(|e| error(format!("{path}: a segment: {e}")))?;
                let segment = read_segment(&document, path)?;
                let position = match self.positions.get(&segment.key) {
                    // Written differently is not yet different: compare what it means.
                    Some(&position) if self.segments[position] != segment => {
                        return Err(error(format!(
                            "{path}: segment {} is defined twice, differently",
                            quoted(&segment.key)
                        )));
                    }
                    Some(&position) => position,
                    None => {
                        self.positions
                            .insert(segment.key.clone(), self.segments.len());
                        self.segments.push(segment);
                        self.segments.len() - 1
                    }
                };
                self.spellings.insert(text, position);
                Ok(self.segments[position].key.clone())
            })
            .collect()
    }
}

/// The variants of one flag met while reading a snapshot.
#[derive(Default)]
struct Variants {
    variants: Vec<Variant>,
}

impl Variants {
    fn add(
        &mut self,
        key: &str,
        attachment: &str,
        default: bool,
        path: &str,
    ) -> Result<(), SnapshotError> {
        if self.variants.iter().any(|variant| variant.key == key) {
            return Ok(());
        }
        let attachment = if attachment.is_empty() {
            None
        } else {
            let value = serde_json::from_slice(attachment.as_bytes()).map_err(|_| {
                error(format!(
                    "{path}: the attachment of variant {} is not JSON",
                    quoted(key)
                ))
            })?;
            Some(value)
        };
        self.variants.push(Variant {
            key: key.into(),
            name: key.into(),
            description: String::new(),
            attachment,
            default,
        });
        Ok(())
    }
}
