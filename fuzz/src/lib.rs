/*!
Fuzz targets for every path where Vexil reads input it did not write: flag files (YAML and JSON),
snapshots (as the WebAssembly engine receives them: JSON, gzip or zlib), compiled snapshots, and
evaluation with
arbitrary contexts.

Each target is a plain function here, so the same code runs two ways: under libFuzzer
(`fuzz_targets/`, `./x fuzz`, nightly), and on stable as a replay of the saved corpora
(`tests/replay.rs`, in `./x test`), where a crash that was found once stays fixed.

Beyond "does not panic", each target checks what must hold of any input:
- a namespace the loader accepts always compiles, and its snapshot reads back to the same bytes;
- a snapshot the reader accepts, written again, reads again, and its compiled form answers the
  same;
- a compiled snapshot the reader accepts evaluates, and writes back canonically;
- evaluation agrees with its explanation (two walks of the same rules) and with itself across
  the two kinds of context (pairs and map).
*/

#![deny(missing_docs)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use vexil_eval::model::Namespace;
use vexil_eval::{Index, Request};
use vexil_flags::Limits;

/// Smaller than the server's limits, so each input is quick; the limits' own checks still run.
fn limits() -> Limits {
    Limits {
        max_file_bytes: 1 << 20,
        max_depth: 32,
        max_alias_nodes: 2_000,
    }
}

/// A flag file, as YAML (or anything): the loader must not panic, and what it accepts must
/// compile and round-trip through the snapshot format.
pub fn flag_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let loaded = vexil_flags::load_str_with(Path::new("features.yml"), &text, &limits());
    for load in loaded.namespaces.values() {
        if let Ok(namespace) = &load.result {
            check_namespace(namespace);
        }
    }
    // Every diagnostic renders.
    for diagnostic in loaded.diagnostics() {
        let _ = diagnostic.to_string();
    }
}

/// A flag file that is JSON (other inputs are skipped, so the fuzzer's effort stays in JSON):
/// as [`flag_file`], and a namespace named by a plain string key loads under that key.
pub fn flag_json(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = vexil_flags::load_str_with(Path::new("features.json"), text, &limits());
    for load in loaded.namespaces.values() {
        if let Ok(namespace) = &load.result {
            check_namespace(namespace);
        }
    }
    if let Some(key) = value.get("namespace").and_then(|key| key.as_str()) {
        if loaded.is_ok() && value.get("flags").is_some() {
            assert!(
                loaded.namespaces.contains_key(key),
                "{key:?} loaded as {:?}",
                loaded.namespaces.keys()
            );
        }
    }
}

/// Snapshot JSON as a server (Flipt's or Vexil's) might send it: read, compiled, evaluated, and
/// compiled to the binary form, which must read back to the same answers.
pub fn snapshot(data: &[u8]) {
    let Ok(namespace) = vexil_eval::read_snapshot(data) else {
        return;
    };
    // What was read can be written and read again.
    let written = vexil_eval::write_snapshot(&namespace);
    let again = vexil_eval::read_snapshot(written.json.as_bytes());
    assert!(again.is_ok(), "a written snapshot does not read: {again:?}");
    let Ok(index) = Index::compile(&namespace) else {
        return;
    };
    for (key, _, _) in index.flags() {
        check_evaluation(&index, key, "entity", &[("plan", "pro")]);
    }
    // Its compiled form reads back and answers the same.
    let compiled = vexil_eval::write_compiled(&index);
    let read = match vexil_eval::read_compiled(&compiled.bytes) {
        Ok(read) => read,
        Err(error) => panic!("a written compiled snapshot does not read: {error}"),
    };
    for (key, _, _) in index.flags() {
        let request = Request::new(key, "entity", &[("plan", "pro")]);
        assert_eq!(
            answer(&index, &request),
            answer(&read, &request),
            "{key}: the compiled snapshot answers otherwise"
        );
    }
}

/// What an evaluation answers, as text (not `Debug`, which shows the index it borrows from,
/// hash tables and all).
fn answer(index: &Index, request: &Request<'_>) -> String {
    match index.evaluate(request) {
        Ok(vexil_eval::Evaluation::Variant(v)) => format!(
            "variant {} {:?} {:?} {:?} {:?} {:?}",
            v.matched,
            v.reason,
            v.variant_key(),
            v.variant_attachment(),
            v.rule,
            v.segment_keys.iter().collect::<Vec<_>>()
        ),
        Ok(vexil_eval::Evaluation::Boolean(b)) => format!(
            "boolean {} {:?} {:?}",
            b.enabled,
            b.reason,
            b.segment_keys.iter().collect::<Vec<_>>()
        ),
        Err(error) => error.to_string(),
    }
}

/// A compiled snapshot's bytes, as a CDN or a cache might hand them over: the reader must not
/// panic; what it accepts evaluates (agreeing with its explanation) and writes back to bytes
/// that read to the same bytes again.
pub fn compiled(data: &[u8]) {
    let Ok(index) = vexil_eval::read_compiled(data) else {
        return;
    };
    for (key, _, _) in index.flags() {
        check_evaluation(&index, key, "entity", &[("plan", "pro"), ("n", "3")]);
    }
    let written = vexil_eval::write_compiled(&index);
    let read = match vexil_eval::read_compiled(&written.bytes) {
        Ok(read) => read,
        Err(error) => panic!("a written compiled snapshot does not read: {error}"),
    };
    assert_eq!(
        vexil_eval::write_compiled(&read),
        written,
        "the compiled bytes changed on a round trip"
    );
}

/// One evaluation of the example namespace: the flag, entity and context come from the bytes
/// (parts split at 0x00; a one-byte context key picks one of the properties the namespace reads,
/// so constraints actually match).
pub fn evaluate(data: &[u8]) {
    let (index, properties) = example();
    let mut parts = data.split(|byte| *byte == 0);
    let flags: Vec<&str> = index.flags().map(|(key, _, _)| key).collect();
    let choice = parts
        .next()
        .and_then(|part| part.first())
        .copied()
        .unwrap_or(0);
    let flag = flags[usize::from(choice) % flags.len()];
    let entity = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let mut context: Vec<(String, String)> = Vec::new();
    while let (Some(key), Some(value)) = (parts.next(), parts.next()) {
        let key = match key {
            [one] => properties[usize::from(*one) % properties.len()].clone(),
            other => String::from_utf8_lossy(other).into_owned(),
        };
        context.push((key, String::from_utf8_lossy(value).into_owned()));
    }
    let pairs: Vec<(&str, &str)> = context
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    check_evaluation(index, flag, &entity, &pairs);
    // Any text as the flag key: found or not, never a panic.
    check_evaluation(index, &entity, &entity, &pairs);
}

/// What must hold of every namespace the loader accepts.
fn check_namespace(namespace: &Namespace) {
    let index = match Index::compile(namespace) {
        Ok(index) => index,
        Err(error) => panic!("a loaded namespace does not compile: {error}"),
    };
    let snapshot = vexil_eval::write_snapshot(namespace);
    let read = match vexil_eval::read_snapshot(snapshot.json.as_bytes()) {
        Ok(read) => read,
        Err(error) => panic!("a written snapshot does not read: {error}"),
    };
    let again = vexil_eval::write_snapshot(&read);
    assert_eq!(
        again.json, snapshot.json,
        "the snapshot changed on a round trip"
    );
    for (key, _, _) in index.flags() {
        check_evaluation(&index, key, "entity", &[]);
    }
}

/// Evaluation, its explanation, and the map form of the context all give the same answer.
fn check_evaluation(index: &Index, flag: &str, entity: &str, pairs: &[(&str, &str)]) {
    let request = Request::new(flag, entity, &pairs);
    let answer = index.evaluate(&request);
    let explained = index.explain(&request);
    assert_eq!(
        format!("{:?}", answer),
        format!(
            "{:?}",
            explained.as_ref().map(|explanation| explanation.evaluation)
        ),
        "evaluate and explain disagree on {flag:?} for {entity:?} {pairs:?}"
    );
    // A map keeps the last of duplicate keys, as the pairs are read.
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let from_map = index.evaluate(&Request::new(flag, entity, &map));
    assert_eq!(
        format!("{answer:?}"),
        format!("{from_map:?}"),
        "pairs and map disagree"
    );
}

/// The example flags' default namespace, compiled once, and the properties its constraints read.
fn example() -> (&'static Index, &'static [String]) {
    static EXAMPLE: OnceLock<(Index, Vec<String>)> = OnceLock::new();
    let (index, properties) = EXAMPLE.get_or_init(|| {
        let text = include_str!("../../examples/flags/default/features.yml");
        let loaded = vexil_flags::load_str(Path::new("features.yml"), text);
        let namespace = match loaded.namespaces.get("default").map(|load| &load.result) {
            Some(Ok(namespace)) => namespace,
            other => panic!("the example flags do not load: {other:?}"),
        };
        let mut properties: Vec<String> = namespace
            .segments
            .iter()
            .flat_map(|segment| segment.constraints.iter().map(|c| c.property.clone()))
            .collect();
        properties.sort();
        properties.dedup();
        properties.push("unknown".into());
        let index = Index::compile(namespace).unwrap_or_else(|e| panic!("{e}"));
        (index, properties)
    });
    (index, properties)
}
