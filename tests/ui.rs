//! Compile-fail tests of `embed_migrations!`: each broken `tests/ui/*.toml`
//! must fail the build with `PATH:LINE:COL: what is wrong and how to fix it`,
//! exactly as recorded in `tests/ui/*.stderr`, and a valid one must embed.
//!
//! trybuild compiles the cases in its own project directory,
//! `<target dir>/tests/trybuild/migrate-tests/`, which is the
//! `CARGO_MANIFEST_DIR` the macro resolves paths against; so the `.toml`
//! fixtures are copied to `ui/` there first, and the cases name them
//! `"ui/NAME.toml"`. The `sql_file`s they name (`sql/NAME.sql`, relative to
//! the `.toml`) are copied along, from `tests/ui/sql/` to `ui/sql/`.
//!
//! Cases whose name starts with `pass` must build and run; the `sql_*` cases
//! are the build-time proof rejecting SQL that SQLite refuses, the `down_*`
//! cases its round trip of a down rejecting one that SQLite refuses or that
//! does not give back the previous version's schema and rows. Regenerate the
//! expectations with `TRYBUILD=overwrite cargo test -p migrate-tests --test ui`,
//! then read them.

use std::fs;
use std::path::{Path, PathBuf};

/// Where trybuild builds the cases: the directory it derives from the target
/// directory, whose `tmp` subdirectory is `CARGO_TARGET_TMPDIR`.
fn trybuild_project_dir() -> PathBuf {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp");
    target_dir
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"))
}

/// Copies every `tests/ui/*.toml` to `<project>/ui/` and every
/// `tests/ui/sql/*.sql` to `<project>/ui/sql/`, replacing stale copies
/// (including ones a case should not find, such as `does_not_exist.toml`).
/// Returns how many `.toml` and `.sql` files were copied.
fn install_fixtures() -> (usize, usize) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let dest = trybuild_project_dir().join("ui");
    if dest.exists() {
        fs::remove_dir_all(&dest).expect("remove old fixtures");
    }
    let tomls = copy_files(&source, &dest, "toml");
    let sql = source.join("sql");
    let sqls = if sql.is_dir() {
        copy_files(&sql, &dest.join("sql"), "sql")
    } else {
        0
    };
    (tomls, sqls)
}

/// Copies the files of `source` ending in `.EXTENSION` to `dest`, which is
/// created; returns how many.
fn copy_files(source: &Path, dest: &Path, extension: &str) -> usize {
    fs::create_dir_all(dest).expect("create fixture directory");
    let mut copied = 0;
    for entry in fs::read_dir(source).expect("read fixture directory") {
        let path = entry.expect("read fixture directory").path();
        if path.is_file() && path.extension().is_some_and(|e| e == extension) {
            fs::copy(&path, dest.join(path.file_name().unwrap())).expect("copy fixture");
            copied += 1;
        }
    }
    copied
}

#[test]
fn ui() {
    let (tomls, sqls) = install_fixtures();
    assert!(tomls >= 15, "only {tomls} fixtures in tests/ui");
    assert!(sqls >= 3, "only {sqls} SQL files in tests/ui/sql");

    let mut cases: Vec<String> = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"))
        .expect("read tests/ui")
        .map(|entry| entry.expect("read tests/ui").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "only {} cases in tests/ui", cases.len());

    // `pass*.rs` embed valid files and check them at run time; every other
    // case must fail to build with the messages in its .stderr file.
    assert!(
        cases.iter().filter(|c| c.starts_with("pass")).count() >= 2,
        "the pass cases are missing: {cases:?}"
    );
    let t = trybuild::TestCases::new();
    for case in &cases {
        let path = format!("ui/{case}");
        if case.starts_with("pass") {
            t.pass(path);
        } else {
            t.compile_fail(path);
        }
    }
}
