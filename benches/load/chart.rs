//! `vexil-load chart OUT_DIR RESULTS.json...` (`just bench-charts`): the charts of
//! benches/README.md, as SVG, from the rows of load runs:
//!
//! - `evaluate-latency.svg`: p50 and p99 latency against the rate achieved, for each evaluation
//!   scenario (the rows whose scenario starts with `POST /evaluate`).
//! - `seed-bytes.svg`: bytes allocated per request in each mode of the gzip snapshot scenario.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

/// A font for the labels, read at run time (plotters measures text with ab_glyph).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn rows(paths: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut rows = Vec::new();
    for path in paths {
        let document: Value = serde_json::from_slice(&std::fs::read(path)?)?;
        rows.extend(document["rows"].as_array().cloned().unwrap_or_default());
    }
    Ok(rows)
}

fn text(row: &Value, field: &str) -> String {
    row[field].as_str().unwrap_or_default().to_owned()
}

fn number(row: &Value, field: &str) -> f64 {
    row[field].as_f64().unwrap_or(f64::NAN)
}

pub fn run(out: &Path, paths: &[String]) -> anyhow::Result<()> {
    let font = std::fs::read(FONT)
        .map_err(|e| anyhow::anyhow!("{FONT}: {e} (Debian's fonts-dejavu-core has it)"))?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("{FONT} is not a font"))?;
    let rows = rows(paths)?;
    std::fs::create_dir_all(out)?;
    latency_chart(&out.join("evaluate-latency.svg"), &rows)?;
    bytes_chart(&out.join("seed-bytes.svg"), &rows)?;
    println!("charts written to {}", out.display());
    Ok(())
}

fn latency_chart(path: &Path, rows: &[Value]) -> anyhow::Result<()> {
    let mut scenarios: Vec<String> = rows
        .iter()
        .map(|row| text(row, "scenario"))
        .filter(|scenario| scenario.starts_with("POST /evaluate"))
        .collect();
    scenarios.dedup();
    anyhow::ensure!(!scenarios.is_empty(), "no evaluation rows to chart");
    let points = |scenario: &str, field: &str| -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|row| text(row, "scenario") == scenario)
            .map(|row| (number(row, "requests_per_second"), number(row, field)))
            .filter(|(x, y)| x.is_finite() && y.is_finite() && *x > 0.0 && *y > 0.0)
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    };
    let all: Vec<(f64, f64)> = scenarios
        .iter()
        .flat_map(|s| points(s, "p99_ms").into_iter().chain(points(s, "p50_ms")))
        .collect();
    let max_x = all.iter().map(|p| p.0).fold(1.0, f64::max) * 1.5;
    let max_y = all.iter().map(|p| p.1).fold(0.1, f64::max) * 2.0;
    let min_y = all.iter().map(|p| p.1).fold(max_y, f64::min) / 2.0;

    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Evaluation latency against request rate (oha, open loop)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((100.0..max_x).log_scale(), (min_y..max_y).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("requests per second achieved")
        .y_desc("latency (ms)")
        .x_label_formatter(&|rate| format!("{rate:.0}"))
        .y_label_formatter(&|ms| format!("{ms} ms"))
        .label_style(("sans-serif", 13))
        .draw()?;
    let colors = [BLUE, RED, GREEN, MAGENTA];
    for (i, scenario) in scenarios.iter().enumerate() {
        let color = colors[i % colors.len()];
        for (field, label, dashed) in [("p99_ms", "p99", false), ("p50_ms", "p50", true)] {
            let series = points(scenario, field);
            let style = if dashed {
                color.mix(0.5).stroke_width(1)
            } else {
                color.stroke_width(2)
            };
            chart
                .draw_series(LineSeries::new(series.clone(), style))?
                .label(format!("{scenario}: {label}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            chart.draw_series(
                series
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 13))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn bytes_chart(path: &Path, rows: &[Value]) -> anyhow::Result<()> {
    let bars: Vec<(String, f64)> = rows
        .iter()
        .filter(|row| text(row, "scenario").starts_with("gzip snapshot"))
        .map(|row| (text(row, "mode"), number(row, "bytes_per_request")))
        .filter(|(_, bytes)| bytes.is_finite() && *bytes > 0.0)
        .collect();
    anyhow::ensure!(bars.len() >= 2, "fewer than two snapshot rows to chart");
    let max = bars.iter().map(|b| b.1).fold(1.0, f64::max) * 4.0;
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Bytes allocated per gzip snapshot response, 1000 req/s (log scale)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(72)
        // A segmented range of n values has a segment past the last: stop one short.
        .build_cartesian_2d(
            (0..bars.len() - 1).into_segmented(),
            (100.0..max).log_scale(),
        )?;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc("bytes per response")
        // The log axis ticks at powers of ten: decimal units there.
        .y_label_formatter(&|bytes| match *bytes {
            b if b >= 1e6 => format!("{:.0} MB", b / 1e6),
            b if b >= 1e3 => format!("{:.0} kB", b / 1e3),
            b => format!("{b:.0} B"),
        })
        .x_label_formatter(&|segment| match segment {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(("sans-serif", 13))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, bytes))| {
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 100.0),
                (SegmentValue::Exact(i + 1), *bytes),
            ],
            BLUE.mix(0.6).filled(),
        );
        bar.set_margin(0, 0, 30, 30);
        bar
    }))?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, bytes))| {
        Text::new(
            format!("{:.1} KiB", bytes / 1024.0),
            (SegmentValue::CenterOf(i), bytes * 1.1),
            TextStyle::from(("sans-serif", 14).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom)),
        )
    }))?;
    root.present()?;
    Ok(())
}
