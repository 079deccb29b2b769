//! Evaluation under load: `POST /evaluate/v1/variant` (one request) and `/evaluate/v1/batch`
//! (100), at 1000 req/s, then at rising rates and as fast as the connections go, for the
//! latency-against-rate chart. Answers plain (identity), so what is measured is evaluation.

use std::time::Duration;

use crate::generator::{Load, Target};
use crate::process::Server;
use crate::{seed, Row, Run};

const BATCH: usize = 100;

fn body(requests: usize) -> String {
    let request = |i: usize| {
        serde_json::json!({
            "namespaceKey": "default",
            "flagKey": if i % 2 == 0 { "new-checkout" } else { "free-shipping" },
            "entityId": format!("user-{i}"),
            "context": { "plan": if i % 3 == 0 { "pro" } else { "free" }, "country": "NL", "seats": "4" },
        })
    };
    if requests == 1 {
        serde_json::json!({
            "namespaceKey": "default", "flagKey": "new-checkout", "entityId": "user-7",
            "context": { "plan": "pro", "country": "NL", "seats": "4" },
        })
        .to_string()
    } else {
        serde_json::json!({ "requests": (0..requests).map(request).collect::<Vec<_>>() })
            .to_string()
    }
}

/// The rates of the sweep after the 1000 req/s row (0: as fast as it goes).
pub fn sweep(quick: bool) -> Vec<(u32, Duration)> {
    if quick {
        vec![(0, Duration::from_secs(2))]
    } else {
        [2000, 4000, 8000, 0]
            .into_iter()
            .map(|rate| (rate, Duration::from_secs(15)))
            .collect()
    }
}

pub async fn run(run: &Run, quick: bool) -> anyhow::Result<Vec<Row>> {
    let flags = seed::flag_dir(&run.workspace)?;
    let vexil = Server::vexil(flags.path(), &[])?;
    let mut rows = Vec::new();
    for (path, requests) in [("/evaluate/v1/variant", 1), ("/evaluate/v1/batch", BATCH)] {
        let target = Target {
            method: "POST",
            url: format!("{}{path}", vexil.url),
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("accept-encoding", "identity".to_owned()),
            ],
            body: Some(body(requests)),
        };
        let scenario = format!("POST {path} ({requests} per request)");
        let mut loads = vec![run.load];
        if run.generator.name() == "oha" {
            loads.extend(sweep(quick).into_iter().map(|(rate, duration)| Load {
                rate,
                duration,
                ..run.load
            }));
        }
        for load in loads {
            let mode = if load.rate == 0 {
                "as fast as it goes".to_owned()
            } else {
                format!("{} req/s", load.rate)
            };
            rows.push(
                run.measure_with(&scenario, &mode, &vexil, &target, load)
                    .await?,
            );
        }
    }
    Ok(rows)
}
