//! Declared losses (`loses`) and what a trial run reports each migration
//! does to the data, through the built binary on real files
//! (tests/fixtures/losses.toml).

use std::path::{Path, PathBuf};

use migrate_tests::{bytes, dir_entries, migrate, migrate_on_terminal, open, versions};
use serde_json::{Value, json};

const LOSSES: &str = env!("CARGO_BIN_EXE_fixture-losses");
const REWRITES: &str = env!("CARGO_BIN_EXE_fixture-rewrites");

/// A database at version 1 holding 9,000 sessions (3,201 expired), 5 users
/// and 64 tags.
fn populated() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    migrate(LOSSES, &db, &["apply", "--to", "1"]).expect_success();
    open(&db)
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9000)
             INSERT INTO sessions (id, expired) SELECT i, i <= 3201 FROM n;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
             INSERT INTO users SELECT 'u' || i, 'User ' || i, i FROM n;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
             INSERT INTO user_tags SELECT 'u' || (i % 5 + 1), 'tag' || i FROM n;",
        )
        .expect("data");
    (dir, db)
}

/// `text` with each duration in parentheses replaced by `(TIME)`.
fn without_durations(text: &str) -> String {
    text.lines()
        .map(|line| match (line.find(" ("), line.rfind(')')) {
            (Some(open), Some(close)) if line.contains("would succeed") && close > open => {
                format!("{}(TIME){}\n", &line[..=open], &line[close + 1..])
            }
            _ => format!("{line}\n"),
        })
        .collect()
}

/// What a terminal showed, without colours and carriage returns.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

const DECLARED: &str = "\
Version 2 (\"Purge expired sessions\") declares it removes: sessions
Version 3 (\"Remove deprecated legacy_score column from users\") declares it removes: users.legacy_score
Version 4 (\"Drop user_tags\") declares it removes: user_tags
";

fn no_backups(dir: &Path) {
    assert!(
        !dir_entries(dir).iter().any(|n| n.contains(".bak")),
        "no backup was taken: {:?}",
        dir_entries(dir)
    );
}

#[test]
fn dry_run_says_what_each_migration_does_to_the_rows_tables_and_columns() {
    let (_dir, db) = populated();
    let before = bytes(&db);
    let run = migrate(LOSSES, &db, &["apply", "--dry-run"]);
    run.expect_success();
    assert_eq!(
        without_durations(&run.stdout),
        format!(
            "Trial run on {} (rolled back, nothing changed):
      2  would succeed (TIME)
          deletes 3,201 of 9,000 rows of sessions
      3  would succeed (TIME)
          drops column users.legacy_score
      4  would succeed (TIME)
          drops table user_tags (64 rows)
      5  would succeed (TIME)
      6  would succeed (TIME)
          adds 12 rows to settings
          creates table tags
Every migration tried would succeed on the current data.
",
            db.display()
        ),
        "{run}"
    );
    assert_eq!(bytes(&db), before, "the file is byte-identical");
}

#[test]
fn dry_run_json_gives_every_table_before_and_after_each_migration() {
    let (_dir, db) = populated();
    let before = bytes(&db);
    let run = migrate(LOSSES, &db, &["--json", "apply", "--dry-run"]);
    run.expect_success();
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let data = |version: u64| -> Value {
        doc["migrations"]
            .as_array()
            .expect("migrations")
            .iter()
            .find(|m| m["version"] == version)
            .map(|m| m["data"].clone())
            .unwrap_or_else(|| panic!("no version {version}: {doc}"))
    };
    let t = |table: &str, before: Value, after: Value, dropped: &[&str]| {
        json!({
            "table": table,
            "rows_before": before,
            "rows_after": after,
            "dropped_columns": dropped,
            "renamed_from": null,
            "renamed_columns": [],
            "changed_values": [],
            "values_compared": true,
        })
    };
    assert_eq!(
        data(2),
        json!([
            t("sessions", json!(9000), json!(5799), &[]),
            t("settings", json!(0), json!(0), &[]),
            t("user_tags", json!(64), json!(64), &[]),
            t("users", json!(5), json!(5), &[]),
        ])
    );
    assert_eq!(
        data(3)[3],
        t("users", json!(5), json!(5), &["legacy_score"])
    );
    assert_eq!(data(4)[2], t("user_tags", json!(64), Value::Null, &[]));
    // The rebuild keeps every row; the table it went through is not there.
    assert_eq!(
        data(5),
        json!([
            t("sessions", json!(5799), json!(5799), &[]),
            t("settings", json!(0), json!(0), &[]),
            t("users", json!(5), json!(5), &[]),
        ])
    );
    assert_eq!(data(6)[1], t("settings", json!(0), json!(12), &[]));
    assert_eq!(data(6)[2], t("tags", Value::Null, json!(0), &[]));
    assert_eq!(bytes(&db), before, "the file is byte-identical");
}

/// A database of tests/fixtures/rewrites.toml at version 1 holding 5
/// users, 4 events and 100,001 readings (one more than a trial run
/// compares).
fn rewritable() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    migrate(REWRITES, &db, &["apply", "--to", "1"]).expect_success();
    open(&db)
        .execute_batch(
            "INSERT INTO users VALUES
                 (1, 'Ann', '18-25', 10), (2, 'Bob', '26-35', 20), (3, 'Cy', '36-45', NULL),
                 (4, 'Di', '46-55', 40), (5, 'Ed', '56+', 50);
             INSERT INTO events VALUES ('click', 1), ('click', 2), ('view', 3), ('other', 4);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100001)
             INSERT INTO readings SELECT i, i FROM n;",
        )
        .expect("data");
    (dir, db)
}

#[test]
fn dry_run_follows_renamed_columns_and_counts_the_values_rewritten_in_place() {
    let (_dir, db) = rewritable();
    let before = bytes(&db);
    let run = migrate(REWRITES, &db, &["apply", "--dry-run"]);
    run.expect_success();
    assert_eq!(
        without_durations(&run.stdout),
        format!(
            "Trial run on {} (rolled back, nothing changed):
      2  would succeed (TIME)
          renames column users.name to full_name
      3  would succeed (TIME)
          renames column users.score to points
          changes 5 of 5 values of users.age_range (e.g. '18-25' -> 18)
      4  would succeed (TIME)
          changes 4 of 5 values of users.points (e.g. 10 -> 20)
      5  would succeed (TIME)
          changes 3 of 4 values of events.kind (e.g. 'click' -> 'CLICK')
      6  would succeed (TIME)
          writes readings, too big for its values to be compared (over 100,000 rows)
Every migration tried would succeed on the current data.
",
            db.display()
        ),
        "{run}"
    );
    assert_eq!(bytes(&db), before, "the file is byte-identical");
}

#[test]
fn dry_run_json_gives_renamed_columns_and_changed_values() {
    let (_dir, db) = rewritable();
    let run = migrate(REWRITES, &db, &["--json", "apply", "--dry-run"]);
    run.expect_success();
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let data = |version: u64, table: &str| -> Value {
        doc["migrations"]
            .as_array()
            .expect("migrations")
            .iter()
            .find(|m| m["version"] == version)
            .and_then(|m| m["data"].as_array())
            .and_then(|d| d.iter().find(|t| t["table"] == table))
            .cloned()
            .unwrap_or_else(|| panic!("no version {version}, table {table}: {doc}"))
    };
    assert_eq!(
        data(3, "users"),
        json!({
            "table": "users",
            "rows_before": 5,
            "rows_after": 5,
            "dropped_columns": [],
            "renamed_from": null,
            "renamed_columns": [{ "from": "score", "to": "points" }],
            "changed_values": [{
                "column": "age_range",
                "changed": 5,
                "of": 5,
                "example": ["'18-25'", "18"],
            }],
            "values_compared": true,
        })
    );
    assert_eq!(data(6, "readings")["values_compared"], json!(false));
    assert_eq!(data(6, "readings")["changed_values"], json!([]));
    // Tables the migration did not write are compared by nothing: unchanged.
    assert_eq!(data(6, "users")["values_compared"], json!(true));
}

#[test]
fn apply_off_a_terminal_prints_the_declared_losses_and_applies_without_asking() {
    let (dir, db) = populated();
    let run = migrate(LOSSES, &db, &["apply", "--no-backup"]);
    run.expect_success();
    assert!(run.stdout.starts_with(DECLARED), "{run}");
    assert!(!run.stdout.contains("[y/N]"), "{run}");
    assert!(run.stdout.contains("Applied 5 migrations in "));
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
    no_backups(dir.path());
}

#[test]
fn apply_to_shows_only_the_losses_up_to_the_target() {
    let (_dir, db) = populated();
    let run = migrate(LOSSES, &db, &["apply", "--no-backup", "--to", "2"]);
    run.expect_success();
    assert!(
        run.stdout.starts_with(
            "Version 2 (\"Purge expired sessions\") declares it removes: sessions\n\
             Applying version 2: Purge expired sessions ... done in "
        ),
        "{run}"
    );
    // Versions 5 and 6 declare nothing: the output is as without losses.
    migrate(LOSSES, &db, &["apply", "--no-backup", "--to", "4"]).expect_success();
    let run = migrate(LOSSES, &db, &["apply", "--no-backup"]);
    run.expect_success();
    assert!(run.stdout.starts_with("Applying version 5: "), "{run}");
    assert!(!run.stdout.contains("declares"), "{run}");
}

#[test]
fn a_new_database_has_no_data_to_lose_so_nothing_is_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("new.db");
    let run = migrate(LOSSES, &db, &["apply"]);
    run.expect_success();
    assert!(run.stdout.starts_with("Applying version 1: "), "{run}");
    assert!(!run.stdout.contains("declares"), "{run}");
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn apply_json_carries_the_declared_losses() {
    let (_dir, db) = populated();
    let run = migrate(
        LOSSES,
        &db,
        &["--json", "apply", "--no-backup", "--to", "3"],
    );
    run.expect_success();
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        doc["declared_losses"],
        json!([
            {"version": 2, "description": "Purge expired sessions", "loses": ["sessions"]},
            {
                "version": 3,
                "description": "Remove deprecated legacy_score column from users",
                "loses": ["users.legacy_score"],
            },
        ])
    );
    assert_eq!(doc["version"], 3);
    // Nothing declared: no key, the document as before.
    let run = migrate(
        LOSSES,
        &db,
        &["--json", "apply", "--no-backup", "--to", "3"],
    );
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert!(doc.get("declared_losses").is_none(), "{doc}");
}

#[test]
fn on_a_terminal_no_changes_nothing() {
    let (dir, db) = populated();
    let before = bytes(&db);
    let Some(run) = migrate_on_terminal(LOSSES, &db, &["apply"], "n\n") else {
        return;
    };
    run.expect_code(2);
    let shown = plain(&run.stdout);
    assert!(shown.contains(DECLARED), "{run}");
    assert!(
        shown.contains(&format!(
            "{DECLARED}Apply 5 migrations? They remove the data above. [y/N] "
        )),
        "{run}"
    );
    assert!(
        shown.contains("not confirmed; nothing was changed"),
        "{run}"
    );
    assert_eq!(bytes(&db), before, "the file is byte-identical");
    no_backups(dir.path());
}

#[test]
fn on_a_terminal_yes_applies() {
    let (_dir, db) = populated();
    let Some(run) = migrate_on_terminal(LOSSES, &db, &["apply", "--no-backup"], "y\n") else {
        return;
    };
    run.expect_code(0);
    assert!(run.stdout.contains("[y/N]"), "{run}");
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn on_a_terminal_the_yes_flag_does_not_ask() {
    let (_dir, db) = populated();
    let Some(run) = migrate_on_terminal(LOSSES, &db, &["apply", "--no-backup", "--yes"], "") else {
        return;
    };
    run.expect_code(0);
    assert!(plain(&run.stdout).contains(DECLARED), "{run}");
    assert!(!run.stdout.contains("[y/N]"), "{run}");
    assert_eq!(versions(&db), [1, 2, 3, 4, 5, 6]);
}
