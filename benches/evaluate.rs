//! Native speed of the evaluation crate: ns per evaluation over a realistic namespace, and the
//! time to read a JSON snapshot (Flipt's format) of 100 and 1,000 flags and compile it.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vexil_eval::{Evaluation, Index, Request};

fn evaluate(c: &mut Criterion) {
    let index = Index::compile(&vexil_benches::namespace()).expect("bench namespace compiles");
    let requests = vexil_benches::requests();
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("mixed", |b| {
        b.iter(|| {
            let mut matched = 0usize;
            for (flag_key, entity_id, context) in &requests {
                let request = Request::new(flag_key, entity_id, context);
                matched += match index.evaluate(std::hint::black_box(&request)) {
                    Ok(Evaluation::Variant(answer)) => usize::from(answer.matched),
                    Ok(Evaluation::Boolean(answer)) => usize::from(answer.enabled),
                    Err(_) => 0,
                };
            }
            matched
        })
    });
    group.finish();
}

/// The JSON snapshot the server would publish for a generated namespace of `count` flags.
fn json_snapshot(count: usize) -> String {
    let text = vexil_benches::flag_file("bench", count, 0);
    let loaded = vexil_flags::load_str(Path::new("features.yml"), &text);
    match &loaded.namespaces["bench"].result {
        Ok(namespace) => vexil_eval::write_snapshot(namespace).json,
        Err(_) => unreachable!("the generated file loads"),
    }
}

fn read(c: &mut Criterion) {
    let mut group = c.benchmark_group("read");
    for count in [100, 1000] {
        let json = json_snapshot(count);
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(format!("snapshot/{count}"), |b| {
            b.iter(|| vexil_eval::read_snapshot(std::hint::black_box(json.as_bytes())))
        });
        group.bench_function(format!("snapshot+compile/{count}"), |b| {
            b.iter(|| {
                let namespace = vexil_eval::read_snapshot(std::hint::black_box(json.as_bytes()))
                    .expect("reads");
                Index::compile(&namespace).expect("compiles")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, evaluate, read);
criterion_main!(benches);
