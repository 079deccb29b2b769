//! Native evaluation speed over a realistic namespace: ns per evaluation.

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

criterion_group!(benches, evaluate);
criterion_main!(benches);
