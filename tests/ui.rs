//! Compile-fail tests of `embed_migrations!`: each broken `tests/ui/*.toml`
//! must fail the build with `PATH:LINE:COL: what is wrong and how to fix it`,
//! exactly as recorded in `tests/ui/*.stderr`, and a valid one must embed.
//!
//! trybuild compiles the cases in its own project directory,
//! `<target dir>/tests/trybuild/migrate-tests/`, which is the
//! `CARGO_MANIFEST_DIR` the macro resolves paths against; so the `.toml`
//! fixtures are copied to `ui/` there first, and the cases name them
//! `"ui/NAME.toml"`. Regenerate the expectations with
//! `TRYBUILD=overwrite cargo test -p migrate-tests --test ui`, then read them.

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

/// Copies every `tests/ui/*.toml` to `<project>/ui/`, replacing stale copies
/// (including ones a case should not find, such as `does_not_exist.toml`).
fn install_fixtures() -> usize {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let dest = trybuild_project_dir().join("ui");
    if dest.exists() {
        fs::remove_dir_all(&dest).expect("remove old fixtures");
    }
    fs::create_dir_all(&dest).expect("create fixture directory");
    let mut copied = 0;
    for entry in fs::read_dir(&source).expect("read tests/ui") {
        let path = entry.expect("read tests/ui").path();
        if path.extension().is_some_and(|e| e == "toml") {
            fs::copy(&path, dest.join(path.file_name().unwrap())).expect("copy fixture");
            copied += 1;
        }
    }
    copied
}

#[test]
fn ui() {
    let copied = install_fixtures();
    assert!(copied >= 15, "only {copied} fixtures in tests/ui");

    let mut cases: Vec<String> = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"))
        .expect("read tests/ui")
        .map(|entry| entry.expect("read tests/ui").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "only {} cases in tests/ui", cases.len());

    // `pass.rs` embeds a valid file and checks it at run time; every other
    // case must fail to build with the messages in its .stderr file.
    let t = trybuild::TestCases::new();
    for case in &cases {
        let path = format!("ui/{case}");
        if case == "pass.rs" {
            t.pass(path);
        } else {
            t.compile_fail(path);
        }
    }
}
