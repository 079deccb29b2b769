//! `vexil validate`: every error in the given flag files, as a compiler prints them.
//!
//! Errors go to stdout, warnings (what loads with a change) to stderr, as compilers do; the
//! differences from Flipt to stdout when asked for. Each directory is a flag set of its own, as
//! `vexil serve` would load it, and a set with no flag files at all is an error: a wrong path
//! should not pass as "no errors".

use std::process::ExitCode;

use vexil_flags::{Diagnostic, DiagnosticKind};

use crate::cli::{Format, ValidateArgs};
use crate::source::{self, FlagSet};

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!args.paths.is_empty(), crate::cli::NO_FLAGS);
    let sets = source::flag_sets(&args.paths, &args.file_limits.limits())?;
    let mut report = Report::default();
    for set in &sets {
        report.add(set, args.report_differences);
    }
    match args.format {
        Format::Text => report.print_text(&sets),
        Format::Json => report.print_json(),
    }
    for set in sets.iter().filter(|set| is_empty(set)) {
        eprintln!(
            "{}: no flag files found (looked for *features.yml, or the files .flipt.yml \
             includes)",
            set.label
        );
    }
    let empty_refused = !args.allow_empty && report.empty_sets > 0;
    Ok(if report.errors.is_empty() && !empty_refused {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What every set found, in the order the sets were given.
#[derive(Default)]
struct Report<'a> {
    errors: Vec<&'a Diagnostic>,
    warnings: Vec<&'a Diagnostic>,
    differences: Vec<Difference<'a>>,
    empty_sets: usize,
}

/// A place where the files touch one of Vexil's deliberate differences from Flipt.
struct Difference<'a> {
    diagnostic: &'a Diagnostic,
    /// Flipt loads it and Vexil refuses it (otherwise: both load it, and answer differently).
    refused: bool,
}

/// Errors where Vexil is stricter than Flipt on purpose (README: differences from Flipt).
fn refused_on_purpose(diagnostic: &Diagnostic) -> bool {
    match diagnostic.kind() {
        DiagnosticKind::UnknownVariant
        | DiagnosticKind::UnknownSegment
        | DiagnosticKind::InvalidConstraintValue => true,
        DiagnosticKind::DuplicateKey => diagnostic.message().contains("variant key"),
        _ => false,
    }
}

impl<'a> Report<'a> {
    fn add(&mut self, set: &'a FlagSet, with_differences: bool) {
        let loaded = &set.loaded;
        if is_empty(set) {
            self.empty_sets += 1;
        }
        let errors = loaded.diagnostics();
        let warnings = loaded.warnings();
        let (notes, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) = warnings
            .into_iter()
            .partition(|w| w.kind() == DiagnosticKind::DiffersFromFlipt);
        if with_differences {
            let refused = errors.iter().filter(|e| refused_on_purpose(e));
            self.differences
                .extend(refused.map(|&diagnostic| Difference {
                    diagnostic,
                    refused: true,
                }));
            self.differences
                .extend(notes.into_iter().map(|diagnostic| Difference {
                    diagnostic,
                    refused: false,
                }));
        }
        self.errors.extend(errors);
        self.warnings.extend(warnings);
    }

    fn print_text(&self, sets: &[FlagSet]) {
        for error in &self.errors {
            println!("{error}");
        }
        for warning in &self.warnings {
            eprintln!("warning: {warning}");
        }
        if !self.differences.is_empty() {
            println!("differences from Flipt:");
            for difference in &self.differences {
                let what = if difference.refused {
                    "Flipt loads this, Vexil refuses it on purpose"
                } else {
                    "Flipt answers otherwise"
                };
                println!("  {} ({what})", difference.diagnostic);
            }
        }
        let namespaces: usize = sets.iter().map(|s| s.loaded.namespaces.len()).sum();
        let flags: usize = sets
            .iter()
            .flat_map(|s| s.loaded.namespaces.values())
            .filter_map(|ns| ns.result.as_ref().ok())
            .map(|ns| ns.flags.len())
            .sum();
        if self.errors.is_empty() && self.empty_sets < sets.len() {
            eprintln!(
                "ok: {namespaces} namespace(s), {flags} flag(s), no errors, {} warning(s)",
                self.warnings.len()
            );
        } else if !self.errors.is_empty() {
            eprintln!(
                "{} error(s), {} warning(s)",
                self.errors.len(),
                self.warnings.len()
            );
        }
    }

    fn print_json(&self) {
        let entry = |d: &Diagnostic, severity: &str| {
            serde_json::json!({
                "severity": severity,
                "file": d.file().display().to_string(),
                "line": d.line(),
                "column": d.column(),
                "path": d.path(),
                "message": d.message(),
            })
        };
        let mut list: Vec<serde_json::Value> =
            self.errors.iter().map(|d| entry(d, "error")).collect();
        list.extend(self.warnings.iter().map(|d| entry(d, "warning")));
        list.extend(self.differences.iter().map(|d| {
            let mut item = entry(d.diagnostic, "difference");
            item["refusedByVexil"] = d.refused.into();
            item
        }));
        println!("{}", serde_json::Value::Array(list));
    }
}

/// A set that found no flag file at all (as opposed to files with nothing in them).
fn is_empty(set: &FlagSet) -> bool {
    let loaded = &set.loaded;
    loaded.namespaces.is_empty() && loaded.errors.is_empty() && loaded.unfinished.is_empty()
}
