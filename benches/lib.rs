//! Fixtures for the benchmarks: a realistic namespace and the requests that exercise it, and
//! flag files of any size (`flag_file`).

mod flag_file;
pub use flag_file::flag_file;

use std::collections::BTreeMap;

use serde_json::json;
use vexil_eval::model::*;

/// How many flags of each type the bench namespace has.
pub const FLAGS_PER_TYPE: usize = 24;

fn constraint(kind: ConstraintType, property: &str, operator: Operator, value: &str) -> Constraint {
    Constraint {
        kind,
        property: property.into(),
        operator,
        value: value.into(),
        description: String::new(),
    }
}

fn segments() -> Vec<Segment> {
    use ConstraintType::{Boolean, DateTime, EntityId, Number, String as Text};
    use Operator::*;
    let segment = |key: &str, match_type, constraints| Segment {
        key: key.into(),
        name: key.into(),
        description: String::new(),
        match_type,
        constraints,
    };
    vec![
        segment(
            "internal",
            MatchType::Any,
            vec![
                constraint(EntityId, "", Suffix, "@example.com"),
                constraint(Text, "role", IsOneOf, r#"["admin","support","qa"]"#),
            ],
        ),
        segment(
            "paying",
            MatchType::All,
            vec![
                constraint(Text, "plan", IsOneOf, r#"["pro","team","enterprise"]"#),
                constraint(Number, "seats", Gte, "2"),
                constraint(Boolean, "verified", True, ""),
            ],
        ),
        segment(
            "europe",
            MatchType::Any,
            vec![
                constraint(
                    Text,
                    "country",
                    IsOneOf,
                    r#"["NL","DE","FR","ES","IT","PL"]"#,
                ),
                constraint(Text, "timezone", Prefix, "Europe/"),
            ],
        ),
        segment(
            "new-accounts",
            MatchType::All,
            vec![
                constraint(DateTime, "signup", Gt, "2024-01-01T00:00:00Z"),
                constraint(Text, "email", NotContains, "+test"),
            ],
        ),
        segment(
            "mobile",
            MatchType::All,
            vec![
                constraint(Text, "client", IsOneOf, r#"["ios","android"]"#),
                constraint(Number, "build", Gte, "420"),
            ],
        ),
    ]
}

/// A namespace of `2 * FLAGS_PER_TYPE` flags, each with several rules or rollouts over five
/// shared segments of two or three constraints.
pub fn namespace() -> Namespace {
    let variant = |key: &str, default| Variant {
        key: key.into(),
        name: key.into(),
        description: String::new(),
        attachment: Some(json!({ "key": key, "weight": 3 })),
        default,
    };
    let rule = |keys: &[&str], operator, split: &[(&str, f32)]| Rule {
        segment_keys: keys.iter().map(|key| key.to_string()).collect(),
        segment_operator: operator,
        distributions: split
            .iter()
            .map(|(variant, rollout)| Distribution {
                variant_key: variant.to_string(),
                rollout: *rollout,
            })
            .collect(),
    };
    let mut flags = Vec::new();
    for n in 0..FLAGS_PER_TYPE {
        flags.push(Flag {
            key: format!("experiment-{n}"),
            name: format!("Experiment {n}"),
            description: String::new(),
            enabled: n % 8 != 7,
            kind: FlagKind::Variant,
            metadata: BTreeMap::new(),
            variants: vec![
                variant("control", true),
                variant("a", false),
                variant("b", false),
            ],
            rules: vec![
                rule(&["internal"], SegmentOperator::Or, &[("a", 100.0)]),
                rule(
                    &["paying", "europe"],
                    SegmentOperator::And,
                    &[("control", 33.33), ("a", 33.33), ("b", 33.34)],
                ),
                rule(
                    &["new-accounts", "mobile"],
                    SegmentOperator::Or,
                    &[("control", 50.0), ("b", 50.0)],
                ),
            ],
            rollouts: vec![],
        });
        flags.push(Flag {
            key: format!("release-{n}"),
            name: format!("Release {n}"),
            description: String::new(),
            enabled: n % 2 == 0,
            kind: FlagKind::Boolean,
            metadata: BTreeMap::new(),
            variants: vec![],
            rules: vec![],
            rollouts: vec![
                Rollout {
                    description: String::new(),
                    kind: RolloutKind::Segment {
                        segment_keys: vec!["internal".into()],
                        segment_operator: SegmentOperator::Or,
                        value: true,
                    },
                },
                Rollout {
                    description: String::new(),
                    kind: RolloutKind::Segment {
                        segment_keys: vec!["paying".into(), "mobile".into()],
                        segment_operator: SegmentOperator::And,
                        value: true,
                    },
                },
                Rollout {
                    description: String::new(),
                    kind: RolloutKind::Threshold {
                        percentage: 25.0,
                        value: true,
                    },
                },
            ],
        });
    }
    Namespace {
        key: "bench".into(),
        name: "Bench".into(),
        description: String::new(),
        flags,
        segments: segments(),
    }
}

/// A request: flag key, entity id, context pairs.
pub type BenchRequest = (String, String, Vec<(String, String)>);

/// Requests across every flag, with a mix of contexts that stop at different rules.
pub fn requests() -> Vec<BenchRequest> {
    let contexts: [&[(&str, &str)]; 4] = [
        &[("role", "admin")],
        &[
            ("plan", "team"),
            ("seats", "12"),
            ("verified", "true"),
            ("country", "DE"),
            ("client", "web"),
        ],
        &[
            ("plan", "free"),
            ("signup", "2024-06-01T12:00:00Z"),
            ("email", "sam@example.org"),
            ("client", "ios"),
            ("build", "512"),
        ],
        &[
            ("plan", "free"),
            ("country", "US"),
            ("timezone", "America/Chicago"),
        ],
    ];
    let mut requests = Vec::new();
    for n in 0..FLAGS_PER_TYPE {
        for (c, context) in contexts.iter().enumerate() {
            let pairs: Vec<(String, String)> = context
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect();
            for flag in [format!("experiment-{n}"), format!("release-{n}")] {
                requests.push((flag, format!("user-{}", n * 7 + c), pairs.clone()));
            }
        }
    }
    requests
}
