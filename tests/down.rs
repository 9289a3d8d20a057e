//! `migrate down` and `migrate redo` through the built binary, on real
//! database files: the schema and rows after each step, the refusals that
//! change nothing, the backup, the confirmation, JSON, several processes at
//! once, a process killed in the middle of a down, and the older build
//! rolling back with the downs stored in the database.
//!
//! tests/fixtures/down.toml is a reversible history of six versions
//! (version 1 has no down); down-old.toml is its first three.

use std::path::{Path, PathBuf};
use std::time::Duration;

use migrate_tests::{
    bytes, column_names, command, count, dir_entries, integrity, migrate, migrate_on_terminal,
    objects, open, tables, versions,
};
use tempfile::TempDir;

const DOWN: &str = env!("CARGO_BIN_EXE_fixture-down");
const DOWN_OLD: &str = env!("CARGO_BIN_EXE_fixture-down-old");

/// A database migrated to the latest version, with two authors and three
/// posts in it.
fn migrated() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("blog.db");
    migrate(DOWN, &db, &["apply", "--no-backup"]).expect_success();
    open(&db)
        .execute_batch(
            "INSERT INTO authors VALUES ('ann', 'Ann'), ('bob', 'Bob');
             INSERT INTO posts (author_id, title, body, slug) VALUES
                 ('ann', 'Hello', 'hello world', 'hello'),
                 ('ann', 'Again', 'one two three', 'again'),
                 ('bob', 'Mine', '', NULL);",
        )
        .expect("insert rows");
    (dir, db)
}

#[test]
fn down_rolls_back_the_latest_version_and_keeps_the_rows() {
    let (dir, db) = migrated();
    let run = migrate(DOWN, &db, &["down", "--yes"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Rolling back version 6: Count words of posts ... done"),
        "{run}"
    );
    assert!(
        run.stdout.contains("Rolled back 1 migration in ")
            && run.stdout.contains("is now at version 5."),
        "{run}"
    );
    assert_eq!(versions(&db), [1, 2, 3, 4, 5]);
    assert!(!column_names(&db, "posts").contains(&"words".to_owned()));
    assert_eq!(count(&db, "SELECT count(*) FROM posts"), 3);
    assert_eq!(count(&db, "SELECT count(*) FROM authors"), 3);
    // A backup of version 6 was taken first, next to the database.
    let backups: Vec<String> = dir_entries(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("blog.db.6.") && n.ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1, "{:?}", dir_entries(dir.path()));
    assert!(
        run.stdout
            .contains(&format!("Backed up {} to ", db.display())),
        "{run}"
    );
    // status and check are clean at the lower version; apply re-runs the up.
    migrate(DOWN, &db, &["check"]).expect_code(3); // version 6 is pending
    let run = migrate(DOWN, &db, &["apply", "--no-backup"]);
    run.expect_success();
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        count(&db, "SELECT words FROM posts WHERE title = 'Again'"),
        3
    );
    migrate(DOWN, &db, &["check"]).expect_success();
}

#[test]
fn down_to_rolls_back_every_version_above_it_newest_first() {
    let (_dir, db) = migrated();
    open(&db)
        .execute_batch("DELETE FROM posts")
        .expect("delete posts");
    let run = migrate(DOWN, &db, &["down", "--to", "1", "--yes", "--no-backup"]);
    run.expect_success();
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Rolling back version "))
        .map(|l| &l[..1])
        .collect();
    assert_eq!(order, ["6", "5", "4", "3", "2"], "{run}");
    assert_eq!(versions(&db), [1]);
    assert_eq!(tables(&db), ["authors", "schema_migrations"]);
    assert!(
        objects(&db, "index").is_empty(),
        "{:?}",
        objects(&db, "index")
    );
    // The system author version 4 added is gone with its down; Ann and Bob stay.
    assert_eq!(count(&db, "SELECT count(*) FROM authors"), 2);
    migrate(DOWN, &db, &["status"]).expect_success();
}

#[test]
fn a_version_without_a_down_is_refused_before_anything_runs() {
    let (_dir, db) = migrated();
    let before = bytes(&db);
    let run = migrate(DOWN, &db, &["down", "--to", "0", "--yes"]);
    let message = run.expect_error(2, &db, &[]);
    assert_eq!(
        message,
        "cannot roll back to version 0: version 1 (\"Create authors table\") has no down SQL \
         (add `down` to it in migrations.toml, or roll back to a later version); nothing was \
         changed"
    );
    assert_eq!(bytes(&db), before);
    assert_eq!(run.stdout, "");
}

#[test]
fn a_down_that_fails_on_the_data_rolls_that_step_back_and_keeps_the_earlier_ones() {
    let (dir, db) = migrated();
    // Version 5 allowed duplicate titles; its down restores the unique index.
    open(&db)
        .execute_batch("INSERT INTO posts (author_id, title) VALUES ('bob', 'Hello')")
        .expect("duplicate title");
    let run = migrate(DOWN, &db, &["down", "--to", "3", "--yes"]);
    let message = run.expect_error(1, &db, &[]);
    assert_eq!(
        message,
        "the down of version 5 (\"Allow duplicate titles\") failed at statement 2 `CREATE UNIQUE \
         INDEX idx_posts_title_unique ON posts(title)`: UNIQUE constraint failed: posts.title; \
         that step was rolled back and version 5 stays applied; version 6 was rolled back \
         before it"
    );
    assert!(
        run.stdout
            .contains("Rolling back version 5: Allow duplicate titles ... "),
        "{run}"
    );
    assert_eq!(versions(&db), [1, 2, 3, 4, 5]);
    assert_eq!(objects(&db, "index"), ["idx_posts_slug", "idx_posts_title"]);
    assert_eq!(count(&db, "SELECT count(*) FROM posts"), 4);
    assert_eq!(integrity(&db), "ok");
    // One backup, taken before the first step.
    let backups = dir_entries(dir.path())
        .into_iter()
        .filter(|n| n.ends_with(".bak"))
        .count();
    assert_eq!(backups, 1);
}

#[test]
fn down_asks_on_a_terminal_and_refuses_without_one_unless_yes() {
    let (_dir, db) = migrated();
    let before = bytes(&db);
    let run = migrate(DOWN, &db, &["down"]);
    let message = run.expect_error(2, &db, &[]);
    assert_eq!(
        message,
        format!(
            "Roll back {} to version 5? The downs remove the data these versions hold. Not on \
             a terminal: pass --yes to confirm; nothing was changed",
            db.display()
        )
    );
    // The plan was shown before the question.
    assert!(
        run.stdout
            .contains("is at version 6; rolling back to version 5:"),
        "{run}"
    );
    assert!(
        run.stdout.contains("ALTER TABLE posts DROP COLUMN words"),
        "{run}"
    );
    assert_eq!(bytes(&db), before);

    let run = migrate_on_terminal(DOWN, &db, &["down", "--no-backup"], "n\n")
        .expect("util-linux script runs migrate on a terminal");
    assert!(run.stdout.contains("[y/N]"), "{run}");
    assert!(
        run.stdout.contains("not confirmed; nothing was changed"),
        "{run}"
    );
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);

    let run = migrate_on_terminal(DOWN, &db, &["down", "--no-backup"], "y\n")
        .expect("util-linux script runs migrate on a terminal");
    assert!(run.stdout.contains("is now at version 5."), "{run}");
    assert_eq!(versions(&db), [1, 2, 3, 4, 5]);
}

#[test]
fn down_json_reports_what_it_rolled_back_and_the_backup() {
    let (_dir, db) = migrated();
    let run = migrate(DOWN, &db, &["--json", "down", "--to", "4", "--yes"]);
    run.expect_success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["version"], 4);
    assert_eq!(doc["database"], db.display().to_string());
    let rolled: Vec<(u64, String)> = doc["rolled_back"]
        .as_array()
        .expect("rolled_back")
        .iter()
        .map(|r| {
            (
                r["version"].as_u64().expect("version"),
                r["description"].as_str().expect("description").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rolled,
        [
            (6, "Count words of posts".to_owned()),
            (5, "Allow duplicate titles".to_owned())
        ]
    );
    let backup = doc["backup"].as_str().expect("backup path");
    assert!(Path::new(backup).exists());

    // An irreversible step: the error document with its code.
    let run = migrate(DOWN, &db, &["--json", "down", "--to", "0", "--yes"]);
    run.expect_code(2);
    let doc: serde_json::Value = serde_json::from_str(&run.stderr).expect("JSON error");
    assert_eq!(doc["error"]["code"], "irreversible");
    assert_eq!(doc["error"]["exit_code"], 2);
}

#[test]
fn nothing_to_roll_back_on_a_missing_or_empty_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("none.db");
    let run = migrate(DOWN, &db, &["down", "--yes"]);
    run.expect_success();
    assert_eq!(
        run.stdout,
        format!("Nothing to roll back: {} is at version 0.\n", db.display())
    );
    assert!(!db.exists(), "a mistyped path is not created");
}

#[test]
fn redo_rolls_back_the_latest_version_and_applies_it_again() {
    let (_dir, db) = migrated();
    open(&db)
        .execute_batch("UPDATE posts SET words = 0")
        .expect("reset words");
    let run = migrate(DOWN, &db, &["redo", "--yes", "--no-backup"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Rolling back version 6: Count words of posts ... done"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("Applying version 6: Count words of posts ... done"),
        "{run}"
    );
    assert!(run.stdout.contains("Redone version 6:"), "{run}");
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
    // The up ran again: the words are counted anew.
    assert_eq!(
        count(&db, "SELECT words FROM posts WHERE title = 'Again'"),
        3
    );
}

#[test]
fn eight_processes_rolling_back_at_once_run_each_down_exactly_once() {
    let (_dir, db) = migrated();
    open(&db)
        .execute_batch("DELETE FROM posts")
        .expect("delete posts");
    let children: Vec<_> = (0..8)
        .map(|_| {
            command(DOWN)
                .arg("--database")
                .arg(&db)
                .args(["--json", "down", "--to", "1", "--yes", "--no-backup"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut steps = Vec::new();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON document");
        for r in doc["rolled_back"].as_array().expect("rolled_back") {
            steps.push(r["version"].as_u64().expect("version"));
        }
    }
    steps.sort_unstable();
    assert_eq!(steps, [2, 3, 4, 5, 6], "each down ran exactly once");
    assert_eq!(versions(&db), [1]);
    assert_eq!(tables(&db), ["authors", "schema_migrations"]);
}

#[test]
fn a_process_killed_during_a_down_leaves_a_consistent_database_and_a_retry_finishes() {
    let (_dir, db) = migrated();
    // Enough rows that dropping a column (a rewrite of the table) takes a while.
    open(&db)
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
             INSERT INTO posts (author_id, title, body, slug, words)
             SELECT 'ann', 'post ' || i, 'some words here ' || i, 's' || i, 4 FROM n",
        )
        .expect("many posts");
    let mut interrupted = 0;
    for delay_ms in [5, 40, 120] {
        migrate(DOWN, &db, &["apply", "--no-backup"]).expect_success();
        let mut child = command(DOWN)
            .arg("--database")
            .arg(&db)
            .args(["down", "--to", "2", "--yes", "--no-backup"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        // As an application opens it: a hot journal is rolled back.
        assert_eq!(integrity(&db), "ok");
        let at = *versions(&db).last().expect("a version");
        // The schema is the recorded version's, whichever step was cut.
        let columns = column_names(&db, "posts");
        assert_eq!(
            columns.contains(&"words".to_owned()),
            at >= 6,
            "at {at}: {columns:?}"
        );
        assert_eq!(
            columns.contains(&"slug".to_owned()),
            at >= 3,
            "at {at}: {columns:?}"
        );
        assert_eq!(count(&db, "SELECT count(*) FROM posts"), 200_003);
        if at > 2 {
            interrupted += 1;
        }
        migrate(DOWN, &db, &["down", "--to", "2", "--yes", "--no-backup"]).expect_success();
        assert_eq!(versions(&db), [1, 2]);
    }
    // The kills did land before the down finished (else this tested nothing).
    assert!(interrupted > 0, "every down finished before its kill");
}

#[test]
fn dry_run_tries_the_downs_on_the_real_data_and_changes_no_byte() {
    let (dir, db) = migrated();
    let before = bytes(&db);
    let run = migrate(DOWN, &db, &["down", "--to", "3", "--dry-run"]);
    run.expect_success();
    assert!(
        run.stdout.starts_with(&format!(
            "Trial run on {} (rolled back, nothing changed):\n",
            db.display()
        )),
        "{run}"
    );
    for version in ["6", "5", "4"] {
        assert!(
            run.stdout
                .contains(&format!("  {version:>5}  would succeed (")),
            "{run}"
        );
    }
    assert!(
        run.stdout
            .ends_with("Every down tried would succeed on the current data.\n"),
        "{run}"
    );
    assert_eq!(bytes(&db), before, "the file is byte-identical");
    assert!(
        !dir_entries(dir.path()).iter().any(|n| n.ends_with(".bak")),
        "a trial takes no backup"
    );

    // With a duplicate title, the down of version 5 would fail: exit 1,
    // the reason a real down would give, and still nothing changed.
    open(&db)
        .execute_batch("INSERT INTO posts (author_id, title) VALUES ('bob', 'Hello')")
        .expect("duplicate title");
    let before = bytes(&db);
    let run = migrate(DOWN, &db, &["--json", "down", "--to", "3", "--dry-run"]);
    run.expect_code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["would_fail"], true);
    let outcomes: Vec<(u64, &str)> = doc["rolled_back"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["version"].as_u64().expect("version"),
                s["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [(6, "would_succeed"), (5, "would_fail"), (4, "not_tried")]
    );
    assert_eq!(doc["rolled_back"][1]["error"]["code"], "down_failed");
    assert_eq!(bytes(&db), before);
}

/// A database migrated by the newer build (down.toml, 6 versions), with rows.
fn migrated_by_the_newer_build() -> (TempDir, PathBuf) {
    let (dir, db) = migrated();
    // The older build refuses it as it stands: it is ahead.
    migrate(DOWN_OLD, &db, &["apply", "--no-backup"]).expect_error(
        3,
        &db,
        &[
            "the database records version 4",
            "which this build does not know",
        ],
    );
    (dir, db)
}

#[test]
fn the_older_build_rolls_back_with_the_downs_stored_in_the_database() {
    let (_dir, db) = migrated_by_the_newer_build();
    let run = migrate(DOWN_OLD, &db, &["down", "--to", "3", "--yes"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("is at version 6; rolling back to version 3:"),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "Count words of posts (down stored in the database by the build that applied it)"
        ),
        "{run}"
    );
    assert!(
        run.stdout.contains("ALTER TABLE posts DROP COLUMN words"),
        "{run}"
    );
    assert!(run.stdout.contains("is now at version 3."), "{run}");
    assert_eq!(versions(&db), [1, 2, 3]);
    assert_eq!(count(&db, "SELECT count(*) FROM posts"), 3);
    assert_eq!(
        count(&db, "SELECT count(*) FROM authors WHERE id = 'system'"),
        0
    );
    // Now the older build agrees with the database: check is clean.
    migrate(DOWN_OLD, &db, &["check"]).expect_success();
    // And it can go on with its own downs.
    migrate(
        DOWN_OLD,
        &db,
        &["down", "--to", "1", "--yes", "--no-backup"],
    )
    .expect_success();
    assert_eq!(tables(&db), ["authors", "schema_migrations"]);
    // The newer build applies everything again.
    migrate(DOWN, &db, &["apply", "--no-backup"]).expect_success();
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_tampered_stored_down_is_refused_before_anything_runs() {
    let (_dir, db) = migrated_by_the_newer_build();
    open(&db)
        .execute(
            "UPDATE schema_migrations SET down_sql = '[\"DROP TABLE authors\"]' WHERE version = 5",
            [],
        )
        .expect("tamper");
    let before = bytes(&db);
    let run = migrate(DOWN_OLD, &db, &["down", "--to", "3", "--yes"]);
    run.expect_error(
        3,
        &db,
        &[
            "the down SQL stored in the database for version 5 (\"Allow duplicate titles\") \
             does not match the checksum stored with it",
            "nothing was changed",
        ],
    );
    assert_eq!(bytes(&db), before);
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn without_stored_downs_the_older_build_refuses_as_before() {
    let (_dir, db) = migrated_by_the_newer_build();
    open(&db)
        .execute(
            "UPDATE schema_migrations SET down_sql = NULL, down_checksum = NULL WHERE version = 4",
            [],
        )
        .expect("forget a stored down");
    let before = bytes(&db);
    let run = migrate(DOWN_OLD, &db, &["down", "--to", "3", "--yes"]);
    run.expect_error(
        3,
        &db,
        &[
            "version 4 (\"Add the system author\") is not in this build",
            "stores no down SQL for it",
            "nothing was changed",
        ],
    );
    assert_eq!(bytes(&db), before);
}

#[test]
fn redo_is_refused_on_a_database_ahead_of_the_build_before_anything_runs() {
    let (_dir, db) = migrated_by_the_newer_build();
    let before = bytes(&db);
    let run = migrate(DOWN_OLD, &db, &["redo", "--yes"]);
    run.expect_error(
        3,
        &db,
        &["the database records version 4", "nothing was changed"],
    );
    assert_eq!(run.stdout, "", "nothing shown or asked: {run}");
    assert_eq!(bytes(&db), before);
}
