//! A valid namespace spread over two YAML documents and a JSON file, read field by field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use vexil_eval::model::{
    Constraint, ConstraintType, Distribution, Flag, FlagKind, MatchType, Namespace, Operator,
    Rollout, RolloutKind, Rule, Segment, SegmentOperator, Variant,
};
use vexil_flags::{load_dir, load_files};

const DIR: &str = "tests/fixtures/valid";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn constraint(kind: ConstraintType, property: &str, operator: Operator, value: &str) -> Constraint {
    Constraint {
        kind,
        property: property.to_string(),
        operator,
        value: value.to_string(),
        description: String::new(),
    }
}

fn variant(key: &str, name: &str) -> Variant {
    Variant {
        key: key.to_string(),
        name: name.to_string(),
        description: String::new(),
        attachment: None,
        default: false,
    }
}

fn distribution(variant_key: &str, rollout: f32) -> Distribution {
    Distribution {
        variant_key: variant_key.to_string(),
        rollout,
    }
}

fn expected_prod() -> Namespace {
    let mut age = constraint(ConstraintType::Number, "age", Operator::Gte, "18");
    age.description = "Adults only.".to_string();
    let beta_users = Segment {
        key: "beta-users".to_string(),
        name: "Beta users".to_string(),
        description: "Opted in, adult, early.".to_string(),
        match_type: MatchType::All,
        constraints: vec![
            constraint(
                ConstraintType::String,
                "plan",
                Operator::IsOneOf,
                r#"["gold","platinum"]"#,
            ),
            age,
            constraint(
                ConstraintType::DateTime,
                "signed_up",
                Operator::Lt,
                "2030-01-01",
            ),
        ],
    };
    let staff = Segment {
        key: "staff".to_string(),
        name: "Staff".to_string(),
        description: String::new(),
        match_type: MatchType::Any,
        constraints: vec![
            constraint(ConstraintType::EntityId, "id", Operator::Prefix, "staff-"),
            constraint(ConstraintType::Boolean, "employee", Operator::True, ""),
        ],
    };
    let checkout = Flag {
        key: "checkout".to_string(),
        name: "Checkout flow".to_string(),
        description: "Which checkout page to show.".to_string(),
        enabled: true,
        kind: FlagKind::Variant,
        metadata: BTreeMap::from([
            ("owner".to_string(), json!("payments")),
            ("ticket".to_string(), json!(42)),
        ]),
        variants: vec![
            Variant {
                default: true,
                ..variant("classic", "Classic")
            },
            Variant {
                description: "Everything on one page.".to_string(),
                attachment: Some(json!({"steps": 1, "colors": ["red", "blue"]})),
                ..variant("one-page", "One page")
            },
        ],
        rules: vec![
            Rule {
                segment_keys: strings(&["staff"]),
                segment_operator: SegmentOperator::Or,
                distributions: vec![distribution("one-page", 100.0)],
            },
            Rule {
                segment_keys: strings(&["beta-users", "staff"]),
                segment_operator: SegmentOperator::And,
                distributions: vec![
                    distribution("classic", 33.33),
                    distribution("one-page", 66.67),
                ],
            },
        ],
        rollouts: vec![],
    };
    let dark_mode = Flag {
        key: "dark-mode".to_string(),
        name: "Dark mode".to_string(),
        description: String::new(),
        enabled: false,
        kind: FlagKind::Boolean,
        metadata: BTreeMap::new(),
        variants: vec![],
        rules: vec![],
        rollouts: vec![
            Rollout {
                description: "Staff and beta users first".to_string(),
                kind: RolloutKind::Segment {
                    segment_keys: strings(&["staff", "beta-users"]),
                    segment_operator: SegmentOperator::Or,
                    value: true,
                },
            },
            Rollout {
                description: String::new(),
                kind: RolloutKind::Segment {
                    segment_keys: strings(&["staff"]),
                    segment_operator: SegmentOperator::Or,
                    value: false,
                },
            },
            Rollout {
                description: String::new(),
                kind: RolloutKind::Threshold {
                    percentage: 12.5,
                    value: true,
                },
            },
        ],
    };
    Namespace {
        key: "prod".to_string(),
        name: "Production".to_string(),
        description: "What customers see.".to_string(),
        // features.yml sorts before rollouts.json; documents in file order.
        flags: vec![checkout, dark_mode],
        segments: vec![beta_users, staff],
    }
}

#[test]
fn a_namespace_from_yaml_documents_and_json_matches_the_model() {
    let loaded = load_dir(Path::new(DIR));
    assert!(loaded.is_ok(), "{:#?}", loaded.diagnostics());
    let prod = &loaded.namespaces["prod"];
    assert_eq!(
        prod.files,
        [
            PathBuf::from("tests/fixtures/valid/namespaces/prod/features.yml"),
            PathBuf::from("tests/fixtures/valid/namespaces/prod/rollouts.json"),
        ]
    );
    let namespace = prod.result.as_ref().unwrap_or_else(|e| panic!("{e:#?}"));
    let expected = expected_prod();
    // Field by field first, for a readable failure; then the whole.
    assert_eq!(namespace.segments, expected.segments);
    assert_eq!(namespace.flags[0], expected.flags[0]);
    assert_eq!(namespace.flags[1], expected.flags[1]);
    assert_eq!(namespace, &expected);
}

#[test]
fn a_file_without_namespace_feeds_default() {
    let loaded = load_dir(Path::new(DIR));
    assert_eq!(
        loaded.namespaces.keys().collect::<Vec<_>>(),
        ["default", "prod"]
    );
    let default = &loaded.namespaces["default"];
    let namespace = default.result.as_ref().unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(namespace.name, "default");
    assert_eq!(namespace.flags.len(), 1);
    assert_eq!(namespace.flags[0].key, "maintenance");
    assert_eq!(namespace.flags[0].kind, FlagKind::Boolean);
}

#[test]
fn files_named_directly_are_read_whatever_their_name() {
    let json = PathBuf::from("tests/fixtures/valid/namespaces/prod/rollouts.json");
    let loaded = load_files(std::slice::from_ref(&json));
    // Without the YAML file the segments are missing: every reference is reported.
    let rendered: Vec<String> = loaded.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        rendered,
        [
            "tests/fixtures/valid/namespaces/prod/rollouts.json:13:32: flags[0].rollouts[0].segment.keys[0]: unknown segment \"staff\" in namespace \"prod\"",
            "tests/fixtures/valid/namespaces/prod/rollouts.json:13:41: flags[0].rollouts[0].segment.keys[1]: unknown segment \"beta-users\" in namespace \"prod\"",
            "tests/fixtures/valid/namespaces/prod/rollouts.json:15:29: flags[0].rollouts[1].segment.key: unknown segment \"staff\" in namespace \"prod\"",
        ]
    );
    // The directory and the file again: the file is read once.
    let loaded = load_files(&[PathBuf::from(DIR), json]);
    assert!(loaded.is_ok(), "{:#?}", loaded.diagnostics());
    assert_eq!(loaded.namespaces["prod"].result, Ok(expected_prod()));
}
