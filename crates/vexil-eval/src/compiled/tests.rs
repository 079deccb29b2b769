//! The compiled format: round trip, determinism, and refusal of damaged input.

use super::*;
use crate::{read_snapshot, Evaluation, Index, Request, SnapshotErrorKind};

/// The example shop's snapshot, as the fuzzers' seed keeps it.
const DEFAULT_JSON: &[u8] = include_bytes!("../../../../fuzz/seeds/snapshot/default.json");
const MOBILE_JSON: &[u8] = include_bytes!("../../../../fuzz/seeds/snapshot/mobile.json");

fn index(json: &[u8]) -> Index {
    Index::compile(&read_snapshot(json).expect("snapshot")).expect("compiles")
}

/// Every flag, for a spread of entities and contexts, answered the same by both indexes.
fn assert_same_answers(a: &Index, b: &Index) {
    let contexts: [&[(&str, &str)]; 4] = [
        &[],
        &[("role", "admin"), ("plan", "pro"), ("beta", "true")],
        &[("plan", "free"), ("country", "NL"), ("seats", "3")],
        &[
            ("build", "512"),
            ("platform", "ios"),
            ("signed_up_at", "2021-03-04T05:06:07Z"),
        ],
    ];
    for (key, _, _) in a.flags() {
        for entity in ["", "ada@vexil.dev", "user-1", "user-2", "phone-1", "e42"] {
            for context in contexts {
                let request = Request::new(key, entity, &context);
                let answer = |index: &Index| match index.evaluate(&request) {
                    Ok(Evaluation::Variant(v)) => {
                        format!(
                            "{} {:?} {} {:?}",
                            v.matched,
                            v.reason,
                            v.variant_key(),
                            v.segment_keys.iter().collect::<Vec<_>>()
                        )
                    }
                    Ok(Evaluation::Boolean(b)) => {
                        format!(
                            "{} {:?} {:?}",
                            b.enabled,
                            b.reason,
                            b.segment_keys.iter().collect::<Vec<_>>()
                        )
                    }
                    Err(error) => format!("{error}"),
                };
                assert_eq!(
                    answer(a),
                    answer(b),
                    "{key} for {entity:?} with {context:?}"
                );
            }
        }
    }
}

#[test]
fn a_compiled_snapshot_reads_back_to_the_same_answers_and_bytes() {
    for json in [DEFAULT_JSON, MOBILE_JSON] {
        let original = index(json);
        let compiled = write_compiled(&original);
        assert!(compiled.bytes.starts_with(b"VXLC\x01"));
        let read = read_compiled(&compiled.bytes).expect("reads back");
        assert_same_answers(&original, &read);
        // Written again, the same bytes: the format is canonical for an index.
        assert_eq!(write_compiled(&read), compiled);
        assert_eq!(read.namespace_key(), original.namespace_key());
        assert_eq!(read.flags().count(), original.flags().count());
    }
}

#[test]
fn the_same_namespace_gives_the_same_bytes_on_any_machine() {
    // Pinned: a change to this digest is a change of the format (or of the example flags'
    // seed), and needs a new version byte if old documents no longer read the same.
    let compiled = write_compiled(&index(DEFAULT_JSON));
    assert_eq!(
        (compiled.bytes.len(), compiled.digest.as_str()),
        (PINNED_LENGTH, PINNED_DIGEST)
    );
}

const PINNED_LENGTH: usize = 849;
const PINNED_DIGEST: &str = "bc1c547eb2615c8f3f0c657d898bd64f85a53ea6f1559a1b60eae4e02e93d88a";

#[test]
fn truncated_input_is_refused_at_every_length() {
    let compiled = write_compiled(&index(DEFAULT_JSON)).bytes;
    for length in 0..compiled.len() {
        let error = read_compiled(&compiled[..length]).expect_err("a prefix is not a document");
        assert_eq!(
            error.kind(),
            SnapshotErrorKind::Syntax,
            "at {length}: {error}"
        );
    }
    let mut longer = compiled.clone();
    longer.push(0);
    assert!(read_compiled(&longer).is_err());
}

#[test]
fn damaged_bytes_never_panic_and_what_reads_is_consistent() {
    let compiled = write_compiled(&index(DEFAULT_JSON)).bytes;
    let mut refused = 0;
    for position in 5..compiled.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = compiled.clone();
            damaged[position] ^= flip;
            match read_compiled(&damaged) {
                Err(_) => refused += 1,
                // What reads must evaluate without panicking and write back canonically.
                Ok(read) => {
                    for (key, _, _) in read.flags() {
                        let _ = read.evaluate(&Request::new(key, "e", &[("role", "admin")]));
                    }
                    let again = write_compiled(&read);
                    let reread = read_compiled(&again.bytes).expect("canonical bytes read");
                    assert_eq!(write_compiled(&reread), again);
                }
            }
        }
    }
    assert!(
        refused > compiled.len(),
        "most damage is noticed: {refused}"
    );
}

#[test]
fn another_version_or_no_header_is_refused_by_name() {
    let mut compiled = write_compiled(&index(MOBILE_JSON)).bytes;
    compiled[4] = 2;
    let error = read_compiled(&compiled).expect_err("version 2");
    assert_eq!(error.kind(), SnapshotErrorKind::Version);
    assert!(error.to_string().contains("version 2"), "{error}");
    let error = read_compiled(b"{\"namespace\":{}}").expect_err("JSON");
    assert!(
        error.to_string().contains("not a compiled snapshot"),
        "{error}"
    );
}

#[test]
fn counts_larger_than_the_input_are_refused_before_allocating() {
    // Header, an empty namespace key, then a segment count of 2^62.
    let mut bytes = b"VXLC\x01\x00".to_vec();
    bytes.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    let error = read_compiled(&bytes).expect_err("a huge count");
    assert!(
        error.to_string().contains("longer than the rest"),
        "{error}"
    );
    // A varint of eleven bytes.
    let mut bytes = b"VXLC\x01".to_vec();
    bytes.extend_from_slice(&[0xff; 11]);
    assert!(read_compiled(&bytes).is_err());
}

#[test]
fn references_out_of_place_are_refused() {
    // One segment with no constraints, one variant flag whose rule names segment 1.
    let mut bytes = b"VXLC\x01\x02ns".to_vec();
    bytes.extend_from_slice(&[1, 1, b's', 0, 0]); // segment "s", all, no constraints
    bytes.extend_from_slice(&[1, 1, b'f', 1, 0, 0]); // flag "f", enabled, variant, no default
    bytes.extend_from_slice(&[1, 1, b'a', 0]); // one variant "a", no attachment
    bytes.extend_from_slice(&[1, 0, 1, 1, 0, 0]); // one rule: or, [segment 1], no buckets
    let error = read_compiled(&bytes).expect_err("segment 1 of 1");
    assert_eq!(error.kind(), SnapshotErrorKind::Shape, "{error}");
    assert!(error.to_string().contains("names a segment"), "{error}");
    let fixed: Vec<u8> = bytes
        .iter()
        .copied()
        .take(bytes.len() - 3)
        .chain([0, 0, 0])
        .collect();
    assert!(
        read_compiled(&fixed).is_ok(),
        "{:?}",
        read_compiled(&fixed).err()
    );
}

#[test]
fn only_the_one_canonical_form_is_read() {
    // One segment "s" with one constraint: string, eq (code 0), property "p", value "v".
    let document = |operand: &[u8]| {
        let mut bytes = b"VXLC\x01\x02ns\x01\x01s\x00\x01\x00\x00\x01p\x01v".to_vec();
        bytes.extend_from_slice(operand);
        bytes.push(0); // no flags
        bytes
    };
    assert!(read_compiled(&document(&[1, 1, b'v'])).is_ok());
    // An operand of another form than the operator's.
    let error = read_compiled(&document(&[0])).expect_err("eq without a value");
    assert!(error.to_string().contains("wrong form"), "{error}");
    // A count spelled with a needless second byte.
    let mut long = document(&[1, 1, b'v']);
    let last = long.len() - 1;
    long.splice(last.., [0x80, 0x00]);
    let error = read_compiled(&long).expect_err("overlong");
    assert!(
        error.to_string().contains("longer than it needs"),
        "{error}"
    );
}

#[test]
fn sets_must_be_in_their_one_order() {
    // One segment "s": number isoneof (type 1, operator 8) over a set, then no flags.
    let numbers = |members: &[f64]| {
        let mut bytes = b"VXLC\x01\x02ns\x01\x01s\x00\x01\x01\x08\x01p\x00\x05".to_vec();
        bytes.push(members.len() as u8);
        for member in members {
            bytes.extend_from_slice(&member.to_le_bytes());
        }
        bytes.push(0);
        bytes
    };
    assert!(read_compiled(&numbers(&[1.0, 2.0])).is_ok());
    assert!(read_compiled(&numbers(&[2.0, 1.0])).is_err());
    assert!(read_compiled(&numbers(&[1.0, 1.0])).is_err());
    assert!(read_compiled(&numbers(&[-0.0])).is_err());
    assert!(read_compiled(&numbers(&[f64::INFINITY])).is_err());
    // Text: string isoneof (type 0, operator 8).
    let texts = |members: &[&str]| {
        let mut bytes = b"VXLC\x01\x02ns\x01\x01s\x00\x01\x00\x08\x01p\x00\x04".to_vec();
        bytes.push(members.len() as u8);
        for member in members {
            bytes.push(member.len() as u8);
            bytes.extend_from_slice(member.as_bytes());
        }
        bytes.push(0);
        bytes
    };
    assert!(read_compiled(&texts(&["a", "b"])).is_ok());
    assert!(read_compiled(&texts(&["b", "a"])).is_err());
    assert!(read_compiled(&texts(&["a", "a"])).is_err());
}

#[test]
fn sets_given_with_duplicates_are_written_once_and_read_back() {
    // Found by the agreement test: a number list naming a number twice was written as is, and
    // the reader, which holds sets strictly rising, refused the document.
    let json = br#"{"namespace":{"key":"default"},"flags":[{"key":"f","name":"f","enabled":true,
        "type":"BOOLEAN_FLAG_TYPE","rollouts":[{"type":"SEGMENT_ROLLOUT_TYPE","segment":{"value":false,
        "segmentOperator":"OR_SEGMENT_OPERATOR","segments":[{"key":"s","matchType":"ALL_SEGMENT_MATCH_TYPE",
        "constraints":[{"type":"NUMBER_CONSTRAINT_COMPARISON_TYPE","property":"n","operator":"isoneof","value":"[2, 1, 2, -0, 0]"},
        {"type":"STRING_CONSTRAINT_COMPARISON_TYPE","property":"t","operator":"isnotoneof","value":"[\"a\", \"a\"]"}]}]}}]}]}"#;
    let original = index(json);
    let compiled = write_compiled(&original);
    let read = read_compiled(&compiled.bytes).expect("reads back");
    assert_eq!(write_compiled(&read), compiled);
    // In the set, the rollout answers false; outside it, the flag's own true.
    for (n, enabled) in [("2", false), ("0", false), ("-0", false), ("3", true)] {
        let context = [("n", n), ("t", "b")];
        let request = crate::Request::new("f", "e", &context);
        let answer = read.evaluate_boolean(&request).expect("evaluates");
        assert_eq!(answer.enabled, enabled, "n = {n}");
    }
}
