//! Migrations that call functions SQLite does not have, through the CLI:
//! a real loadable extension, compiled here from tests/fixtures/strrev.c
//! with `cc -shared -fPIC` against the bundled SQLite's `sqlite3ext.h`
//! (tests/build.rs finds it), loaded with `--load-extension`; and functions
//! a program registers itself through `migrate_bin::run_with`.
//!
//! These tests need a C compiler (`cc`, or `$CC`): without one they fail,
//! saying so, rather than pass without having run.

use std::path::{Path, PathBuf};
use std::process::Command;

use migrate_tests::{bytes, dir_entries, migrate, rows, versions};

const STRREV: &str = env!("CARGO_BIN_EXE_fixture-strrev");
const FUNCTIONS: &str = env!("CARGO_BIN_EXE_fixture-functions");

/// Where libsqlite3-sys put the bundled SQLite's headers.
const INCLUDE: &str = env!("MIGRATE_TESTS_SQLITE3_INCLUDE");

/// Compiles tests/fixtures/strrev.c into `dir/libstrrev.so` (the platform's
/// suffix) and returns its path.
fn build_extension(dir: &Path) -> PathBuf {
    let include = Path::new(INCLUDE);
    assert!(
        include.join("sqlite3ext.h").is_file(),
        "no sqlite3ext.h in {INCLUDE:?}: tests/build.rs expects libsqlite3-sys's bundled \
         headers (DEP_SQLITE3_INCLUDE)"
    );
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strrev.c");
    let out = dir.join(format!("libstrrev{}", std::env::consts::DLL_SUFFIX));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let mut cmd = Command::new(&cc);
    if cfg!(target_os = "macos") {
        cmd.arg("-dynamiclib");
    } else {
        cmd.arg("-shared");
    }
    let status = cmd
        .args(["-fPIC", "-O1", "-I"])
        .arg(include)
        .arg("-o")
        .arg(&out)
        .arg(&source)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run the C compiler `{cc}` to build the test extension: {e}")
        });
    assert!(
        status.success(),
        "`{cc}` failed to build {}",
        source.display()
    );
    assert!(out.is_file(), "{} was not written", out.display());
    out
}

/// A database at version 1 of `bin`'s migrations, and its bytes.
fn at_version_1(bin: &str, dir: &Path) -> (PathBuf, Vec<u8>) {
    let db = dir.join("app.db");
    migrate(bin, &db, &["apply", "--to", "1", "--no-backup"]).expect_success();
    assert_eq!(versions(&db), [1]);
    let before = bytes(&db).expect("the database exists");
    (db, before)
}

#[test]
fn the_extension_is_loaded_before_applying_and_its_function_runs() {
    let dir = tempfile::tempdir().unwrap();
    let ext = build_extension(dir.path());
    let (db, _) = at_version_1(STRREV, dir.path());

    let run = migrate(
        STRREV,
        &db,
        &[
            "--load-extension",
            ext.to_str().unwrap(),
            "apply",
            "--no-backup",
        ],
    );
    run.expect_success();
    assert_eq!(versions(&db), [1, 2]);
    assert_eq!(
        rows(&db, "SELECT word, reversed FROM words ORDER BY word"),
        [["drawer", "reward"], ["stressed", "desserts"]]
    );
    // The database agrees with the build, without the extension.
    migrate(STRREV, &db, &["check"]).expect_success();
}

#[test]
fn the_platform_suffix_may_be_left_out_and_the_flag_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let ext = build_extension(dir.path());
    let db = dir.path().join("app.db");
    let bare = dir.path().join("libstrrev");
    let run = migrate(
        STRREV,
        &db,
        &[
            "apply",
            "--load-extension",
            bare.to_str().unwrap(),
            "--load-extension",
            ext.to_str().unwrap(),
        ],
    );
    run.expect_success();
    assert_eq!(
        rows(&db, "SELECT reversed FROM words ORDER BY word"),
        [["reward"], ["desserts"]]
    );
}

#[test]
fn a_dry_run_loads_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let ext = build_extension(dir.path());
    let (db, before) = at_version_1(STRREV, dir.path());
    let run = migrate(
        STRREV,
        &db,
        &[
            "apply",
            "--dry-run",
            "--load-extension",
            ext.to_str().unwrap(),
        ],
    );
    run.expect_success();
    assert!(run.stdout.contains("would succeed"), "{run}");
    assert_eq!(bytes(&db), Some(before));
}

#[test]
fn without_the_extension_apply_refuses_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, before) = at_version_1(STRREV, dir.path());
    let entries = dir_entries(dir.path());

    let run = migrate(STRREV, &db, &["apply"]);
    let message = run.expect_error(1, &db, &[]);
    assert_eq!(
        message,
        "migration 2 (\"Store each word reversed\") calls str_reverse(), which is not \
         registered on the connection: it comes from the extension \"libstrrev\"; load that \
         before applying (migrate --load-extension PATH, or Migrator::load_extension); nothing \
         was changed"
    );
    assert_eq!(bytes(&db), Some(before.clone()));
    // Refused before the backup, too.
    assert_eq!(dir_entries(dir.path()), entries);

    let run = migrate(STRREV, &db, &["apply", "--dry-run"]);
    run.expect_error(1, &db, &["calls str_reverse()", "migration 2"]);
    assert_eq!(bytes(&db), Some(before));

    let run = migrate(STRREV, &db, &["--json", "apply"]);
    run.expect_code(1);
    let doc: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(doc["error"]["code"], "function_not_registered");
    assert_eq!(doc["error"]["version"], 2);
}

#[test]
fn a_new_database_is_not_created_by_a_refused_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let run = migrate(STRREV, &db, &["apply"]);
    run.expect_error(1, &db, &["calls str_reverse()"]);
    assert_eq!(bytes(&db), None);
}

#[test]
fn an_extension_that_does_not_exist_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, before) = at_version_1(STRREV, dir.path());
    let entries = dir_entries(dir.path());
    let missing = dir.path().join("lib").join("nope.so");

    for command in [&["apply"][..], &["apply", "--dry-run"], &["status"]] {
        let mut args = vec!["--load-extension", missing.to_str().unwrap()];
        args.extend_from_slice(command);
        let run = migrate(STRREV, &db, &args);
        let message = run.expect_error(1, &db, &[]);
        assert_eq!(
            message,
            format!(
                "cannot load the SQLite extension {}: no such file; nothing was changed",
                missing.display()
            ),
            "{command:?}"
        );
        assert_eq!(bytes(&db), Some(before.clone()), "{command:?}");
        assert_eq!(dir_entries(dir.path()), entries, "{command:?}");
    }

    let run = migrate(
        STRREV,
        &db,
        &[
            "--json",
            "--load-extension",
            missing.to_str().unwrap(),
            "apply",
        ],
    );
    run.expect_code(1);
    let doc: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(doc["error"]["code"], "extension_load_failed");

    // Nor is a database created.
    let new = dir.path().join("new.db");
    let run = migrate(
        STRREV,
        &new,
        &["--load-extension", missing.to_str().unwrap(), "apply"],
    );
    run.expect_error(
        1,
        &new,
        &["cannot load the SQLite extension", "no such file"],
    );
    assert_eq!(bytes(&new), None);
}

#[test]
fn a_file_that_is_not_an_extension_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, before) = at_version_1(STRREV, dir.path());
    let fake = dir.path().join("fake.so");
    std::fs::write(&fake, "not a shared library\n").unwrap();
    let run = migrate(
        STRREV,
        &db,
        &["--load-extension", fake.to_str().unwrap(), "apply"],
    );
    let message = run.expect_error(1, &db, &[]);
    assert_eq!(
        message,
        format!(
            "cannot load the SQLite extension {}: the file is not a shared library this \
             program can load (not an SQLite extension, or built for another platform); \
             nothing was changed",
            fake.display()
        )
    );
    assert_eq!(bytes(&db), Some(before));
}

#[test]
fn a_program_registers_its_functions_through_run_with() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    migrate(FUNCTIONS, &db, &["apply", "--dry-run"]).expect_success();
    assert_eq!(bytes(&db), None);
    migrate(FUNCTIONS, &db, &["apply"]).expect_success();
    assert_eq!(versions(&db), [1, 2]);
    assert_eq!(
        rows(&db, "SELECT title, slug FROM pages ORDER BY title"),
        [["About Us", "about-us"], ["Contact", "contact"]]
    );
    migrate(FUNCTIONS, &db, &["check"]).expect_success();
}
