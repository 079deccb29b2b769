//! `vexil evaluate`: a Flipt batch request in, Flipt's batch response out; or one flag explained.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde::Deserialize;
use vexil_eval::{
    evaluate_batch_item, BatchItem, Evaluation, Explanation, Index, Request, StepKind,
};

use crate::cli::{EvaluateArgs, FlagSource};
use crate::source;
use crate::wire::now_rfc3339;
use crate::wire::response::{BatchResponse, ResponseMeta};

/// Flipt's batch request body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchRequestBody {
    #[serde(default)]
    request_id: String,
    requests: Vec<EvaluationRequestBody>,
}

/// One request of a batch.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvaluationRequestBody {
    #[serde(default)]
    namespace_key: String,
    flag_key: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    context: HashMap<String, String>,
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<ExitCode> {
    let indexes = load_indexes(&args.source, &args.file_limits.limits())?;
    if let Some(batch) = &args.batch {
        return run_batch(&indexes, &args.namespace, batch);
    }
    let (Some(flag_key), Some(entity_id)) = (&args.flag, &args.entity) else {
        bail!("give --batch FILE, or --flag KEY with --entity ID");
    };
    let index = indexes
        .get(&args.namespace)
        .with_context(|| format!("no namespace {:?}", args.namespace))?;
    let request = Request::new(flag_key, entity_id, &args.context);
    match index.explain(&request) {
        Ok(explanation) => {
            print!("{}", render_explanation(index, &request, &explanation));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => bail!("{}/{flag_key}: {error}", args.namespace),
    }
}

fn load_indexes(
    source: &FlagSource,
    limits: &vexil_flags::Limits,
) -> anyhow::Result<BTreeMap<String, Index>> {
    let namespaces = match (&source.flags, &source.snapshot) {
        (Some(dir), _) => source::load_all(dir, limits)?,
        (None, Some(file)) => {
            let bytes = source::read_bounded(file, limits.max_file_bytes)?;
            let namespace = vexil_eval::read_snapshot(&bytes)
                .with_context(|| format!("reading {}", file.display()))?;
            vec![namespace]
        }
        (None, None) => bail!("{} (or --snapshot FILE)", crate::cli::NO_FLAGS),
    };
    namespaces
        .into_iter()
        .map(|namespace| {
            let index = Index::compile(&namespace)
                .with_context(|| format!("namespace {:?}", namespace.key))?;
            Ok((namespace.key, index))
        })
        .collect()
}

fn run_batch(
    indexes: &BTreeMap<String, Index>,
    default_namespace: &str,
    batch: &Path,
) -> anyhow::Result<ExitCode> {
    let text = if batch == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(batch).with_context(|| format!("reading {}", batch.display()))?
    };
    let body: BatchRequestBody = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Flipt batch request", batch.display()))?;

    let started = Instant::now();
    let items: Vec<BatchItem<'_>> = body
        .requests
        .iter()
        .map(|request| {
            let namespace_key = if request.namespace_key.is_empty() {
                default_namespace
            } else {
                &request.namespace_key
            };
            let asked = Request::new(&request.flag_key, &request.entity_id, &request.context);
            evaluate_batch_item(indexes.get(namespace_key), namespace_key, &asked)
        })
        .collect();
    let timestamp = now_rfc3339();
    let response = BatchResponse {
        items: &items,
        meta: ResponseMeta {
            request_id: &body.request_id,
            request_duration_millis: started.elapsed().as_secs_f64() * 1000.0,
            timestamp: &timestamp,
        },
    };
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &response)?;
    stdout.write_all(b"\n")?;
    Ok(ExitCode::SUCCESS)
}

/// The explanation as a person reads it: the answer first, then every step with its verdicts.
fn render_explanation(
    index: &Index,
    request: &Request<'_>,
    explanation: &Explanation<'_>,
) -> String {
    let mut out = String::new();
    let mark = |matched: bool| if matched { "✓" } else { "✗" };
    let _ = writeln!(
        out,
        "flag {:?} in namespace {:?}, entity {:?}",
        request.flag_key,
        index.namespace_key(),
        request.entity_id
    );
    match &explanation.evaluation {
        Evaluation::Variant(answer) => {
            let _ = writeln!(
                out,
                "result: match={} variant={:?} reason={}",
                answer.matched,
                answer.variant_key(),
                answer.reason.as_str()
            );
            if !answer.variant_attachment().is_empty() {
                let _ = writeln!(out, "attachment: {}", answer.variant_attachment());
            }
            if let Some(bucket) = answer.bucket {
                let _ = writeln!(
                    out,
                    "bucket: {bucket} of 1000 (crc32(flag key + entity id) % 1000)"
                );
            }
            let keys: Vec<&str> = answer.segment_keys.iter().collect();
            let _ = writeln!(out, "segments matched: {keys:?}");
        }
        Evaluation::Boolean(answer) => {
            let _ = writeln!(
                out,
                "result: enabled={} reason={}",
                answer.enabled,
                answer.reason.as_str()
            );
            let keys: Vec<&str> = answer.segment_keys.iter().collect();
            let _ = writeln!(out, "segments matched: {keys:?}");
        }
    }
    if explanation.steps.is_empty() {
        let _ = writeln!(out, "no rule or rollout was tried");
    }
    for step in &explanation.steps {
        let verdict = if step.matched {
            "matched"
        } else {
            "did not match"
        };
        let _ = match &step.kind {
            StepKind::Rule { operator } => writeln!(
                out,
                "{} rule {} ({}): {verdict}",
                mark(step.matched),
                step.position + 1,
                operator.as_str()
            ),
            StepKind::SegmentRollout { operator, value } => writeln!(
                out,
                "{} rollout {} segment ({}) -> {value}: {verdict}",
                mark(step.matched),
                step.position + 1,
                operator.as_str()
            ),
            StepKind::ThresholdRollout {
                percentage,
                value,
                bucket,
            } => writeln!(
                out,
                "{} rollout {} threshold {percentage}% -> {value}: bucket {bucket} of 100, {verdict}",
                mark(step.matched),
                step.position + 1
            ),
        };
        for segment in &step.segments {
            let _ = writeln!(
                out,
                "    {} segment {:?} ({}): {}",
                mark(segment.matched),
                segment.key,
                segment.match_type.file_name(),
                if segment.matched {
                    "matched"
                } else {
                    "did not match"
                }
            );
            for constraint in &segment.constraints {
                let subject = if constraint.property.is_empty()
                    || constraint.kind == vexil_eval::model::ConstraintType::EntityId
                {
                    "entity id".to_owned()
                } else {
                    constraint.property.to_owned()
                };
                let operand = if constraint.operator.takes_value() {
                    format!(" {}", constraint.operand)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "        {} {subject} {}{operand} ({}; value {:?})",
                    mark(constraint.matched),
                    constraint.operator.as_str(),
                    constraint.kind.file_name(),
                    constraint.actual
                );
            }
        }
    }
    out
}
