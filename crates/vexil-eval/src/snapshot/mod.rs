//! Flipt's snapshot JSON: what clients download and evaluate locally.
//!
//! Writing is deterministic: the same namespace gives the same bytes on any machine (no
//! timestamps, no random ids: rule ids are `<flagKey>/<position>`), so the SHA-256 digest names a
//! revision. Reading accepts what Flipt serves, ignoring fields evaluation does not need.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{
    Constraint, ConstraintType, Distribution, Flag, FlagKind, MatchType, Namespace, Operator,
    Rollout, RolloutKind, Rule, Segment, SegmentOperator, Variant,
};

/// A namespace's snapshot JSON and its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The JSON text, `digest` field included.
    pub json: String,
    /// Lowercase hex SHA-256 of the JSON serialized without the `digest` field.
    pub digest: String,
}

/// Serializes a namespace to Flipt's snapshot JSON.
pub fn write_snapshot(namespace: &Namespace) -> Snapshot {
    let document = SnapshotDocument::from_model(namespace);
    // Serializing plain structs of strings, numbers and JSON values cannot fail.
    let mut json = serde_json::to_string(&document).unwrap_or_default();
    let digest = hex(&Sha256::digest(json.as_bytes()));
    // The digest is appended as the last field: same bytes as serializing it, with no second pass.
    json.pop();
    json.push_str(",\"digest\":\"");
    json.push_str(&digest);
    json.push_str("\"}");
    Snapshot { json, digest }
}

/// Why a snapshot could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError {
    message: String,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed snapshot: {}", self.message)
    }
}

impl std::error::Error for SnapshotError {}

fn error(message: String) -> SnapshotError {
    SnapshotError { message }
}

/// Reads Flipt's snapshot JSON back into a namespace.
///
/// Segments, inlined in every rule and rollout of a snapshot, are collected by key; variants are
/// rebuilt from distributions and the default variant (a snapshot has no others).
pub fn read_snapshot(json: &[u8]) -> Result<Namespace, SnapshotError> {
    let document: SnapshotDocument =
        serde_json::from_slice(json).map_err(|e| error(e.to_string()))?;
    document.into_model()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|byte| {
            [
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 15)],
            ]
        })
        .map(char::from)
        .collect()
}

#[derive(Serialize, Deserialize)]
struct SnapshotDocument {
    namespace: NamespaceRef,
    #[serde(default)]
    flags: Vec<SnapshotFlag>,
}

#[derive(Serialize, Deserialize)]
struct NamespaceRef {
    key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotFlag {
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    enabled: bool,
    #[serde(rename = "type", default = "variant_flag_type")]
    kind: String,
    #[serde(default)]
    rules: Vec<SnapshotRule>,
    #[serde(default)]
    rollouts: Vec<SnapshotRollout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_variant: Option<SnapshotVariant>,
}

fn variant_flag_type() -> String {
    FlagKind::Variant.as_str().into()
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotRule {
    #[serde(default)]
    id: String,
    #[serde(default)]
    rank: usize,
    #[serde(default = "or_operator")]
    segment_operator: String,
    #[serde(default)]
    segments: Vec<SnapshotSegment>,
    #[serde(default)]
    distributions: Vec<SnapshotDistribution>,
}

fn or_operator() -> String {
    SegmentOperator::Or.as_str().into()
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotDistribution {
    #[serde(default)]
    rule_id: String,
    variant_key: String,
    #[serde(default)]
    variant_attachment: String,
    rollout: f32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotRollout {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    rank: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    segment: Option<SnapshotRolloutSegment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold: Option<SnapshotThreshold>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotRolloutSegment {
    value: bool,
    #[serde(default = "or_operator")]
    segment_operator: String,
    #[serde(default)]
    segments: Vec<SnapshotSegment>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotThreshold {
    percentage: f32,
    value: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotSegment {
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    match_type: String,
    #[serde(default)]
    constraints: Vec<SnapshotConstraint>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotConstraint {
    #[serde(rename = "type")]
    kind: String,
    property: String,
    operator: String,
    #[serde(default)]
    value: String,
}

#[derive(Serialize, Deserialize)]
struct SnapshotVariant {
    id: String,
    key: String,
    #[serde(default)]
    attachment: String,
}

const SEGMENT_ROLLOUT_TYPE: &str = "SEGMENT_ROLLOUT_TYPE";
const THRESHOLD_ROLLOUT_TYPE: &str = "THRESHOLD_ROLLOUT_TYPE";

impl SnapshotDocument {
    fn from_model(namespace: &Namespace) -> SnapshotDocument {
        let flags = namespace
            .flags
            .iter()
            .map(|flag| SnapshotFlag::from_model(namespace, flag))
            .collect();
        SnapshotDocument {
            namespace: NamespaceRef {
                key: namespace.key.clone(),
            },
            flags,
        }
    }

    fn into_model(self) -> Result<Namespace, SnapshotError> {
        let mut segments = SegmentCollector::default();
        let flags = self
            .flags
            .into_iter()
            .map(|flag| flag.into_model(&mut segments))
            .collect::<Result<_, _>>()?;
        Ok(Namespace {
            name: self.namespace.key.clone(),
            key: self.namespace.key,
            description: String::new(),
            flags,
            segments: segments.segments,
        })
    }
}

impl SnapshotFlag {
    fn from_model(namespace: &Namespace, flag: &Flag) -> SnapshotFlag {
        let segments_of = |keys: &[String]| -> Vec<SnapshotSegment> {
            keys.iter()
                .filter_map(|key| namespace.segment(key))
                .map(SnapshotSegment::from_model)
                .collect()
        };
        let attachment_of = |key: &str| {
            flag.variants
                .iter()
                .find(|variant| variant.key == key)
                .map(attachment_text)
                .unwrap_or_default()
        };
        let rules = flag
            .rules
            .iter()
            .enumerate()
            .map(|(position, rule)| {
                let id = format!("{}/{}", flag.key, position);
                SnapshotRule {
                    distributions: rule
                        .distributions
                        .iter()
                        .map(|distribution| SnapshotDistribution {
                            rule_id: id.clone(),
                            variant_attachment: attachment_of(&distribution.variant_key),
                            variant_key: distribution.variant_key.clone(),
                            rollout: distribution.rollout,
                        })
                        .collect(),
                    id,
                    rank: position + 1,
                    segment_operator: rule.segment_operator.as_str().into(),
                    segments: segments_of(&rule.segment_keys),
                }
            })
            .collect();
        let rollouts = flag
            .rollouts
            .iter()
            .enumerate()
            .map(|(position, rollout)| match &rollout.kind {
                RolloutKind::Threshold { percentage, value } => SnapshotRollout {
                    kind: THRESHOLD_ROLLOUT_TYPE.into(),
                    rank: position + 1,
                    segment: None,
                    threshold: Some(SnapshotThreshold {
                        percentage: *percentage,
                        value: *value,
                    }),
                },
                RolloutKind::Segment {
                    segment_keys,
                    segment_operator,
                    value,
                } => SnapshotRollout {
                    kind: SEGMENT_ROLLOUT_TYPE.into(),
                    rank: position + 1,
                    segment: Some(SnapshotRolloutSegment {
                        value: *value,
                        segment_operator: segment_operator.as_str().into(),
                        segments: segments_of(segment_keys),
                    }),
                    threshold: None,
                },
            })
            .collect();
        SnapshotFlag {
            key: flag.key.clone(),
            name: flag.name.clone(),
            description: flag.description.clone(),
            enabled: flag.enabled,
            kind: flag.kind.as_str().into(),
            rules,
            rollouts,
            default_variant: flag.default_variant().map(|variant| SnapshotVariant {
                id: format!("{}/{}", flag.key, variant.key),
                key: variant.key.clone(),
                attachment: attachment_text(variant),
            }),
        }
    }

    fn into_model(self, segments: &mut SegmentCollector) -> Result<Flag, SnapshotError> {
        let path = format!("flag {:?}", self.key);
        let kind = match self.kind.as_str() {
            "VARIANT_FLAG_TYPE" => FlagKind::Variant,
            "BOOLEAN_FLAG_TYPE" => FlagKind::Boolean,
            other => return Err(error(format!("{path}: unknown flag type {other:?}"))),
        };
        let mut variants = Variants::default();
        if let Some(default) = &self.default_variant {
            variants.add(&default.key, &default.attachment, true, &path)?;
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        for rule in self.rules {
            let mut distributions = Vec::with_capacity(rule.distributions.len());
            for distribution in rule.distributions {
                variants.add(
                    &distribution.variant_key,
                    &distribution.variant_attachment,
                    false,
                    &path,
                )?;
                distributions.push(Distribution {
                    variant_key: distribution.variant_key,
                    rollout: distribution.rollout,
                });
            }
            rules.push(Rule {
                segment_keys: segments.add_all(rule.segments, &path)?,
                segment_operator: parse_segment_operator(&rule.segment_operator, &path)?,
                distributions,
            });
        }
        let mut rollouts = Vec::with_capacity(self.rollouts.len());
        for rollout in self.rollouts {
            let kind = match (rollout.threshold, rollout.segment) {
                (Some(threshold), _) if rollout.kind != SEGMENT_ROLLOUT_TYPE => {
                    RolloutKind::Threshold {
                        percentage: threshold.percentage,
                        value: threshold.value,
                    }
                }
                (_, Some(segment)) => RolloutKind::Segment {
                    segment_operator: parse_segment_operator(&segment.segment_operator, &path)?,
                    segment_keys: segments.add_all(segment.segments, &path)?,
                    value: segment.value,
                },
                _ => {
                    return Err(error(format!(
                        "{path}: a rollout has no threshold or segment"
                    )))
                }
            };
            rollouts.push(Rollout {
                description: String::new(),
                kind,
            });
        }
        Ok(Flag {
            key: self.key,
            name: self.name,
            description: self.description,
            enabled: self.enabled,
            kind,
            metadata: BTreeMap::new(),
            variants: variants.variants,
            rules,
            rollouts,
        })
    }
}

impl SnapshotSegment {
    fn from_model(segment: &Segment) -> SnapshotSegment {
        SnapshotSegment {
            key: segment.key.clone(),
            name: segment.name.clone(),
            description: segment.description.clone(),
            match_type: segment.match_type.snapshot_name().into(),
            constraints: segment
                .constraints
                .iter()
                .map(|constraint| SnapshotConstraint {
                    kind: constraint.kind.snapshot_name().into(),
                    property: constraint.property.clone(),
                    operator: constraint.operator.as_str().into(),
                    value: wire_value(constraint),
                })
                .collect(),
        }
    }

    fn into_model(self, path: &str) -> Result<Segment, SnapshotError> {
        let path = format!("{path}: segment {:?}", self.key);
        let match_type = match self.match_type.as_str() {
            "ALL_SEGMENT_MATCH_TYPE" => MatchType::All,
            "ANY_SEGMENT_MATCH_TYPE" => MatchType::Any,
            other => return Err(error(format!("{path}: unknown match type {other:?}"))),
        };
        let constraints = self
            .constraints
            .into_iter()
            .map(|constraint| {
                let kind = ConstraintType::ALL
                    .into_iter()
                    .find(|kind| kind.snapshot_name() == constraint.kind)
                    .ok_or_else(|| {
                        error(format!(
                            "{path}: unknown constraint type {:?}",
                            constraint.kind
                        ))
                    })?;
                let operator = Operator::parse(&constraint.operator).ok_or_else(|| {
                    error(format!(
                        "{path}: unknown operator {:?}",
                        constraint.operator
                    ))
                })?;
                Ok(Constraint {
                    kind,
                    property: constraint.property,
                    operator,
                    value: constraint.value,
                    description: String::new(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Segment {
            name: if self.name.is_empty() {
                self.key.clone()
            } else {
                self.name
            },
            key: self.key,
            description: self.description,
            match_type,
            constraints,
        })
    }
}

/// The constraint value as clients read it. A bare `YYYY-MM-DD` date (a Vexil extension) is sent
/// as midnight UTC in full RFC 3339, which Flipt's engines parse: the same instant either way.
fn wire_value(constraint: &Constraint) -> String {
    let is_bare_date = constraint.kind == ConstraintType::DateTime
        && constraint.value.len() == 10
        && crate::datetime::parse_timestamp(&constraint.value).is_some();
    if is_bare_date {
        format!("{}T00:00:00Z", constraint.value)
    } else {
        constraint.value.clone()
    }
}

fn parse_segment_operator(name: &str, path: &str) -> Result<SegmentOperator, SnapshotError> {
    match name {
        "OR_SEGMENT_OPERATOR" => Ok(SegmentOperator::Or),
        "AND_SEGMENT_OPERATOR" => Ok(SegmentOperator::And),
        other => Err(error(format!("{path}: unknown segment operator {other:?}"))),
    }
}

/// The attachment as Flipt sends it: compact JSON text, `""` for none.
fn attachment_text(variant: &Variant) -> String {
    variant
        .attachment
        .as_ref()
        .map(|value| value.to_string())
        .unwrap_or_default()
}

/// Segments met while reading a snapshot, each kept once, in order of first appearance.
#[derive(Default)]
struct SegmentCollector {
    segments: Vec<Segment>,
}

impl SegmentCollector {
    fn add_all(
        &mut self,
        segments: Vec<SnapshotSegment>,
        path: &str,
    ) -> Result<Vec<String>, SnapshotError> {
        segments
            .into_iter()
            .map(|segment| {
                let key = segment.key.clone();
                let segment = segment.into_model(path)?;
                match self.segments.iter().find(|known| known.key == key) {
                    Some(known) if *known != segment => Err(error(format!(
                        "{path}: segment {key:?} is defined twice, differently"
                    ))),
                    Some(_) => Ok(key),
                    None => {
                        self.segments.push(segment);
                        Ok(key)
                    }
                }
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
            let value = serde_json::from_str(attachment).map_err(|_| {
                error(format!(
                    "{path}: the attachment of variant {key:?} is not JSON"
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
