//! `vexil-load compare OLD.json NEW.json` (`just bench-compare OLD NEW`): two runs' rows side
//! by side, matched by scenario and mode, with the ratio new / old of each figure.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

const FIGURES: [(&str, &str); 5] = [
    ("requests_per_second", "req/s"),
    ("p99_ms", "p99 (ms)"),
    ("p999_ms", "p99.9 (ms)"),
    ("allocations_per_request", "allocations / request"),
    ("bytes_per_request", "bytes / request"),
];

fn rows(path: &Path) -> anyhow::Result<BTreeMap<(String, String), Value>> {
    let document: Value = serde_json::from_slice(&std::fs::read(path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let rows = document["rows"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("{}: no rows", path.display()))?;
    Ok(rows
        .iter()
        .map(|row| {
            let key = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
            ((key("scenario"), key("mode")), row.clone())
        })
        .collect())
}

/// Prints the comparison as a Markdown table; rows only one side has are listed as such.
pub fn run(old: &Path, new: &Path) -> anyhow::Result<()> {
    let (old_rows, new_rows) = (rows(old)?, rows(new)?);
    print!("| scenario | mode |");
    for (_, label) in FIGURES {
        print!(" {label}: old → new |");
    }
    println!();
    println!("|---|---|{}", "---|".repeat(FIGURES.len()));
    for (key, new_row) in &new_rows {
        let Some(old_row) = old_rows.get(key) else {
            println!("| {} | {} | (new) |", key.0, key.1);
            continue;
        };
        print!("| {} | {} |", key.0, key.1);
        for (field, _) in FIGURES {
            let (a, b) = (old_row[field].as_f64(), new_row[field].as_f64());
            match (a, b) {
                (Some(a), Some(b)) if a != 0.0 => print!(" {a:.2} → {b:.2} ({:.2}×) |", b / a),
                (Some(a), Some(b)) => print!(" {a:.2} → {b:.2} |"),
                _ => print!(" — |"),
            }
        }
        println!();
    }
    for key in old_rows.keys().filter(|key| !new_rows.contains_key(*key)) {
        println!("| {} | {} | (gone) |", key.0, key.1);
    }
    Ok(())
}
