//! The integrity of what a database records, through the built binaries
//! against real files: migrations edited after they were applied (and
//! `repair`), databases of the original Python tool, databases ahead of the
//! build or with a gap, schema drift (`check`), `baseline`, and `apply --to`.
//!
//! `fixture-repo` is `migrate` over the repository's migrations.toml;
//! `fixture-i4-*` embed tests/fixtures/i4-*.toml: `i4-base` (versions 1 to
//! 3), `i4-edited` (version 2 edited, version 4 added) and `i4-whitespace`
//! (version 2 differing only in line endings and trailing whitespace).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use migrate_core::Migrations;
use migrate_tests::rusqlite::Connection;
use migrate_tests::{
    REPO_MIGRATIONS, Run, bytes, column_names, command, count, dir_entries, is_timestamp, migrate,
    migrate_on_terminal, objects, open, recorded, rows, tables, versions,
};
use tempfile::TempDir;

const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");
const FIRST10: &str = env!("CARGO_BIN_EXE_fixture-first10");
const BASE: &str = env!("CARGO_BIN_EXE_fixture-i4-base");
const EDITED: &str = env!("CARGO_BIN_EXE_fixture-i4-edited");
const WHITESPACE: &str = env!("CARGO_BIN_EXE_fixture-i4-whitespace");

/// What every fixture binary records as `applied_by`: the crate that
/// embedded the migrations (this one) and its version.
const BUILD: &str = concat!("migrate-tests ", env!("CARGO_PKG_VERSION"));

fn repo_migrations() -> Migrations {
    Migrations::from_toml(REPO_MIGRATIONS, "migrations.toml").expect("migrations.toml is valid")
}

/// The list a fixture binary embeds, parsed from its tests/fixtures/NAME.toml.
fn fixture(name: &str) -> Migrations {
    let path = format!("fixtures/{name}.toml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path))
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    Migrations::from_toml(&text, &path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fresh temporary directory and the path of a database file in it.
fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let db = dir.path().join("chatbot.db");
    (dir, db)
}

/// The names in the database's directory and the database's bytes: equal
/// before and after a command that changed nothing (no byte of the file, no
/// backup, journal or other file left behind).
fn snapshot(db: &Path) -> (Vec<String>, Option<Vec<u8>>) {
    (dir_entries(db.parent().expect("db in a dir")), bytes(db))
}

/// Runs each form of `apply` in `forms` and asserts that every one refuses
/// with exit code 3 naming `words`, starts nothing, and leaves the directory
/// as `before` (no byte of the database, no backup).
fn every_apply_refuses(
    bin: &str,
    db: &Path,
    forms: &[&[&str]],
    words: &[&str],
    before: &(Vec<String>, Option<Vec<u8>>),
) {
    for args in forms {
        let run = migrate(bin, db, args);
        run.expect_error(3, db, words);
        assert_eq!(run.stdout, "", "{args:?} must not start anything:\n{run}");
        assert_eq!(&snapshot(db), before, "{args:?} changed something");
    }
}

/// Lower-case hexadecimal, as schema_migrations stores hashes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One row of schema_migrations with this tool's columns.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    version: i64,
    description: Option<String>,
    applied_at: Option<String>,
    checksum: Option<String>,
    chain: Option<String>,
    duration_ms: Option<f64>,
    applied_by: Option<String>,
}

/// Every row of schema_migrations, oldest version first.
fn tracking(db: &Path) -> Vec<Row> {
    let conn = open(db);
    let mut stmt = conn
        .prepare(
            "SELECT version, description, applied_at, checksum, chain, duration_ms, applied_by \
             FROM schema_migrations ORDER BY version",
        )
        .expect("schema_migrations has this tool's columns");
    stmt.query_map([], |r| {
        Ok(Row {
            version: r.get(0)?,
            description: r.get(1)?,
            applied_at: r.get(2)?,
            checksum: r.get(3)?,
            chain: r.get(4)?,
            duration_ms: r.get(5)?,
            applied_by: r.get(6)?,
        })
    })
    .expect("query schema_migrations")
    .collect::<Result<_, _>>()
    .expect("read schema_migrations")
}

/// Asserts that the rows' checksums and chains are the ones `list` computes
/// for the same versions.
#[track_caller]
fn assert_hashes_of(rows: &[Row], list: &Migrations) {
    for row in rows {
        let m = &list[usize::try_from(row.version - 1).expect("version >= 1")];
        assert_eq!(
            row.checksum.as_deref(),
            Some(hex(&m.checksum()).as_str()),
            "checksum of version {}",
            row.version
        );
        assert_eq!(
            row.chain.as_deref(),
            Some(hex(&m.chain().expect("parsed lists are chained")).as_str()),
            "chain of version {}",
            row.version
        );
    }
}

/// The `CREATE` statements of the database, without schema_migrations: the
/// schema a command must not touch.
fn schema_sql(db: &Path) -> Vec<Vec<String>> {
    rows(
        db,
        "SELECT type, name, sql FROM sqlite_master WHERE name != 'schema_migrations' \
         ORDER BY type, name",
    )
}

/// Runs `list`'s SQL 1..=`upto` on the file with rusqlite, the way a schema
/// made before this tool was made: no schema_migrations, no runner.
fn make_schema_by_hand(db: &Path, list: &Migrations, upto: u32) {
    let conn = Connection::open(db).expect("create the database");
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("foreign keys off for the table rebuilds");
    for m in list.iter().take_while(|m| m.version() <= upto) {
        for item in m.sql() {
            conn.execute_batch(item)
                .unwrap_or_else(|e| panic!("version {}: {e}", m.version()));
        }
    }
}

/// A user with rows in the child tables, valid at any version from 3 on.
fn insert_chat_data(db: &Path) {
    open(db)
        .execute_batch(
            "INSERT INTO users (id, gender, age_range, handler) VALUES
                 ('u1', 'female', 31, 'alice_bot'), ('u2', 'male', 25, 'bob_bot');
             INSERT INTO messages (_from, content) VALUES ('u1', 'hello'), ('u2', 'hi');
             INSERT INTO tickets (user, subject) VALUES ('u1', 'cannot log in');",
        )
        .expect("insert chat data");
}

/// The chat data, to compare before and after.
fn chat_data(db: &Path) -> Vec<Vec<String>> {
    let mut all = rows(db, "SELECT id, gender, handler FROM users ORDER BY id");
    all.extend(rows(
        db,
        "SELECT id, _from, content FROM messages ORDER BY id",
    ));
    all.extend(rows(
        db,
        "SELECT id, user, subject FROM tickets ORDER BY id",
    ));
    all
}

/// The times the Python tool recorded for its migrations 1 to 15.
fn python_time(version: u32) -> String {
    format!(
        "2024-{:02}-0{} 10:00:0{}",
        version.min(12),
        version % 9 + 1,
        version % 10
    )
}

/// A database the original Python tool migrated to `upto`: the schema of
/// the repository's migrations 1..=upto, its three-column schema_migrations
/// with one row per version (the repository's descriptions, old times), and
/// some data.
fn python_tool_db(db: &Path, upto: u32) {
    let repo = repo_migrations();
    make_schema_by_hand(db, &repo, upto);
    let conn = open(db);
    conn.execute_batch(
        "CREATE TABLE schema_migrations (
             version INTEGER PRIMARY KEY,
             description TEXT,
             applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
         )",
    )
    .expect("create the Python tool's schema_migrations");
    for m in repo.iter().take_while(|m| m.version() <= upto) {
        conn.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
            migrate_tests::rusqlite::params![
                m.version(),
                m.description(),
                python_time(m.version())
            ],
        )
        .expect("record a Python-era migration");
    }
    drop(conn);
    insert_chat_data(db);
}

/// The lines of `text` that start with `prefix`.
fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// Runs `bin --database db ARGS…` with `input` on its stdin (a pipe, not a
/// terminal).
fn migrate_with_input(bin: &str, db: &Path, args: &[&str], input: &str) -> Run {
    let mut child = command(bin)
        .arg("--database")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    // The process may exit without reading: a broken pipe is fine.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    Run::from(child.wait_with_output().expect("wait for migrate"))
}

// ---------------------------------------------------------------------------
// (1) A migration edited after it was applied

const MODIFIED_2: &str = "version 2 (\"Add status to notes\") was modified after it was applied";

#[test]
fn the_fixtures_differ_exactly_where_the_tests_say() {
    let (base, edited, whitespace) = (
        fixture("i4-base"),
        fixture("i4-edited"),
        fixture("i4-whitespace"),
    );
    assert_eq!((base.len(), edited.len(), whitespace.len()), (3, 4, 3));
    assert_eq!(edited[0], base[0]);
    assert_eq!(edited[2].checksum(), base[2].checksum());
    assert_eq!(edited[1].description(), base[1].description());
    assert_ne!(edited[1].checksum(), base[1].checksum());
    // The whitespace variant's SQL really is other bytes: CRLF, trailing
    // blanks, blank lines.
    for (w, b) in whitespace.iter().zip(base.iter()).skip(1) {
        let (w_sql, b_sql): (Vec<&str>, Vec<&str>) = (w.sql().collect(), b.sql().collect());
        assert_ne!(w_sql, b_sql);
        assert!(w_sql.iter().all(|s| s.contains("\r\n")), "{w_sql:?}");
        assert_eq!(w.checksum(), b.checksum(), "version {}", w.version());
    }
}

#[test]
fn an_edited_migration_is_named_by_status_and_refused_by_apply_and_check() {
    let (_dir, db) = temp_db();
    migrate(BASE, &db, &["apply"]).expect_success();
    let before = snapshot(&db);
    let rows_before = tracking(&db);

    // status names it, with its description, and still exits 0.
    let status = migrate(EDITED, &db, &["status"]);
    status.expect_success();
    assert!(
        status.stdout.contains(
            "\nProblems (1), `migrate apply` refuses to run until they are resolved:\n  - \
             version 2 (\"Add status to notes\") was modified after it was applied: its SQL in \
             this build differs from what ran; restore it, or run `migrate repair`"
        ),
        "{status}"
    );
    assert!(
        status
            .stdout
            .contains("Pending (1):\n      4  Create tags table\n"),
        "{status}"
    );
    assert!(!status.stdout.contains("version 1 ("), "{status}");
    assert!(!status.stdout.contains("version 3 ("), "{status}");

    // apply refuses: exit 3, nothing run, no backup, not a byte changed; so
    // do a partial apply and a trial run.
    every_apply_refuses(
        EDITED,
        &db,
        &[
            &["apply"],
            &["apply", "--to", "3"],
            &["apply", "--to", "4"],
            &["apply", "--dry-run"],
        ],
        &[MODIFIED_2, "migrate repair", "nothing was changed"],
        &before,
    );
    assert!(!tables(&db).contains(&"tags".to_owned()));

    // check fails, naming the edit and the pending version.
    let check = migrate(EDITED, &db, &["check"]);
    check.expect_code(3);
    assert_eq!(check.stderr, "", "{check}");
    assert_eq!(
        lines_starting(&check.stdout, "problem: "),
        [format!(
            "problem: {MODIFIED_2}: its SQL in this build differs from what ran; restore it, or \
             run `migrate repair` to accept the new SQL as what ran"
        )],
        "{check}"
    );
    assert_eq!(
        lines_starting(&check.stdout, "pending: "),
        ["pending: version 4 not applied"]
    );
    assert!(
        check.stdout.ends_with(&format!(
            "FAILED: {} does not agree with this build (version 3).\n",
            db.display()
        )),
        "{check}"
    );
    assert_eq!(snapshot(&db), before, "check changed something");

    // Restoring the SQL (the build with the original text) clears it.
    let status = migrate(BASE, &db, &["status"]);
    status.expect_success();
    assert!(!status.stdout.contains("Problems"), "{status}");
    assert!(
        status.stdout.contains("none: the database is up to date"),
        "{status}"
    );
    migrate(BASE, &db, &["check"]).expect_success();
    let apply = migrate(BASE, &db, &["apply"]);
    apply.expect_success();
    assert_eq!(
        apply.stdout,
        format!("Nothing to apply: {} is at version 3.\n", db.display())
    );
    assert_eq!(snapshot(&db), before);
    assert_eq!(tracking(&db), rows_before);
}

#[test]
fn what_apply_records_for_each_migration() {
    let (_dir, db) = temp_db();
    migrate(BASE, &db, &["apply"]).expect_success();
    let rows = tracking(&db);
    assert_eq!(rows.len(), 3);
    let base = fixture("i4-base");
    assert_hashes_of(&rows, &base);
    for (row, m) in rows.iter().zip(base.iter()) {
        assert_eq!(row.version, i64::from(m.version()));
        assert_eq!(row.description.as_deref(), Some(m.description()));
        assert!(
            row.applied_at.as_deref().is_some_and(is_timestamp),
            "{row:?}"
        );
        assert!(row.duration_ms.is_some_and(|d| d >= 0.0), "{row:?}");
        assert_eq!(row.applied_by.as_deref(), Some(BUILD));
        assert_eq!(row.checksum.as_ref().map(String::len), Some(64));
    }
    // Each chain differs from the others and from the checksums: it covers
    // every version up to its own.
    let mut hashes: Vec<&str> = rows
        .iter()
        .flat_map(|r| [r.checksum.as_deref(), r.chain.as_deref()])
        .flatten()
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 6);

    // history shows the duration and the build.
    let history = migrate(BASE, &db, &["history"]);
    history.expect_success();
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{history}");
    assert!(lines[0].contains("applied by"), "{history}");
    for line in &lines[1..] {
        assert!(line.contains(" ms  "), "{history}");
        assert!(line.contains(BUILD), "{history}");
    }
}

#[test]
fn repair_asks_first_then_records_the_edited_sql_and_apply_continues() {
    let (_dir, db) = temp_db();
    migrate(BASE, &db, &["apply"]).expect_success();
    let before = snapshot(&db);
    let rows_before = tracking(&db);

    // Not on a terminal: without --yes, refused (usage, exit 2), even when
    // something that looks like a yes arrives on stdin.
    for input in ["", "y\n", "yes\n"] {
        let run = migrate_with_input(EDITED, &db, &["repair"], input);
        run.expect_error(
            2,
            &db,
            &["Not on a terminal", "pass --yes", "nothing was changed"],
        );
        assert_eq!(run.stdout, "", "{run}");
        assert_eq!(
            snapshot(&db),
            before,
            "repair without --yes changed something"
        );
    }

    let repair = migrate(EDITED, &db, &["repair", "--yes"]);
    repair.expect_success();
    assert_eq!(
        repair.stdout,
        "Recorded this build's checksums for version 2.\n"
    );
    let rows = tracking(&db);
    assert_hashes_of(&rows, &fixture("i4-edited"));
    // Only the hashes changed: which versions, when, how long, by whom stay.
    let strip = |rows: &[Row]| -> Vec<Row> {
        rows.iter()
            .map(|r| Row {
                checksum: None,
                chain: None,
                ..r.clone()
            })
            .collect()
    };
    assert_eq!(strip(&rows), strip(&rows_before));
    assert_eq!(rows[0].checksum, rows_before[0].checksum);
    assert_eq!(rows[0].chain, rows_before[0].chain);
    assert_eq!(rows[2].checksum, rows_before[2].checksum);
    assert_ne!(rows[1].checksum, rows_before[1].checksum);
    // The chain of every version from 2 on covers the new checksum.
    assert_ne!(rows[1].chain, rows_before[1].chain);
    assert_ne!(rows[2].chain, rows_before[2].chain);
    // The schema is what ran: repair records, it does not migrate.
    assert_eq!(schema_sql(&db), {
        let (_d, fresh) = temp_db();
        migrate(BASE, &fresh, &["apply"]).expect_success();
        schema_sql(&fresh)
    });

    // status is clean but for the pending version 4.
    let status = migrate(EDITED, &db, &["status"]);
    status.expect_success();
    assert!(!status.stdout.contains("Problems"), "{status}");
    assert!(
        status
            .stdout
            .contains("Pending (1):\n      4  Create tags table\n"),
        "{status}"
    );

    // A second repair has nothing to do and changes nothing.
    let after_repair = snapshot(&db);
    let again = migrate(EDITED, &db, &["repair", "--yes"]);
    again.expect_success();
    assert_eq!(
        again.stdout,
        "Nothing to repair: every applied migration matches this build.\n"
    );
    assert_eq!(snapshot(&db), after_repair);

    // apply now runs the pending version 4, and only it.
    let apply = migrate(EDITED, &db, &["apply"]);
    apply.expect_success();
    assert!(
        apply
            .stdout
            .contains("Applying version 4: Create tags table ... done"),
        "{apply}"
    );
    for v in 1..=3 {
        assert!(
            !apply.stdout.contains(&format!("Applying version {v}:")),
            "{apply}"
        );
    }
    assert!(apply.stdout.contains("Applied 1 migration in "), "{apply}");
    assert!(
        apply
            .stdout
            .ends_with(&format!("{} is now at version 4.\n", db.display())),
        "{apply}"
    );
    assert_eq!(versions(&db), [1, 2, 3, 4]);
    assert!(tables(&db).contains(&"tags".to_owned()));
    assert_hashes_of(&tracking(&db), &fixture("i4-edited"));
    assert_eq!(tracking(&db)[3].applied_by.as_deref(), Some(BUILD));

    // check: the record agrees now, but the column still has the DEFAULT
    // that ran, not the edited one, and check says so.
    let check = migrate(EDITED, &db, &["check"]);
    check.expect_code(3);
    assert_eq!(
        lines_starting(&check.stdout, "problem: "),
        Vec::<&str>::new()
    );
    assert_eq!(
        lines_starting(&check.stdout, "pending: "),
        Vec::<&str>::new()
    );
    assert_eq!(
        lines_starting(&check.stdout, "drift: "),
        [
            "drift: column `notes.status` differs: the migrations make `TEXT NOT NULL DEFAULT \
             'new'`, the database has `TEXT NOT NULL DEFAULT 'draft'`"
        ],
        "{check}"
    );
}

#[test]
fn repair_on_a_terminal_asks_and_does_nothing_unless_told_yes() {
    let (_dir, db) = temp_db();
    migrate(BASE, &db, &["apply"]).expect_success();
    let before = snapshot(&db);

    for answer in ["n\n", "\n", "whatever\n"] {
        let Some(run) = migrate_on_terminal(EDITED, &db, &["repair"], answer) else {
            return;
        };
        run.expect_code(2);
        // The question names the migration before asking.
        assert!(run.stdout.contains(MODIFIED_2), "{run}");
        assert!(
            run.stdout
                .contains("Record this build's SQL as what ran for these migrations? [y/N] "),
            "{run}"
        );
        assert!(
            run.stdout.contains("not confirmed; nothing was changed"),
            "{run}"
        );
        assert_eq!(snapshot(&db), before, "answer {answer:?} changed something");
    }

    let Some(run) = migrate_on_terminal(EDITED, &db, &["repair"], "y\n") else {
        return;
    };
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("Recorded this build's checksums for version 2."),
        "{run}"
    );
    assert_hashes_of(&tracking(&db), &fixture("i4-edited"));
}

#[test]
fn line_endings_and_trailing_whitespace_are_not_an_edit() {
    // Applied with the LF text, read by the build whose text has CRLF and
    // trailing blanks: the same migrations.
    let (_dir, db) = temp_db();
    migrate(BASE, &db, &["apply"]).expect_success();
    let before = snapshot(&db);

    let status = migrate(WHITESPACE, &db, &["status"]);
    status.expect_success();
    assert!(!status.stdout.contains("Problems"), "{status}");
    assert!(!status.stdout.contains("modified"), "{status}");
    assert!(
        status.stdout.contains("none: the database is up to date"),
        "{status}"
    );
    let check = migrate(WHITESPACE, &db, &["check"]);
    check.expect_success();
    assert!(check.stdout.starts_with("OK: "), "{check}");
    let apply = migrate(WHITESPACE, &db, &["apply"]);
    apply.expect_success();
    assert!(apply.stdout.starts_with("Nothing to apply"), "{apply}");
    let repair = migrate(WHITESPACE, &db, &["repair", "--yes"]);
    repair.expect_success();
    assert!(repair.stdout.starts_with("Nothing to repair"), "{repair}");
    assert_eq!(snapshot(&db), before);

    // And the other way round: applied with CRLF, it records the checksums
    // of the LF text, and the LF build finds it clean.
    let (_dir2, db2) = temp_db();
    migrate(WHITESPACE, &db2, &["apply"]).expect_success();
    assert_hashes_of(&tracking(&db2), &fixture("i4-base"));
    assert_eq!(
        tracking(&db2)
            .iter()
            .map(|r| r.checksum.clone())
            .collect::<Vec<_>>(),
        tracking(&db)
            .iter()
            .map(|r| r.checksum.clone())
            .collect::<Vec<_>>()
    );
    migrate(BASE, &db2, &["check"]).expect_success();
}

// ---------------------------------------------------------------------------
// (2) Databases of the original Python tool

#[test]
fn a_python_tool_database_is_continued_at_6_and_its_rows_adopted() {
    let (_dir, db) = temp_db();
    python_tool_db(&db, 5);
    let old = recorded(&db);
    let data = chat_data(&db);
    assert_eq!(
        column_names(&db, "schema_migrations"),
        ["version", "description", "applied_at"]
    );

    // No complaint before: the rows simply have no checksum yet.
    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    assert!(
        status
            .stdout
            .contains("Version:  5 (this build has 1 to 15)"),
        "{status}"
    );
    assert!(!status.stdout.contains("Problems"), "{status}");
    // check only misses the pending versions: the schema is version 5's.
    let check = migrate(REPO, &db, &["check"]);
    check.expect_code(3);
    assert_eq!(
        check.stdout,
        format!(
            "pending: versions 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 not applied\n\
             FAILED: {} does not agree with this build (version 5).\n",
            db.display()
        )
    );

    let apply = migrate(REPO, &db, &["apply"]);
    apply.expect_success();
    for v in 1..=5 {
        assert!(
            !apply.stdout.contains(&format!("Applying version {v}:")),
            "{apply}"
        );
    }
    assert!(
        apply
            .stdout
            .contains("Applying version 6: Create user_sessions table ... done"),
        "{apply}"
    );
    assert!(
        apply.stdout.contains(
            "Recorded checksums for 5 migration(s) applied before checksums were kept.\n"
        ),
        "{apply}"
    );
    assert!(apply.stdout.contains("Applied 10 migrations"), "{apply}");

    // The old rows keep version, description and time, and now have this
    // build's checksums; no duration or build is invented for them.
    let rows = tracking(&db);
    assert_eq!(rows.len(), 15);
    let repo = repo_migrations();
    assert_hashes_of(&rows, &repo);
    for (row, (version, description, applied_at)) in rows.iter().zip(&old) {
        assert_eq!(
            (&row.version, &row.description, &row.applied_at),
            (version, description, applied_at)
        );
        assert_eq!(
            row.applied_at.as_deref(),
            Some(python_time(row.version as u32).as_str())
        );
        assert_eq!((row.duration_ms, row.applied_by.as_deref()), (None, None));
    }
    for row in &rows[5..] {
        assert_eq!(row.applied_by.as_deref(), Some(BUILD));
        assert!(row.duration_ms.is_some(), "{row:?}");
    }
    assert_eq!(
        column_names(&db, "schema_migrations"),
        [
            "version",
            "description",
            "applied_at",
            "checksum",
            "chain",
            "duration_ms",
            "applied_by",
            "down_sql",
            "down_checksum"
        ]
    );
    // The users came through the rebuilds of 11 and 12.
    assert_eq!(chat_data(&db).len(), data.len());

    let check = migrate(REPO, &db, &["check"]);
    check.expect_success();
    assert_eq!(
        check.stdout,
        format!(
            "OK: {} is at version 15, its record and schema are what this build expects.\n",
            db.display()
        )
    );
    // Adopted once: a second apply has nothing to do and writes nothing.
    let before = snapshot(&db);
    migrate(REPO, &db, &["apply"]).expect_success();
    assert_eq!(snapshot(&db), before);
}

#[test]
fn a_python_tool_database_with_nothing_pending_is_adopted_too() {
    let (_dir, db) = temp_db();
    python_tool_db(&db, 15);
    let old = recorded(&db);
    let schema = schema_sql(&db);

    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    assert!(!status.stdout.contains("Problems"), "{status}");
    assert!(
        status.stdout.contains("none: the database is up to date"),
        "{status}"
    );
    migrate(REPO, &db, &["check"]).expect_success();

    let apply = migrate(REPO, &db, &["apply"]);
    apply.expect_success();
    // It wrote (the columns, the checksums): it says so, not only that
    // nothing was applied.
    assert_eq!(
        apply.stdout,
        format!(
            "Recorded checksums for 15 migration(s) applied before checksums were kept.\n\
             Nothing to apply: {} is at version 15.\n",
            db.display()
        )
    );
    assert_eq!(recorded(&db), old);
    assert_hashes_of(&tracking(&db), &repo_migrations());
    assert_eq!(schema_sql(&db), schema);
    migrate(REPO, &db, &["check"]).expect_success();
}

// ---------------------------------------------------------------------------
// (3) A database ahead of the build, and a gap

#[test]
fn a_database_ahead_of_the_build_is_named_and_nothing_changes() {
    let (_dir, db) = temp_db();
    migrate(REPO, &db, &["apply"]).expect_success();
    let before = snapshot(&db);
    let repo = repo_migrations();

    // first10 is the same list cut after 10: 11 to 15 are unknown to it.
    let status = migrate(FIRST10, &db, &["status"]);
    status.expect_success();
    assert!(
        status
            .stdout
            .contains("Version:  15 (this build has 1 to 10)"),
        "{status}"
    );
    assert!(
        status
            .stdout
            .contains("Problems (5), `migrate apply` refuses"),
        "{status}"
    );
    for m in &repo[10..] {
        assert!(
            status.stdout.contains(&format!(
                "  - the database records version {} ({:?}) which this build does not know",
                m.version(),
                m.description()
            )),
            "{status}"
        );
    }

    every_apply_refuses(
        FIRST10,
        &db,
        &[
            &["apply"],
            &["apply", "--to", "10"],
            &["apply", "--dry-run"],
        ],
        &[
            "the database records version 11",
            "the database records version 15",
            "nothing was changed",
        ],
        &before,
    );

    let check = migrate(FIRST10, &db, &["check"]);
    check.expect_code(3);
    assert_eq!(
        lines_starting(&check.stdout, "problem: ").len(),
        5,
        "{check}"
    );
    assert!(
        check
            .stdout
            .contains("problem: the database records version 13 (\"Add email_verified column"),
        "{check}"
    );
    // The schema of an unknown version cannot be judged: no drift claimed.
    assert_eq!(lines_starting(&check.stdout, "drift: "), Vec::<&str>::new());
    assert!(check.stdout.contains("FAILED: "), "{check}");

    // repair and baseline refuse too.
    migrate(FIRST10, &db, &["repair", "--yes"]).expect_error(
        3,
        &db,
        &["the database records version 11", "nothing was changed"],
    );
    migrate(FIRST10, &db, &["baseline", "10", "--force"]).expect_error(
        3,
        &db,
        &[
            "already records migrations (up to version 15)",
            "nothing was changed",
        ],
    );
    assert_eq!(snapshot(&db), before);
}

#[test]
fn a_python_tool_database_ahead_of_the_build_is_not_touched() {
    // Refused before this tool adds its columns to the old table.
    let (_dir, db) = temp_db();
    python_tool_db(&db, 15);
    let before = snapshot(&db);
    let run = migrate(FIRST10, &db, &["apply"]);
    run.expect_error(
        3,
        &db,
        &["the database records version 11", "nothing was changed"],
    );
    migrate(FIRST10, &db, &["check"]).expect_code(3);
    assert_eq!(snapshot(&db), before);
    assert_eq!(
        column_names(&db, "schema_migrations"),
        ["version", "description", "applied_at"]
    );
}

#[test]
fn a_gap_in_the_record_is_named_and_nothing_changes() {
    let (_dir, db) = temp_db();
    migrate(FIRST10, &db, &["apply"]).expect_success();
    open(&db)
        .execute_batch("DELETE FROM schema_migrations WHERE version IN (3, 7)")
        .expect("forget versions 3 and 7");
    let before = snapshot(&db);

    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    for line in [
        "  - version 3 (\"Create tickets table\") was never applied although later versions were",
        "  - version 7 (\"Add index on messages timestamp\") was never applied although later \
         versions were",
    ] {
        assert!(status.stdout.contains(line), "{status}");
    }
    assert!(status.stdout.contains("Problems (2)"), "{status}");

    every_apply_refuses(
        REPO,
        &db,
        &[
            &["apply"],
            &["apply", "--to", "11"],
            &["apply", "--dry-run"],
        ],
        &[
            "version 3 (\"Create tickets table\") was never applied",
            "version 7 (",
            "nothing was changed",
        ],
        &before,
    );

    let check = migrate(REPO, &db, &["check"]);
    check.expect_code(3);
    assert_eq!(
        lines_starting(&check.stdout, "problem: "),
        [
            "problem: version 3 (\"Create tickets table\") was never applied although later \
             versions were; applying it now would run it out of order",
            "problem: version 7 (\"Add index on messages timestamp\") was never applied although \
             later versions were; applying it now would run it out of order",
        ],
        "{check}"
    );
    assert!(
        check
            .stdout
            .contains("pending: versions 11, 12, 13, 14, 15 not applied"),
        "{check}"
    );

    migrate(REPO, &db, &["repair", "--yes"]).expect_error(
        3,
        &db,
        &[
            "version 3 (\"Create tickets table\") was never applied",
            "nothing was changed",
        ],
    );
    assert_eq!(snapshot(&db), before);
}

#[test]
fn repair_refuses_an_edit_while_the_database_is_also_ahead() {
    // Applied with i4-edited (1 to 4); the base build has another version 2
    // and no version 4.
    let (_dir, db) = temp_db();
    migrate(EDITED, &db, &["apply"]).expect_success();
    let before = snapshot(&db);

    let status = migrate(BASE, &db, &["status"]);
    status.expect_success();
    assert!(status.stdout.contains(MODIFIED_2), "{status}");
    assert!(
        status.stdout.contains(
            "the database records version 4 (\"Create tags table\") which this build does not \
             know"
        ),
        "{status}"
    );

    let run = migrate(BASE, &db, &["repair", "--yes"]);
    run.expect_error(
        3,
        &db,
        &["the database records version 4", "nothing was changed"],
    );
    assert_eq!(run.stdout, "", "{run}");
    assert_eq!(snapshot(&db), before);
}

// ---------------------------------------------------------------------------
// (4) Drift: the live schema against the build's for the database's version

/// A database migrated by the repository's list, with some data.
fn migrated_repo_db() -> (TempDir, PathBuf) {
    let (dir, db) = temp_db();
    migrate(REPO, &db, &["apply"]).expect_success();
    insert_chat_data(&db);
    (dir, db)
}

/// Runs `check`, asserts it failed the documented way (exit 3, only stdout,
/// file unchanged) and returns its `drift:` lines.
#[track_caller]
fn failed_check_drift(db: &Path) -> Vec<String> {
    let before = snapshot(db);
    let check = migrate(REPO, db, &["check"]);
    check.expect_code(3);
    assert_eq!(check.stderr, "", "{check}");
    assert!(
        check.stdout.ends_with(&format!(
            "FAILED: {} does not agree with this build (version 15).\n",
            db.display()
        )),
        "{check}"
    );
    assert_eq!(snapshot(db), before, "check changed something");
    lines_starting(&check.stdout, "drift: ")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[test]
fn check_on_a_database_that_agrees_says_ok() {
    let (_dir, db) = migrated_repo_db();
    let before = snapshot(&db);
    let check = migrate(REPO, &db, &["check"]);
    check.expect_success();
    assert_eq!(
        check.stdout,
        format!(
            "OK: {} is at version 15, its record and schema are what this build expects.\n",
            db.display()
        )
    );
    assert_eq!(snapshot(&db), before);
}

#[test]
fn a_column_added_by_hand_is_named() {
    let (_dir, db) = migrated_repo_db();
    open(&db)
        .execute_batch("ALTER TABLE users ADD COLUMN nickname")
        .expect("add a column by hand");
    assert_eq!(
        failed_check_drift(&db),
        ["drift: column `users.nickname` is not made by any migration (added by hand?)"]
    );
}

#[test]
fn an_index_and_a_column_dropped_by_hand_are_named_as_missing() {
    let (_dir, db) = migrated_repo_db();
    open(&db)
        .execute_batch("DROP INDEX idx_tickets_status")
        .expect("drop an index by hand");
    assert_eq!(
        failed_check_drift(&db),
        ["drift: index `idx_tickets_status` is missing (dropped by hand?)"]
    );
    open(&db)
        .execute_batch("ALTER TABLE users DROP COLUMN email_verified")
        .expect("drop a column by hand");
    let mut drift = failed_check_drift(&db);
    drift.sort();
    assert_eq!(
        drift,
        [
            "drift: column `users.email_verified` is missing (dropped by hand?)",
            "drift: index `idx_tickets_status` is missing (dropped by hand?)",
        ]
    );
}

#[test]
fn a_table_a_view_and_a_trigger_made_by_hand_are_named() {
    let (_dir, db) = migrated_repo_db();
    open(&db)
        .execute_batch(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, what TEXT);
             CREATE VIEW verified_users AS SELECT id FROM users WHERE email_verified;
             CREATE TRIGGER users_audit AFTER DELETE ON users
             BEGIN INSERT INTO audit_log (what) VALUES ('deleted ' || old.id); END;",
        )
        .expect("create objects by hand");
    let mut drift = failed_check_drift(&db);
    drift.sort();
    assert_eq!(
        drift,
        [
            "drift: table `audit_log` is not made by any migration (added by hand?)",
            "drift: trigger `users_audit` is not made by any migration (added by hand?)",
            "drift: view `verified_users` is not made by any migration (added by hand?)",
        ]
    );
}

#[test]
fn an_index_defined_differently_is_named_and_layout_alone_is_not_drift() {
    let (_dir, db) = migrated_repo_db();
    // Re-created with other line breaks and spacing: the same index.
    open(&db)
        .execute_batch(
            "DROP INDEX idx_tickets_status;
             CREATE INDEX idx_tickets_status\n    ON   tickets(status);",
        )
        .expect("re-create an index by hand");
    migrate(REPO, &db, &["check"]).expect_success();

    open(&db)
        .execute_batch(
            "DROP INDEX idx_tickets_status;
             CREATE INDEX idx_tickets_status ON tickets(status, user);",
        )
        .expect("change an index by hand");
    assert_eq!(
        failed_check_drift(&db),
        [
            "drift: index `idx_tickets_status` differs: the migrations make `CREATE INDEX \
             idx_tickets_status ON tickets(status)`, the database has `CREATE INDEX \
             idx_tickets_status ON tickets(status, user)`"
        ]
    );
}

#[test]
fn check_fails_on_pending_migrations_naming_them() {
    let (_dir, db) = temp_db();
    migrate(FIRST10, &db, &["apply"]).expect_success();
    let before = snapshot(&db);
    let check = migrate(REPO, &db, &["check"]);
    check.expect_code(3);
    assert_eq!(
        check.stdout,
        format!(
            "pending: versions 11, 12, 13, 14, 15 not applied\n\
             FAILED: {} does not agree with this build (version 10).\n",
            db.display()
        )
    );
    assert_eq!(snapshot(&db), before);
    // The same database is exactly what first10 expects.
    migrate(FIRST10, &db, &["check"]).expect_success();

    // A file that does not exist: everything pending, and it is not created.
    let (dir, missing) = temp_db();
    let check = migrate(REPO, &missing, &["check"]);
    check.expect_code(3);
    assert!(
        check.stdout.starts_with("pending: versions 1, 2, 3, "),
        "{check}"
    );
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// (5) baseline: a database made before this tool

/// A chat-app database whose schema is the repository's version `upto`,
/// made without this tool, with data.
fn chat_app_db(upto: u32) -> (TempDir, PathBuf) {
    let (dir, db) = temp_db();
    make_schema_by_hand(&db, &repo_migrations(), upto);
    insert_chat_data(&db);
    (dir, db)
}

#[test]
fn baseline_records_an_existing_schema_without_running_anything() {
    let (_dir, db) = chat_app_db(15);
    let schema = schema_sql(&db);
    let data = chat_data(&db);
    // Before: version 0, and check sees every table as made by hand.
    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    assert!(status.stdout.contains("Version:  0 "), "{status}");
    migrate(REPO, &db, &["check"]).expect_code(3);

    let run = migrate(REPO, &db, &["baseline", "15"]);
    run.expect_success();
    assert_eq!(
        run.stdout,
        "Recorded versions 1 to 15 as applied without running them.\n"
    );

    let rows = tracking(&db);
    let repo = repo_migrations();
    assert_eq!(rows.len(), 15);
    assert_hashes_of(&rows, &repo);
    for (row, m) in rows.iter().zip(repo.iter()) {
        assert_eq!(row.version, i64::from(m.version()));
        assert_eq!(row.description.as_deref(), Some(m.description()));
        assert!(
            row.applied_by
                .as_deref()
                .is_some_and(|b| b.starts_with("baseline by ")),
            "{row:?}"
        );
        assert_eq!(
            row.applied_by.as_deref(),
            Some(&*format!("baseline by {BUILD}"))
        );
        assert_eq!(row.duration_ms, None, "nothing ran: {row:?}");
        assert!(row.applied_at.as_deref().is_some_and(is_timestamp));
    }
    // Nothing ran: schema and data as they were.
    assert_eq!(schema_sql(&db), schema);
    assert_eq!(chat_data(&db), data);

    let history = migrate(REPO, &db, &["history"]);
    history.expect_success();
    let lines: Vec<&str> = history.stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 15, "{history}");
    for line in lines {
        assert!(line.contains(&format!("baseline by {BUILD}")), "{history}");
    }

    let check = migrate(REPO, &db, &["check"]);
    check.expect_success();
    assert!(check.stdout.starts_with("OK: "), "{check}");
    let before = snapshot(&db);
    let apply = migrate(REPO, &db, &["apply"]);
    apply.expect_success();
    assert_eq!(
        apply.stdout,
        format!("Nothing to apply: {} is at version 15.\n", db.display())
    );
    assert_eq!(snapshot(&db), before);
}

#[test]
fn baseline_refuses_a_schema_of_another_version_unless_forced() {
    // A version-15 schema is not version 12's: 13 added a column, 15 indexes.
    let (_dir, db) = chat_app_db(15);
    let before = snapshot(&db);
    let run = migrate(REPO, &db, &["baseline", "12"]);
    let message = run
        .expect_error(
            3,
            &db,
            &[
                "the database's schema is not the schema of version 12",
                "column `users.email_verified`",
                "index `idx_tickets_status`",
                "--force",
                "nothing was changed",
            ],
        )
        .to_owned();
    assert!(message.contains("idx_messages_user_timestamp"), "{run}");
    assert_eq!(run.stdout, "");
    assert_eq!(snapshot(&db), before);
    assert!(!tables(&db).contains(&"schema_migrations".to_owned()));

    // A version-12 schema is not version 15's either.
    let (_dir12, db12) = chat_app_db(12);
    let before12 = snapshot(&db12);
    migrate(REPO, &db12, &["baseline", "15"]).expect_error(
        3,
        &db12,
        &[
            "not the schema of version 15",
            "column `users.email_verified` is missing",
            "index `idx_tickets_user` is missing",
        ],
    );
    assert_eq!(snapshot(&db12), before12);
    // Its own version is accepted.
    migrate(REPO, &db12, &["baseline", "12"]).expect_success();
    assert_eq!(versions(&db12), (1..=12).collect::<Vec<i64>>());
    migrate(REPO, &db12, &["check"]).expect_code(3);

    // --force records it anyway; check then names the difference.
    let forced = migrate(REPO, &db, &["baseline", "12", "--force"]);
    forced.expect_success();
    assert_eq!(versions(&db), (1..=12).collect::<Vec<i64>>());
    let check = migrate(REPO, &db, &["check"]);
    check.expect_code(3);
    assert!(
        check.stdout.contains(
            "drift: column `users.email_verified` is not made by any migration (added by hand?)"
        ),
        "{check}"
    );
    assert!(
        check
            .stdout
            .contains("pending: versions 13, 14, 15 not applied"),
        "{check}"
    );
}

#[test]
fn baseline_refuses_a_database_that_already_records_migrations() {
    let (_dir, db) = temp_db();
    migrate(REPO, &db, &["apply"]).expect_success();
    let before = snapshot(&db);
    for args in [
        &["baseline", "15"][..],
        &["baseline", "15", "--force"],
        &["baseline", "3", "--force"],
    ] {
        let run = migrate(REPO, &db, args);
        run.expect_error(
            3,
            &db,
            &[
                "already records migrations (up to version 15)",
                "nothing was changed",
            ],
        );
        assert_eq!(snapshot(&db), before, "{args:?} changed something");
    }

    // A Python-tool database records migrations too; its old table is left
    // as it was (this tool's columns are not added).
    let (_dir2, py) = temp_db();
    python_tool_db(&py, 5);
    let before = snapshot(&py);
    migrate(REPO, &py, &["baseline", "5"]).expect_error(
        3,
        &py,
        &["already records migrations (up to version 5)"],
    );
    assert_eq!(snapshot(&py), before);
}

#[test]
fn baseline_of_a_version_this_build_does_not_have_is_a_usage_error() {
    let (_dir, db) = chat_app_db(15);
    let before = snapshot(&db);
    for version in ["0", "16", "99"] {
        let run = migrate(REPO, &db, &["baseline", version]);
        run.expect_error(
            2,
            &db,
            &[&format!(
                "baseline {version}: this build has versions 1 to 15"
            )],
        );
        assert_eq!(snapshot(&db), before);
    }
    for args in [
        &["baseline"][..],
        &["baseline", "twelve"],
        &["baseline", "-1"],
    ] {
        let run = migrate(REPO, &db, args);
        run.expect_code(2);
        assert_eq!(snapshot(&db), before);
    }

    // Nor is a missing file created.
    let (dir, missing) = temp_db();
    migrate(REPO, &missing, &["baseline", "99"]).expect_code(2);
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
}

#[test]
fn baseline_and_repair_do_not_create_a_missing_file() {
    // A mistyped path is not a database made before this tool.
    let (dir, missing) = temp_db();
    for args in [&["baseline", "15"][..], &["baseline", "15", "--force"]] {
        let run = migrate(REPO, &missing, args);
        run.expect_error(1, &missing, &["does not exist", "nothing was changed"]);
        assert_eq!(run.stdout, "", "{run}");
        assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
    }
    let repair = migrate(REPO, &missing, &["repair", "--yes"]);
    repair.expect_success();
    assert!(repair.stdout.starts_with("Nothing to repair"), "{repair}");
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// (6) apply --to

#[test]
fn apply_to_stops_after_the_version_and_a_later_apply_continues() {
    let (_dir, db) = temp_db();
    let run = migrate(REPO, &db, &["apply", "--to", "5"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Applying version 5: Add phone_verified column to users ... done"),
        "{run}"
    );
    assert!(!run.stdout.contains("Applying version 6"), "{run}");
    assert!(
        run.stdout
            .ends_with(&format!("{} is now at version 5.\n", db.display())),
        "{run}"
    );
    assert_eq!(versions(&db), [1, 2, 3, 4, 5]);
    assert_eq!(
        tables(&db),
        ["messages", "schema_migrations", "tickets", "users"]
    );
    assert!(column_names(&db, "users").contains(&"phone_verified".to_owned()));
    assert_hashes_of(&tracking(&db), &repo_migrations());

    // Again, or to an earlier version: nothing to do, nothing written, no
    // backup.
    let before = snapshot(&db);
    for to in ["5", "3", "1"] {
        let again = migrate(REPO, &db, &["apply", "--to", to]);
        again.expect_success();
        assert_eq!(
            again.stdout,
            format!("Nothing to apply: {} is at version 5.\n", db.display())
        );
        assert_eq!(snapshot(&db), before, "--to {to} changed something");
    }
    // check at 5 names what --to left pending.
    let check = migrate(REPO, &db, &["check"]);
    check.expect_code(3);
    assert!(
        check
            .stdout
            .starts_with("pending: versions 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 not applied\n"),
        "{check}"
    );

    let to10 = migrate(REPO, &db, &["apply", "--to", "10"]);
    to10.expect_success();
    assert!(to10.stdout.contains("Applying version 6:"), "{to10}");
    assert!(to10.stdout.contains("Applying version 10:"), "{to10}");
    assert!(!to10.stdout.contains("Applying version 11"), "{to10}");
    assert_eq!(versions(&db), (1..=10).collect::<Vec<i64>>());

    let rest = migrate(REPO, &db, &["apply"]);
    rest.expect_success();
    assert!(rest.stdout.contains("Applying version 11:"), "{rest}");
    assert!(!rest.stdout.contains("Applying version 10:"), "{rest}");
    assert!(rest.stdout.contains("Applied 5 migrations"), "{rest}");
    assert_eq!(versions(&db), (1..=15).collect::<Vec<i64>>());
    assert_hashes_of(&tracking(&db), &repo_migrations());
    migrate(REPO, &db, &["check"]).expect_success();
    // The whole history, once each.
    assert_eq!(count(&db, "SELECT count(*) FROM schema_migrations"), 15);
    assert!(objects(&db, "index").contains(&"idx_tickets_user".to_owned()));
}

#[test]
fn apply_to_outside_the_builds_versions_is_a_usage_error() {
    let expect_usage = |run: &Run, to: &str| {
        run.expect_code(2);
        assert_eq!(
            run.stderr,
            format!("migrate: error: --to {to}: this build has versions 1 to 15\n"),
            "{run}"
        );
        assert_eq!(run.stdout, "", "{run}");
    };
    // On a missing file: not created.
    let (dir, db) = temp_db();
    for to in ["0", "16"] {
        expect_usage(&migrate(REPO, &db, &["apply", "--to", to]), to);
    }
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());

    // On a database at 5: unchanged.
    migrate(REPO, &db, &["apply", "--to", "5"]).expect_success();
    let before = snapshot(&db);
    for to in ["0", "16", "99"] {
        expect_usage(&migrate(REPO, &db, &["apply", "--to", to]), to);
        assert_eq!(snapshot(&db), before);
    }
    // Not a number: clap's usage error.
    migrate(REPO, &db, &["apply", "--to", "ten"]).expect_code(2);
    migrate(REPO, &db, &["apply", "--to", "-1"]).expect_code(2);
    assert_eq!(snapshot(&db), before);
    assert_eq!(versions(&db), [1, 2, 3, 4, 5]);
}
