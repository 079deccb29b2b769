//! The conformance corpus (`tests/conformance/`, written once from Flipt's own engine by
//! `www/test/conformance/generate.mjs`) run natively: the same cases the SDK's engine answers in
//! Node, Deno, workerd and Chromium (`www/test/conformance/check.mjs`), through one `check()`.
//!
//! For each entry: the snapshot is the one pinned (its SHA-256), it compiles to exactly the
//! pinned compiled bytes (so a compiled snapshot is the same on every machine), and both the
//! index compiled here and the one read back from those bytes answer every case as expected,
//! by Flipt's batch rules and by the typed single evaluations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};
use vexil_eval::{
    evaluate_batch_item, read_compiled, read_snapshot, sha256_hex, write_compiled, BatchError,
    Evaluation, Index, Request,
};

const VARIANT: &str = "VARIANT_EVALUATION_RESPONSE_TYPE";
const BOOLEAN: &str = "BOOLEAN_EVALUATION_RESPONSE_TYPE";

#[derive(Deserialize)]
struct CorpusIndex {
    entries: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: String,
    snapshot_digest: String,
    compiled_digest: Option<String>,
    refused: Option<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    request: CaseRequest,
    flipt: Value,
    vexil: Option<Value>,
    difference: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaseRequest {
    flag_key: String,
    entity_id: String,
    context: BTreeMap<String, String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn read(name: &str) -> Vec<u8> {
    let path = corpus_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_slice(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A segment-key list as a sorted JSON array: Flipt's order is random.
fn sorted_keys<'a>(keys: impl Iterator<Item = &'a str>) -> Value {
    let mut keys: Vec<&str> = keys.collect();
    keys.sort_unstable();
    json!(keys)
}

/// An answer in the corpus's shape (`check.mjs`'s `normalized`).
fn answer_json(evaluation: &Evaluation<'_>) -> Value {
    match evaluation {
        Evaluation::Variant(answer) => json!({
            "type": VARIANT,
            "flagKey": answer.flag_key,
            "match": answer.matched,
            "reason": answer.reason.as_str(),
            "variantKey": answer.variant_key(),
            "variantAttachment": answer.variant_attachment(),
            "segmentKeys": sorted_keys(answer.segment_keys.iter()),
        }),
        Evaluation::Boolean(answer) => json!({
            "type": BOOLEAN,
            "flagKey": answer.flag_key,
            "enabled": answer.enabled,
            "reason": answer.reason.as_str(),
            "segmentKeys": sorted_keys(answer.segment_keys.iter()),
        }),
    }
}

/// The answer through Flipt's batch rules (`evaluate_batch_item`), an error entry included.
fn batch_answer(index: &Index, namespace: &str, request: &Request<'_>) -> Value {
    let item = evaluate_batch_item(Some(index), namespace, request);
    match item.result {
        Ok(evaluation) => answer_json(&evaluation),
        Err(BatchError::FlagNotFound) => json!({
            "type": "ERROR_EVALUATION_RESPONSE_TYPE",
            "flagKey": item.flag_key,
            "namespaceKey": item.namespace_key,
            "reason": "NOT_FOUND_ERROR_EVALUATION_REASON",
        }),
        Err(other) => json!({ "unexpected": format!("{other:?}") }),
    }
}

/// The answer of the typed evaluation the expected answer's type asks for; `None` where a flag
/// is expected to be missing and is.
fn single_answer(index: &Index, request: &Request<'_>, expected_type: &str) -> Option<Value> {
    let result = match expected_type {
        VARIANT => index.evaluate_variant(request).map(Evaluation::Variant),
        BOOLEAN => index.evaluate_boolean(request).map(Evaluation::Boolean),
        _ => {
            return match index.evaluate(request) {
                Err(vexil_eval::EvalError::FlagNotFound) => None,
                other => Some(json!({ "unexpected": format!("{other:?}") })),
            }
        }
    };
    Some(match result {
        Ok(evaluation) => answer_json(&evaluation),
        Err(error) => json!({ "error": error.to_string() }),
    })
}

/// Attachments are JSON text: equal when they hold the same JSON.
fn same_answer(actual: &Value, expected: &Value) -> bool {
    let attachment = |answer: &Value| {
        let text = answer["variantAttachment"].as_str().unwrap_or_default();
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.into()))
    };
    let without_attachment = |answer: &Value| {
        let mut answer = answer.clone();
        if let Some(fields) = answer.as_object_mut() {
            fields.remove("variantAttachment");
        }
        answer
    };
    without_attachment(actual) == without_attachment(expected)
        && attachment(actual) == attachment(expected)
}

/// Runs one entry; returns its failures, one line each, and how many answers were compared.
fn check(entry: &Entry, snapshot: &[u8], compiled: Option<&[u8]>) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let name = &entry.name;
    let digest = sha256_hex(snapshot);
    if digest != entry.snapshot_digest {
        failures.push(format!(
            "{name}: the snapshot's SHA-256 is {digest}, not the pinned {}: the corpus changed without being generated again",
            entry.snapshot_digest
        ));
    }
    let namespace = read_snapshot(snapshot).unwrap_or_else(|e| panic!("{name}: {e}"));
    let compiled_here = Index::compile(&namespace);
    if let Some(refused) = &entry.refused {
        // Flipt loads this snapshot; Vexil must refuse it, and no compiled form exists.
        if compiled_here.is_ok() || compiled.is_some() {
            failures.push(format!(
                "{name}: compiled, but should be refused ({refused})"
            ));
        }
        return (failures, 0);
    }
    let index = compiled_here.unwrap_or_else(|e| panic!("{name}: {e}"));
    let written = write_compiled(&index);
    let pinned = entry.compiled_digest.as_deref().unwrap_or_default();
    if written.digest != pinned || Some(&written.bytes[..]) != compiled {
        failures.push(format!(
            "{name}: compiled to {}, not the pinned {pinned}: the compiled format is not deterministic, or changed without the corpus being generated again",
            written.digest
        ));
    }
    let read_back = read_compiled(compiled.unwrap_or_default())
        .unwrap_or_else(|e| panic!("{name}: the pinned compiled snapshot: {e}"));

    let mut checked = 0;
    for (how, index) in [("compiled here", &index), ("read back", &read_back)] {
        for (position, case) in entry.cases.iter().enumerate() {
            let request = &case.request;
            let context: Vec<(&str, &str)> = request
                .context
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let request = Request::new(&request.flag_key, &request.entity_id, &context);
            let expected = case.vexil.as_ref().unwrap_or(&case.flipt);
            let expected_type = expected["type"].as_str().unwrap_or_default();
            let because = case
                .difference
                .as_ref()
                .map(|why| format!(" (a deliberate difference: {why})"))
                .unwrap_or_default();
            let answers = [
                ("batch", Some(batch_answer(index, &namespace.key, &request))),
                ("single", single_answer(index, &request, expected_type)),
            ];
            for (path, answer) in answers {
                checked += 1;
                let Some(answer) = answer else { continue };
                if !same_answer(&answer, expected) {
                    failures.push(format!(
                        "{name}: case {position} ({how}, {path}){because}\n  request:  {:?}\n  expected: {expected}\n  answer:   {answer}",
                        case.request
                    ));
                }
            }
        }
    }
    (failures, checked)
}

#[test]
fn the_native_engine_answers_the_corpus_as_flipt_does() {
    let index: CorpusIndex = parse("index.json");
    assert!(index.entries.len() >= 5, "entries: {:?}", index.entries);
    let mut failures = Vec::new();
    for name in &index.entries {
        let entry: Entry = parse(&format!("{name}.cases.json"));
        assert_eq!(&entry.name, name);
        let snapshot = read(&format!("{name}.snapshot.json"));
        let compiled = entry
            .refused
            .is_none()
            .then(|| read(&format!("{name}.compiled")));
        let (found, checked) = check(&entry, &snapshot, compiled.as_deref());
        let expected = if entry.refused.is_some() {
            0
        } else {
            4 * entry.cases.len()
        };
        assert_eq!(checked, expected, "{name}: answers checked");
        failures.extend(found);
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}
