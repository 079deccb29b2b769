//! Which files a directory contributes, with and without `.flipt.yml`.

use std::path::{Path, PathBuf};

use vexil_flags::{discover, load_dir, load_files, DiagnosticKind};

fn paths(items: &[&str]) -> Vec<PathBuf> {
    items.iter().map(PathBuf::from).collect()
}

#[test]
fn the_index_includes_json_and_excludes_a_directory() {
    let (files, problems) = discover(Path::new("tests/fixtures/valid"));
    assert_eq!(problems, []);
    assert_eq!(
        files,
        paths(&[
            "tests/fixtures/valid/features.yml",
            "tests/fixtures/valid/namespaces/prod/features.yml",
            "tests/fixtures/valid/namespaces/prod/rollouts.json",
        ])
    );
}

#[test]
fn without_an_index_flipts_default_names_are_found() {
    let (files, problems) = discover(Path::new("tests/fixtures/defaults"));
    assert_eq!(problems, []);
    // Not flags.json (no index includes it), not .hidden/ (hidden directories are skipped).
    assert_eq!(
        files,
        paths(&[
            "tests/fixtures/defaults/features.yml",
            "tests/fixtures/defaults/team/billing.features.yaml",
        ])
    );
    let loaded = load_dir(Path::new("tests/fixtures/defaults"));
    assert!(loaded.is_ok(), "{:#?}", loaded.diagnostics());
    assert_eq!(
        loaded.namespaces.keys().collect::<Vec<_>>(),
        ["billing", "default"]
    );
}

#[test]
fn a_broken_index_selects_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write(".flipt.yml", "version: \"2.0\"\ninclude: \"*.yml\"\n");
    write("features.yml", "flags: []\n");
    let loaded = load_dir(dir.path());
    assert!(loaded.namespaces.is_empty());
    let messages: Vec<(DiagnosticKind, usize, &str)> = loaded
        .errors
        .iter()
        .map(|d| (d.kind(), d.line(), d.message()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                DiagnosticKind::Index,
                1,
                "unsupported index version \"2.0\" (expected \"1.0\")"
            ),
            (
                DiagnosticKind::WrongType,
                2,
                "expected a list, found a string"
            ),
        ]
    );
}

#[test]
fn unreadable_files_are_reported_under_their_guessed_namespace() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let namespace_dir = dir.path().join("namespaces/staging");
    std::fs::create_dir_all(&namespace_dir).unwrap_or_else(|e| panic!("{e}"));
    let file = namespace_dir.join("features.yml");
    std::fs::write(&file, b"flags: [\xff]\n").unwrap_or_else(|e| panic!("{e}"));
    let missing = dir.path().join("missing.yml");
    let loaded = load_files(&[dir.path().to_path_buf(), missing.clone()]);

    let staging = &loaded.namespaces["staging"];
    assert_eq!(staging.files, std::slice::from_ref(&file));
    let Err(errors) = &staging.result else {
        panic!("a namespace with an unreadable file must fail");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), DiagnosticKind::Io);
    assert_eq!(errors[0].file(), file);
    assert_eq!((errors[0].line(), errors[0].column()), (0, 0));

    assert_eq!(loaded.errors.len(), 1);
    assert_eq!(loaded.errors[0].file(), missing);
    assert!(
        loaded.errors[0]
            .to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{}",
        loaded.errors[0]
    );
}
