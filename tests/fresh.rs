//! The fresh path through the built binary: an empty file is created at
//! the latest version in one transaction (`-v` says so), `--one-by-one`
//! forces the old path, eight processes creating the same database at once
//! leave one database made once, and a process killed during the fresh
//! transaction leaves the empty database or the complete one.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use migrate_tests::{Run, command, integrity, migrate, rows, tables, versions};

const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");
const LONG: &str = env!("CARGO_BIN_EXE_fixture-long");

/// Every row of the schema and of `schema_migrations` but the times.
fn contents(db: &Path) -> Vec<Vec<String>> {
    let mut all = rows(
        db,
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
    );
    all.extend(rows(
        db,
        "SELECT version, description, checksum, chain, applied_by, down_sql, down_checksum \
         FROM schema_migrations ORDER BY version",
    ));
    all.extend(rows(db, "SELECT * FROM user_tags ORDER BY 1, 2"));
    all
}

#[test]
fn an_empty_file_is_created_fresh_and_matches_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    let slow = dir.path().join("slow.db");
    let run = migrate(REPO, &fresh, &["-v", "apply"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("fresh path: created version 15 in one transaction"),
        "{run}"
    );
    assert!(
        run.stdout
            .ends_with(&format!("{} is now at version 15.\n", fresh.display())),
        "{run}"
    );
    let run = migrate(REPO, &slow, &["-v", "apply", "--one-by-one"]);
    run.expect_code(0);
    assert!(run.stderr.contains("one by one: asked for"), "{run}");
    assert!(!run.stderr.contains("fresh path"), "{run}");
    assert_eq!(contents(&fresh), contents(&slow));
    assert_eq!(integrity(&fresh), "ok");
    // Then everything works on it as on any other: nothing pending, no drift.
    migrate(REPO, &fresh, &["check"]).expect_success();
    let run = migrate(REPO, &fresh, &["apply"]);
    run.expect_success();
    assert!(run.stdout.starts_with("Nothing to apply"), "{run}");

    // --to: created fresh at that version, the rest one by one later.
    let partial = dir.path().join("partial.db");
    let run = migrate(REPO, &partial, &["-v", "apply", "--to", "9"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("fresh path: created version 9 in one transaction"),
        "{run}"
    );
    assert_eq!(versions(&partial), (1..=9).collect::<Vec<_>>());
    migrate(REPO, &partial, &["apply"]).expect_success();
    assert_eq!(contents(&partial), contents(&slow));

    // A history with a migration too big to embed: fresh up to it.
    let long = dir.path().join("long.db");
    let run = migrate(LONG, &long, &["-v", "apply", "--to", "1"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("fresh path: created version 1 in one transaction"),
        "{run}"
    );
}

fn spawn_apply(bin: &str, db: &Path) -> Child {
    command(bin)
        .arg("--database")
        .arg(db)
        .arg("-v")
        .arg("apply")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"))
}

#[test]
fn eight_processes_creating_the_same_fresh_database_make_it_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chatbot.db");
        let children: Vec<Child> = (0..8).map(|_| spawn_apply(REPO, &db)).collect();
        let runs: Vec<Run> = children
            .into_iter()
            .map(|c| Run::from(c.wait_with_output().unwrap()))
            .collect();
        let creators = runs
            .iter()
            .filter(|r| r.stderr.contains("fresh path: created version 15"))
            .count();
        let all: Vec<String> = runs.iter().map(ToString::to_string).collect();
        for run in &runs {
            run.expect_code(0);
            assert!(!run.stderr.contains("ERROR"), "round {round}: {run}");
            let last = run.stdout.lines().last().unwrap_or_default();
            assert!(
                last.ends_with(&format!("{} is now at version 15.", db.display()))
                    || last == format!("Nothing to apply: {} is at version 15.", db.display()),
                "round {round}: {run}"
            );
        }
        assert_eq!(creators, 1, "round {round}:\n{}", all.join("\n"));
        assert_eq!(versions(&db), (1..=15).collect::<Vec<_>>());
        assert_eq!(integrity(&db), "ok");
    }
}

#[test]
#[cfg(unix)]
fn a_process_killed_during_the_fresh_path_leaves_the_empty_or_the_complete_database() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.db");
    migrate(REPO, &reference, &["apply"]).expect_success();
    let complete = contents(&reference);
    let (mut empty, mut whole, mut killed) = (0, 0, 0);
    for round in 0..40u64 {
        let db = dir.path().join(format!("killed-{round}.db"));
        let mut child = spawn_apply(REPO, &db);
        // From before the file exists to after the commit.
        std::thread::sleep(Duration::from_micros(500 * (round % 20) + 2_000));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        if !db.exists() || tables(&db).is_empty() {
            empty += 1;
        } else {
            assert_eq!(integrity(&db), "ok", "round {round}");
            assert_eq!(contents(&db), complete, "round {round}: a partial database");
            whole += 1;
        }
        // Whatever it left, the next apply finishes it.
        migrate(REPO, &db, &["apply"]).expect_success();
        assert_eq!(contents(&db), complete, "round {round}");
    }
    assert!(killed > 0, "no process was still running when killed");
    assert!(empty > 0 && whole > 0, "empty {empty}, complete {whole}");
}
