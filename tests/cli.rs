//! The built `migrate` binary against real SQLite files: what a user sees
//! (exit codes, messages) and what is left in the file (schema, rows, bytes).
//!
//! `fixture-repo` is `migrate` over the repository's migrations.toml; the
//! other `fixture-*` binaries embed the lists in tests/fixtures/.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use migrate_core::Migrations;
use migrate_tests::rusqlite::Connection;
use migrate_tests::{
    REPO_MIGRATIONS, bytes, column_names, columns, count, dir_entries, foreign_key_violations,
    integrity, is_timestamp, migrate, objects, open, recorded, rows, tables, versions,
};
use predicates::prelude::*;
use tempfile::TempDir;

const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");
const FIRST10: &str = env!("CARGO_BIN_EXE_fixture-first10");
const UNIQUE_FAILURE: &str = env!("CARGO_BIN_EXE_fixture-unique-failure");
const FK_ORPHAN: &str = env!("CARGO_BIN_EXE_fixture-fk-orphan");
const FK_BASE: &str = env!("CARGO_BIN_EXE_fixture-fk-base");
const UNIQUE_BASE: &str = env!("CARGO_BIN_EXE_fixture-unique-base");
const PARSER: &str = env!("CARGO_BIN_EXE_fixture-parser");
const NO_TRANSACTION: &str = env!("CARGO_BIN_EXE_fixture-no-transaction");

fn repo_migrations() -> Migrations {
    Migrations::from_toml(REPO_MIGRATIONS, "migrations.toml").expect("migrations.toml is valid")
}

/// A fresh temporary directory and the path of a database file in it.
fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let db = dir.path().join("chatbot.db");
    (dir, db)
}

/// An assert_cmd command for `bin` that ignores the caller's MIGRATE_DATABASE.
fn cmd(bin: &str) -> Command {
    let mut c = Command::new(bin);
    c.env_remove("MIGRATE_DATABASE");
    c
}

/// The tables the repository's 15 migrations leave, with the tracking table.
const FINAL_TABLES: [&str; 6] = [
    "messages",
    "schema_migrations",
    "tickets",
    "user_sessions",
    "user_tags",
    "users",
];

/// `users` after the rebuilds of versions 11 and 12 and the column of 13.
const FINAL_USERS: [(&str, &str); 10] = [
    ("id", "TEXT"),
    ("gender", "VARCHAR(20)"),
    ("age_range", "INTEGER"),
    ("handler", "VARCHAR(100)"),
    ("created_at", "TIMESTAMP"),
    ("language", "VARCHAR(10)"),
    ("phone_verified", "BOOLEAN"),
    ("timezone", "VARCHAR(50)"),
    ("notification_enabled", "BOOLEAN"),
    ("email_verified", "BOOLEAN"),
];

/// Asserts the schema the repository's 15 migrations produce.
#[track_caller]
fn assert_final_schema(db: &Path) {
    assert_eq!(tables(db), FINAL_TABLES);
    let users: Vec<(String, String)> = FINAL_USERS
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(columns(db, "users"), users);
    assert_eq!(
        objects(db, "index"),
        [
            "idx_messages_from",
            "idx_messages_timestamp",
            "idx_messages_user_timestamp",
            "idx_tickets_status",
            "idx_tickets_user",
            "idx_user_tags_tag",
        ]
    );
    // Every child table still points at `users`, with ON DELETE CASCADE.
    for (child, column) in [
        ("messages", "_from"),
        ("tickets", "user"),
        ("user_sessions", "user_id"),
        ("user_tags", "user_id"),
    ] {
        assert_eq!(
            rows(
                db,
                &format!(
                    "SELECT \"table\", \"from\", \"to\", on_delete \
                     FROM pragma_foreign_key_list('{child}')"
                )
            ),
            [["users", column, "id", "CASCADE"]],
            "foreign key of {child}"
        );
    }
}

/// Users with rows in every child table, put into a version-10 database.
fn insert_chat_data(db: &Path) {
    open(db)
        .execute_batch(
            "INSERT INTO users (id, gender, age_range, handler, legacy_score) VALUES
                 ('u1', 'M', '25', 'alice_bot', 7),
                 ('u2', 'woman', '31', 'bob_bot', 3),
                 ('u3', 'x', NULL, 'ai_bot', NULL);
             INSERT INTO messages (_from, content) VALUES
                 ('u1', 'hello'), ('u1', 'how are you?'), ('u1', 'bye'),
                 ('u2', 'hi'), ('u2', 'help me');
             INSERT INTO tickets (user, subject) VALUES
                 ('u1', 'cannot log in'), ('u2', 'billing');
             INSERT INTO user_sessions (user_id, session_token, expires_at) VALUES
                 ('u1', 'tok-1', '2030-01-01 00:00:00'),
                 ('u1', 'tok-2', '2030-01-02 00:00:00'),
                 ('u2', 'tok-3', '2030-01-03 00:00:00');
             INSERT INTO user_tags (user_id, tag) VALUES
                 ('u1', 'vip'), ('u1', 'beta'), ('u2', 'beta');",
        )
        .expect("insert chat data into the version-10 database");
}

/// `(child table, rows)` for every child of `users`, to compare before/after.
fn child_rows(db: &Path) -> Vec<(&'static str, Vec<Vec<String>>)> {
    vec![
        (
            "messages",
            rows(
                db,
                "SELECT id, _from, content, timestamp FROM messages ORDER BY id",
            ),
        ),
        (
            "tickets",
            rows(
                db,
                "SELECT id, user, subject, status FROM tickets ORDER BY id",
            ),
        ),
        (
            "user_sessions",
            rows(
                db,
                "SELECT id, user_id, session_token, expires_at FROM user_sessions ORDER BY id",
            ),
        ),
        (
            "user_tags",
            rows(
                db,
                "SELECT user_id, tag FROM user_tags ORDER BY user_id, tag",
            ),
        ),
    ]
}

#[test]
fn first10_fixture_is_the_repositorys_first_ten_migrations() {
    let repo = repo_migrations();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/first10.toml"),
    )
    .expect("read fixtures/first10.toml");
    let first10 = Migrations::from_toml(&text, "fixtures/first10.toml").expect("valid fixture");
    assert_eq!(repo.len(), 15);
    assert_eq!(&first10[..], &repo[..10]);
}

// ---------------------------------------------------------------------------
// A database that does not exist yet

#[test]
fn read_commands_on_a_missing_file_report_version_0_and_create_nothing() {
    let (dir, db) = temp_db();
    let repo = repo_migrations();

    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    let mut expected = format!(
        "Database: {} (does not exist yet)\nVersion:  0 (this build has 1 to 15)\n\n\
         Applied (0):\n  none\n\nPending (15):\n",
        db.display()
    );
    for m in repo.iter() {
        expected.push_str(&format!("  {:>5}  {}\n", m.version(), m.description()));
    }
    assert_eq!(status.stdout, expected);

    // No command means status.
    let bare = migrate(REPO, &db, &[]);
    bare.expect_success();
    assert_eq!(bare.stdout, expected);

    cmd(REPO)
        .arg("--database")
        .arg(&db)
        .arg("version")
        .assert()
        .code(0)
        .stdout("0\n")
        .stderr("");
    cmd(REPO)
        .arg("--database")
        .arg(&db)
        .arg("history")
        .assert()
        .code(0)
        .stdout("No migrations applied.\n")
        .stderr("");

    assert!(!db.exists(), "a read command created the database");
    assert_eq!(
        dir_entries(dir.path()),
        Vec::<String>::new(),
        "nothing at all may be created"
    );
}

#[test]
fn help_and_usage_errors() {
    for args in [&["help"][..], &["--help"], &["-h"]] {
        let out = cmd(REPO).args(args).output().expect("run migrate help");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}");
        for word in [
            "Usage:",
            "status",
            "apply",
            "version",
            "history",
            "--database",
            "--busy-timeout",
            "MIGRATE_DATABASE",
            "Exit codes",
        ] {
            assert!(
                stdout.contains(word),
                "{args:?} should mention {word}: {stdout}"
            );
        }
        assert!(out.stderr.is_empty(), "{args:?} wrote to stderr");
    }
    // Help for one command.
    cmd(REPO)
        .args(["help", "apply"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Back up the database, then apply every pending migration",
        ));

    // Usage errors exit 2, touch nothing, and do not panic.
    let (dir, db) = temp_db();
    for args in [
        &["frobnicate"][..],
        &["apply", "--no-such-flag"],
        &["--busy-timeout", "soon", "apply"],
        &["--busy-timeout", "-1", "apply"],
    ] {
        cmd(REPO)
            .arg("--database")
            .arg(&db)
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("panicked").not())
            .stderr(predicate::str::is_empty().not());
    }
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// Applying the repository's migrations

#[test]
fn apply_on_a_fresh_file_builds_the_final_schema_and_records_all_15() {
    let (_dir, db) = temp_db();
    let repo = repo_migrations();

    let run = migrate(REPO, &db, &["apply"]);
    run.expect_success();
    for m in repo.iter() {
        assert!(
            run.stdout.contains(&format!(
                "Applying version {}: {} ... done in ",
                m.version(),
                m.description()
            )),
            "progress of version {}:\n{run}",
            m.version()
        );
    }
    let last = run.stdout.lines().last().expect("a summary line");
    assert!(
        last.starts_with("Applied 15 migrations in ")
            && last.ends_with(&format!(": {} is now at version 15.", db.display())),
        "summary:\n{run}"
    );

    assert_final_schema(&db);
    assert!(!column_names(&db, "users").contains(&"legacy_score".to_owned()));
    assert_eq!(foreign_key_violations(&db), Vec::<Vec<String>>::new());

    let recorded = recorded(&db);
    assert_eq!(recorded.len(), 15);
    for ((version, description, applied_at), m) in recorded.iter().zip(repo.iter()) {
        assert_eq!(*version, i64::from(m.version()));
        assert_eq!(description.as_deref(), Some(m.description()));
        let at = applied_at.as_deref().expect("applied_at is filled");
        assert!(is_timestamp(at), "applied_at {at:?}");
    }

    cmd(REPO)
        .arg("--database")
        .arg(&db)
        .arg("version")
        .assert()
        .code(0)
        .stdout("15\n")
        .stderr("");

    let history = migrate(REPO, &db, &["history"]);
    history.expect_success();
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines.len(), 16, "a header and 15 rows:\n{history}");
    assert!(lines[0].contains("version") && lines[0].contains("applied_at"));
    for (line, (version, description, applied_at)) in lines[1..].iter().zip(&recorded) {
        // version, time, duration, build, description.
        let start = format!(
            "{version:>7}  {}  ",
            applied_at.as_deref().unwrap_or_default()
        );
        assert!(
            line.starts_with(&start),
            "{line:?} should start with {start:?}"
        );
        assert!(line.contains(" ms  migrate-tests 0.1.0 "), "{line:?}");
        assert!(
            line.ends_with(&format!("  {}", description.as_deref().unwrap_or_default())),
            "{line:?}"
        );
    }

    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    assert!(
        status
            .stdout
            .contains("Version:  15 (this build has 1 to 15)")
    );
    assert!(status.stdout.contains("Applied (15):"));
    assert!(
        status
            .stdout
            .contains("Pending (0):\n  none: the database is up to date\n")
    );
    assert!(!status.stdout.contains("Problems"));
}

#[test]
fn a_second_apply_has_nothing_to_do_and_changes_no_byte() {
    let (dir, db) = temp_db();
    migrate(REPO, &db, &["apply"]).expect_success();
    let before = bytes(&db);

    let again = migrate(REPO, &db, &["apply"]);
    again.expect_success();
    assert_eq!(
        again.stdout,
        format!("Nothing to apply: {} is at version 15.\n", db.display())
    );
    assert_eq!(bytes(&db), before, "the file changed");
    assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
}

// ---------------------------------------------------------------------------
// Table rebuilds and foreign keys

#[test]
fn table_rebuilds_keep_every_child_row_under_on_delete_cascade() {
    let (_dir, db) = temp_db();
    migrate(FIRST10, &db, &["apply"]).expect_success();
    assert_eq!(versions(&db), (1..=10).collect::<Vec<_>>());
    insert_chat_data(&db);
    let children_before = child_rows(&db);
    assert_eq!(count(&db, "SELECT count(*) FROM messages"), 5);

    let run = migrate(REPO, &db, &["apply"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Applying version 11: Remove deprecated legacy_score")
    );
    assert!(
        run.stdout
            .contains("Applying version 12: Change age_range to integer type")
    );
    assert!(!run.stdout.contains("Applying version 10:"), "{run}");
    assert!(run.stdout.contains("Applied 5 migrations"), "{run}");
    assert_eq!(versions(&db), (1..=15).collect::<Vec<_>>());

    // Not one child row lost to DROP TABLE users.
    assert_eq!(child_rows(&db), children_before);
    assert_eq!(foreign_key_violations(&db), Vec::<Vec<String>>::new());
    assert_final_schema(&db);
    // The users survived the rebuilds, converted.
    assert_eq!(
        rows(
            &db,
            "SELECT id, gender, age_range, typeof(age_range), handler FROM users ORDER BY id"
        ),
        [
            ["u1", "male", "25", "integer", "alice_bot"],
            ["u2", "female", "31", "integer", "bob_bot"],
            ["u3", "other", "NULL", "null", "ai_bot"],
        ]
    );

    // The foreign keys still work against the rebuilt table: deleting a user
    // with enforcement on cascades into every child table, and only for them.
    let conn = open(&db);
    conn.pragma_update(None, "foreign_keys", true)
        .expect("enable foreign keys");
    conn.execute("DELETE FROM users WHERE id = 'u1'", [])
        .expect("delete u1");
    drop(conn);
    for (table, column) in [
        ("messages", "_from"),
        ("tickets", "user"),
        ("user_sessions", "user_id"),
        ("user_tags", "user_id"),
    ] {
        assert_eq!(
            count(
                &db,
                &format!("SELECT count(*) FROM {table} WHERE {column} = 'u1'")
            ),
            0,
            "{table} rows of u1 should cascade"
        );
        assert!(
            count(
                &db,
                &format!("SELECT count(*) FROM {table} WHERE {column} = 'u2'")
            ) > 0,
            "{table} rows of u2 should stay"
        );
    }
    // And an orphan cannot be inserted any more.
    let conn = open(&db);
    conn.pragma_update(None, "foreign_keys", true)
        .expect("enable foreign keys");
    let orphan = conn.execute(
        "INSERT INTO messages (_from, content) VALUES ('nobody', 'x')",
        [],
    );
    assert!(orphan.is_err(), "an orphan message was accepted");
}

#[test]
fn apply_restores_the_callers_foreign_keys_setting() {
    // The runner switches enforcement off for the rebuilds; a program that
    // applies migrations on its own connection must get it back on.
    let (_dir, db) = temp_db();
    migrate(FIRST10, &db, &["apply"]).expect_success();
    insert_chat_data(&db);
    let children_before = child_rows(&db);

    let mut conn = Connection::open(&db).expect("open");
    conn.pragma_update(None, "foreign_keys", true)
        .expect("enable foreign keys");
    let report = repo_migrations().apply(&mut conn).expect("apply 11 to 15");
    assert_eq!(
        report.applied.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        [11, 12, 13, 14, 15]
    );
    let enforced: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("read foreign_keys");
    assert!(enforced, "PRAGMA foreign_keys was left off");
    drop(conn);
    assert_eq!(child_rows(&db), children_before);

    // A connection that had it off keeps it off.
    let (_dir2, db2) = temp_db();
    migrate(FIRST10, &db2, &["apply"]).expect_success();
    let mut conn = Connection::open(&db2).expect("open");
    conn.pragma_update(None, "foreign_keys", false)
        .expect("disable foreign keys");
    repo_migrations().apply(&mut conn).expect("apply 11 to 15");
    let enforced: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("read foreign_keys");
    assert!(!enforced, "PRAGMA foreign_keys was switched on");
}

#[test]
fn a_migration_that_leaves_a_foreign_key_violation_is_rolled_back() {
    let (_dir, db) = temp_db();
    migrate(FK_BASE, &db, &["apply"]).expect_success();
    open(&db)
        .execute_batch(
            "INSERT INTO parents (id, name) VALUES (1, 'kept'), (999, 'obsolete');
             INSERT INTO children (id, parent_id) VALUES (10, 1), (11, 999);",
        )
        .expect("insert the user's rows");
    let before = bytes(&db);

    let run = migrate(FK_ORPHAN, &db, &["apply"]);
    let message = run.expect_error(
        1,
        &db,
        &[
            "migration 2",
            "\"Drop obsolete parents\"",
            "1 foreign-key violation",
            "children rowid 11 references a missing parents row",
            "rolled back and is not recorded",
        ],
    );
    assert!(!message.contains("rowid 10"), "row 10 is fine: {message}");

    assert_eq!(versions(&db), [1]);
    // Nothing of migration 2 stayed: the obsolete parent is still there, its
    // child too, and the parent migration 2 inserted is not.
    assert_eq!(
        rows(&db, "SELECT id, name FROM parents ORDER BY id"),
        [["1", "kept"], ["999", "obsolete"]]
    );
    assert_eq!(count(&db, "SELECT count(*) FROM children"), 2);
    assert_eq!(integrity(&db), "ok");
    assert_eq!(
        bytes(&db),
        before,
        "a rolled-back migration changed the file"
    );

    // Refused again, the same way, on the next attempt.
    migrate(FK_ORPHAN, &db, &["apply"]).expect_error(1, &db, &["migration 2", "foreign-key"]);
    assert_eq!(versions(&db), [1]);
}

// ---------------------------------------------------------------------------
// Failing migrations, and how statements are run

#[test]
fn a_failing_data_dependent_migration_is_rolled_back_whole() {
    let (_dir, db) = temp_db();
    // The build proved the migrations on an empty database; the user's data
    // has duplicates the build could not see.
    migrate(UNIQUE_BASE, &db, &["apply"]).expect_success();
    open(&db)
        .execute_batch(
            "INSERT INTO accounts (id, email) VALUES
                (1, 'ann@example.com'), (2, 'bob@example.com'), (3, 'ann@example.com');",
        )
        .expect("insert the user's rows");
    let run = migrate(UNIQUE_FAILURE, &db, &["apply"]);
    let message = run.expect_error(
        1,
        &db,
        &[
            "migration 3",
            "(\"Make account emails unique\")",
            "statement 3",
            "`CREATE UNIQUE INDEX idx_accounts_email ON accounts(email)`",
            "UNIQUE constraint failed: accounts.email",
            "rolled back and is not recorded",
        ],
    );
    assert_eq!(
        message,
        "migration 3 (\"Make account emails unique\") failed at statement 3 \
         `CREATE UNIQUE INDEX idx_accounts_email ON accounts(email)`: UNIQUE constraint \
         failed: accounts.email; the migration was rolled back and is not recorded"
    );
    assert!(
        run.stdout
            .contains("Applying version 3: Make account emails unique ... ")
    );
    assert!(!run.stdout.contains("Applying version 4"), "{run}");

    let check = |db: &Path| {
        // Migrations 1 and 2 stay.
        assert_eq!(versions(db), [1, 2]);
        assert_eq!(
            tables(db),
            ["account_notes", "accounts", "schema_migrations"]
        );
        // Nothing of migration 3: not its column, not its data, not its index.
        assert_eq!(column_names(db, "accounts"), ["id", "email"]);
        assert_eq!(objects(db, "index"), Vec::<String>::new());
        assert_eq!(
            rows(db, "SELECT id, email FROM accounts ORDER BY id"),
            [
                ["1", "ann@example.com"],
                ["2", "bob@example.com"],
                ["3", "ann@example.com"],
            ]
        );
        assert_eq!(integrity(db), "ok");
    };
    check(&db);

    // Running it again fails the same way and leaves the same state; the
    // status shows where the database stands.
    migrate(UNIQUE_FAILURE, &db, &["apply"]).expect_error(
        1,
        &db,
        &["migration 3", "statement 3", "UNIQUE constraint failed"],
    );
    check(&db);
    let status = migrate(UNIQUE_FAILURE, &db, &["status"]);
    status.expect_success();
    assert!(
        status
            .stdout
            .contains("Version:  2 (this build has 1 to 4)")
    );
    assert!(
        status.stdout.contains(
            "Pending (2):\n      3  Make account emails unique\n      4  Never reached\n"
        )
    );
    cmd(UNIQUE_FAILURE)
        .arg("--database")
        .arg(&db)
        .arg("version")
        .assert()
        .code(0)
        .stdout("2\n");
}

#[test]
fn statements_are_split_by_sqlites_parser() {
    let (_dir, db) = temp_db();
    migrate(PARSER, &db, &["apply"]).expect_success();
    assert_eq!(versions(&db), [1]);
    assert_eq!(objects(&db, "trigger"), ["notes_audit"]);
    assert_eq!(
        rows(&db, "SELECT id, body FROM notes ORDER BY id"),
        [
            ["1", "semi; colon -- not a comment [audited; ok]"],
            [
                "2",
                "it's /* not a comment */; still one statement [audited; ok]"
            ],
            ["3", "END; BEGIN; COMMIT; [audited; ok]"],
        ]
    );
    assert_eq!(
        rows(&db, "SELECT note_id, body FROM audit ORDER BY note_id"),
        [
            ["1", "semi; colon -- not a comment"],
            ["2", "it's /* not a comment */; still one statement"],
            ["3", "END; BEGIN; COMMIT;"],
        ]
    );
    // The trigger is whole: both statements of its body run on a new row.
    open(&db)
        .execute("INSERT INTO notes (body) VALUES ('later')", [])
        .expect("insert a note");
    assert_eq!(
        rows(
            &db,
            "SELECT n.body, a.body FROM notes n JOIN audit a ON a.note_id = n.id WHERE n.id = 4"
        ),
        [["later [audited; ok]", "later"]]
    );
}

#[test]
fn a_migration_without_transaction_runs_vacuum_and_switches_to_wal() {
    let (dir, db) = temp_db();
    let run = migrate(NO_TRANSACTION, &db, &["apply"]);
    run.expect_success();
    assert!(run.stdout.contains(
        "Applying version 2: Purge old events, compact the file, switch to WAL ... done"
    ));
    assert!(run.stdout.contains("is now at version 3."));
    assert_eq!(versions(&db), [1, 2, 3]);
    assert_eq!(
        recorded(&db)[1].1.as_deref(),
        Some("Purge old events, compact the file, switch to WAL")
    );
    assert_eq!(count(&db, "SELECT count(*) FROM events"), 100);
    // VACUUM ran: the 1900 deleted rows left no free pages behind.
    assert_eq!(count(&db, "PRAGMA freelist_count"), 0);
    // The journal mode is stored in the file.
    let mode: String = open(&db)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    assert_eq!(objects(&db, "index"), ["idx_events_payload"]);

    // The WAL database reads and re-applies normally.
    cmd(NO_TRANSACTION)
        .arg("--database")
        .arg(&db)
        .arg("version")
        .assert()
        .code(0)
        .stdout("3\n");
    let again = migrate(NO_TRANSACTION, &db, &["apply"]);
    again.expect_success();
    assert_eq!(
        again.stdout,
        format!("Nothing to apply: {} is at version 3.\n", db.display())
    );
    assert!(dir.path().join("chatbot.db").exists());
}

// ---------------------------------------------------------------------------
// Databases written by others

#[test]
fn a_database_left_by_the_python_tool_is_continued_at_version_6() {
    let (_dir, db) = temp_db();
    // What the Python tool left after its migrations 1 to 5: its own
    // schema_migrations text, its own descriptions (one NULL), old times.
    Connection::open(&db)
        .expect("create the Python-era database")
        .execute_batch(
            "CREATE TABLE users (
                 id TEXT PRIMARY KEY,
                 gender VARCHAR(20),
                 age_range VARCHAR(20),
                 handler VARCHAR(100),
                 legacy_score INTEGER,
                 created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
             );
             CREATE TABLE messages (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 _from TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                 content TEXT NOT NULL,
                 timestamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
             );
             CREATE INDEX idx_messages_from ON messages(_from);
             CREATE TABLE tickets (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                 subject TEXT NOT NULL,
                 status VARCHAR(20) NOT NULL DEFAULT 'open',
                 created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
             );
             ALTER TABLE users ADD COLUMN language VARCHAR(10) DEFAULT 'en';
             ALTER TABLE users ADD COLUMN phone_verified BOOLEAN DEFAULT 0;
             CREATE TABLE schema_migrations (
                 version INTEGER PRIMARY KEY,
                 description TEXT,
                 applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
             );
             INSERT INTO schema_migrations (version, description, applied_at) VALUES
                 (1, 'Initial users table', '2024-01-02 03:04:05'),
                 (2, 'Initial messages table', '2024-01-02 03:04:05'),
                 (3, NULL, '2024-01-02 03:04:06'),
                 (4, 'Add language preference to users table', '2024-03-15 10:00:00'),
                 (5, 'Add phone_verified column to users', '2024-06-30 23:59:59');
             INSERT INTO users (id, gender, age_range, handler, legacy_score, language)
                 VALUES ('old1', 'F', '42', '', 9, 'fr');
             INSERT INTO messages (_from, content) VALUES ('old1', 'bonjour');
             INSERT INTO tickets (user, subject) VALUES ('old1', 'old ticket');",
        )
        .expect("build the Python-era database");
    let old_rows = recorded(&db);
    let old_types = rows(
        &db,
        "SELECT typeof(description), typeof(applied_at) FROM schema_migrations ORDER BY version",
    );

    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    assert!(
        status
            .stdout
            .contains("Version:  5 (this build has 1 to 15)")
    );
    assert!(
        status
            .stdout
            .contains("      1  2024-01-02 03:04:05  Initial users table\n")
    );
    assert!(
        status
            .stdout
            .contains("Pending (10):\n      6  Create user_sessions table\n")
    );
    assert!(!status.stdout.contains("Problems"), "{status}");

    let run = migrate(REPO, &db, &["apply"]);
    run.expect_success();
    for v in 1..=5 {
        assert!(
            !run.stdout.contains(&format!("Applying version {v}:")),
            "{run}"
        );
    }
    // What versions 11 and 12 declare they remove is said first (off a
    // terminal, without asking); the file had data and something was
    // pending: a backup came before any migration.
    assert!(
        run.stdout.starts_with(
            "Version 11 (\"Remove deprecated legacy_score column from users\") declares it \
             removes: users.legacy_score\n\
             Version 12 (\"Change age_range to integer type\") declares it removes: \
             users.age_range\n\
             Backed up "
        ),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("\nApplying version 6: Create user_sessions table ... done"),
        "{run}"
    );
    assert!(run.stdout.contains("Applied 10 migrations"), "{run}");

    // The Python tool's rows are untouched, and the rest follow them.
    let now = recorded(&db);
    assert_eq!(now[..5], old_rows[..]);
    assert_eq!(
        rows(
            &db,
            "SELECT typeof(description), typeof(applied_at) FROM schema_migrations \
             WHERE version <= 5 ORDER BY version",
        ),
        old_types
    );
    let repo = repo_migrations();
    for (row, m) in now[5..].iter().zip(&repo[5..]) {
        assert_eq!(row.0, i64::from(m.version()));
        assert_eq!(row.1.as_deref(), Some(m.description()));
    }
    assert_eq!(now.len(), 15);
    assert_final_schema(&db);
    // The old data came through the rebuilds and the data migrations.
    assert_eq!(
        rows(
            &db,
            "SELECT id, gender, age_range, handler, language FROM users"
        ),
        [["old1", "female", "42", "ai_bot", "fr"]]
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM messages WHERE _from = 'old1'"),
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM tickets WHERE user = 'old1'"),
        1
    );
    // The Python tool's rows: its times, no duration, no build, its
    // descriptions (none for version 3).
    let history = migrate(REPO, &db, &["history"]);
    history.expect_success();
    let line = |version: &str| {
        history
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{version}  ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    // version, date, time, "N years ago", duration, build, description.
    assert!(line("3").starts_with("3 2024-01-02 03:04:06 "), "{history}");
    assert!(line("3").ends_with(" ago - -"), "{history}");
    assert!(
        line("5").starts_with("5 2024-06-30 23:59:59 ")
            && line("5").ends_with(" ago - - Add phone_verified column to users"),
        "{history}"
    );
    assert!(
        line("6").contains(" ms migrate-tests 0.1.0 Create user_sessions table"),
        "{history}"
    );
}

#[test]
fn a_database_ahead_of_this_build_is_reported_and_never_changed() {
    for (version, description) in [(16, Some("Added by a newer build")), (99, None)] {
        let (dir, db) = temp_db();
        migrate(REPO, &db, &["apply"]).expect_success();
        open(&db)
            .execute(
                "INSERT INTO schema_migrations (version, description) VALUES (?1, ?2)",
                migrate_core::rusqlite::params![version, description],
            )
            .expect("record a future version");
        let before = bytes(&db);

        let status = migrate(REPO, &db, &["status"]);
        status.expect_success();
        assert!(
            status
                .stdout
                .contains(&format!("Version:  {version} (this build has 1 to 15)")),
            "{status}"
        );
        assert!(
            status
                .stdout
                .contains("Problems (1), `migrate apply` refuses"),
            "{status}"
        );
        let described = description
            .map(|d| format!(" (\"{d}\")"))
            .unwrap_or_default();
        assert!(
            status.stdout.contains(&format!(
                "  - the database records version {version}{described} which this build \
                 does not know (migrated by a newer build?)"
            )),
            "{status}"
        );
        cmd(REPO)
            .arg("--database")
            .arg(&db)
            .arg("version")
            .assert()
            .code(0)
            .stdout(format!("{version}\n"));

        let apply = migrate(REPO, &db, &["apply"]);
        apply.expect_error(
            3,
            &db,
            &[
                &format!("the database records version {version}"),
                "this build does not know",
                "nothing was changed",
            ],
        );
        assert_eq!(apply.stdout, "", "apply must not start anything:\n{apply}");
        assert_eq!(bytes(&db), before, "apply changed the file");
        assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
    }
}

#[test]
fn a_gap_in_the_recorded_versions_is_reported_and_apply_refuses() {
    let (_dir, db) = temp_db();
    migrate(FIRST10, &db, &["apply"]).expect_success();
    open(&db)
        .execute("DELETE FROM schema_migrations WHERE version = 3", [])
        .expect("forget version 3");
    let before = bytes(&db);

    let status = migrate(REPO, &db, &["status"]);
    status.expect_success();
    assert!(
        status
            .stdout
            .contains("Version:  10 (this build has 1 to 15)")
    );
    assert!(status.stdout.contains(
        "  - version 3 (\"Create tickets table\") was never applied although later versions were"
    ));

    let apply = migrate(REPO, &db, &["apply"]);
    apply.expect_error(
        3,
        &db,
        &[
            "version 3 (\"Create tickets table\") was never applied",
            "nothing was changed",
        ],
    );
    assert_eq!(bytes(&db), before, "apply changed the file");
    // Neither 3 nor the pending 11 to 15 ran.
    assert!(column_names(&db, "users").contains(&"legacy_score".to_owned()));
}

#[test]
fn a_schema_migrations_table_of_another_shape_is_refused() {
    let cases = [
        (
            "golang-migrate",
            "CREATE TABLE schema_migrations (version uint64, dirty bool);
             CREATE UNIQUE INDEX version_unique ON schema_migrations (version);
             INSERT INTO schema_migrations VALUES (20240101120000, 0);",
            "it has no `description` column (its columns: version, dirty)",
        ),
        (
            "Rails",
            "CREATE TABLE \"schema_migrations\" (\"version\" varchar NOT NULL PRIMARY KEY);
             INSERT INTO schema_migrations VALUES ('20240101120000');",
            "it has no `description` column (its columns: version)",
        ),
        (
            "text versions",
            "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, description TEXT,
                                             applied_at TIMESTAMP);
             INSERT INTO schema_migrations (version, description) VALUES ('1', 'x');",
            "its `version` column is `TEXT`, not INTEGER PRIMARY KEY",
        ),
    ];
    for (tool, sql, detail) in cases {
        let (dir, db) = temp_db();
        Connection::open(&db)
            .expect("create")
            .execute_batch(&format!("CREATE TABLE app_data (x); {sql}"))
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        let before = bytes(&db);
        for command in ["status", "apply", "version", "history"] {
            let run = migrate(REPO, &db, &[command]);
            run.expect_error(
                3,
                &db,
                &[
                    "schema_migrations has an unexpected shape",
                    detail,
                    "another tool",
                    "nothing was changed",
                ],
            );
            assert_eq!(bytes(&db), before, "{tool}: {command} changed the file");
        }
        assert_eq!(tables(&db), ["app_data", "schema_migrations"], "{tool}");
        assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
    }
}

// ---------------------------------------------------------------------------
// Bad paths and files

#[test]
fn a_file_that_is_not_sqlite_is_refused_unchanged() {
    let (dir, db) = temp_db();
    let text = "name,email\nann,ann@example.com\nbob,bob@example.com\n".repeat(40);
    std::fs::write(&db, &text).expect("write a CSV file");
    for command in ["status", "apply", "version", "history"] {
        let run = migrate(REPO, &db, &[command]);
        run.expect_error(1, &db, &["not an SQLite database", "nothing was changed"]);
        assert_eq!(run.stdout, "", "{command}: {run}");
        assert_eq!(bytes(&db).as_deref(), Some(text.as_bytes()), "{command}");
        assert_eq!(dir_entries(dir.path()), ["chatbot.db"], "{command}");
    }
    // A short one too (less than a page).
    std::fs::write(&db, "hello\n").expect("write");
    for command in ["status", "apply"] {
        migrate(REPO, &db, &[command]).expect_error(1, &db, &["not an SQLite database"]);
        assert_eq!(bytes(&db).as_deref(), Some(&b"hello\n"[..]));
    }
}

#[test]
fn a_missing_directory_is_named_and_nothing_is_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no").join("such");
    let db = missing.join("chatbot.db");
    for command in ["status", "apply", "version", "history"] {
        let run = migrate(REPO, &db, &[command]);
        run.expect_error(
            1,
            &db,
            &[&format!(
                "the directory {} does not exist",
                missing.display()
            )],
        );
        assert_eq!(run.stdout, "");
    }
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
}

#[test]
fn a_directory_is_not_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("data");
    std::fs::create_dir(&db).expect("mkdir");
    for command in ["status", "apply", "version", "history"] {
        migrate(REPO, &db, &[command]).expect_error(
            1,
            &db,
            &["is a directory, not a database file"],
        );
    }
    assert_eq!(dir_entries(&db), Vec::<String>::new());
}

#[test]
fn a_device_or_a_socket_is_not_a_database_and_nothing_is_written_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind a socket");
    for (db, commands) in [
        // Read-only commands only on /dev/null: nothing may be tried there.
        (
            Path::new("/dev/null"),
            &["status", "version", "history", "check"][..],
        ),
        (
            socket.as_path(),
            &["status", "apply", "version", "history", "check"][..],
        ),
    ] {
        for command in commands {
            let run = migrate(REPO, db, &[command]);
            run.expect_error(
                1,
                db,
                &[
                    "is not a regular file",
                    "not a database file",
                    "nothing was changed",
                ],
            );
            assert_eq!(run.stdout, "", "{command}: {run}");
        }
    }
    for args in [
        &["apply", "--no-backup"][..],
        &["apply", "--dry-run"],
        &["baseline", "1"],
    ] {
        migrate(REPO, &socket, args).expect_error(1, &socket, &["is not a regular file"]);
    }
    assert_eq!(dir_entries(dir.path()), ["app.sock"], "nothing beside it");
}

#[test]
fn a_database_locked_past_the_busy_timeout_exits_4_unchanged() {
    let (dir, db) = temp_db();
    migrate(FIRST10, &db, &["apply"]).expect_success();
    let before = bytes(&db);

    let holder = open(&db);
    holder
        .execute_batch("BEGIN EXCLUSIVE")
        .expect("take the exclusive lock");
    for command in [
        &["apply"][..],
        &["apply", "--no-backup"],
        &["apply", "--no-backup", "--single-transaction"],
        &["apply", "--single-transaction"],
        &["apply", "--dry-run"],
        &["status"],
        &["version"],
        &["history"],
        &["check"],
    ] {
        let started = Instant::now();
        let mut args = vec!["--busy-timeout", "0.5"];
        args.extend_from_slice(command);
        let run = migrate(REPO, &db, &args);
        let took = started.elapsed();
        run.expect_error(
            4,
            &db,
            &[
                "database is locked",
                "longer than the busy timeout (500.0 ms)",
                "nothing was changed",
            ],
        );
        assert!(
            took >= Duration::from_millis(450),
            "{command:?} gave up after {took:?}, before the timeout"
        );
        // Well under SQLite's or rusqlite's own defaults (5 s) too.
        assert!(
            took < Duration::from_secs(4),
            "{command:?} waited {took:?}, far past the timeout"
        );
        assert!(!run.stdout.contains("Applying"), "{command:?}: {run}");
    }
    holder.execute_batch("ROLLBACK").expect("release the lock");
    drop(holder);

    assert_eq!(bytes(&db), before, "the file changed");
    assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
    // Once released, the same command goes through.
    migrate(REPO, &db, &["--busy-timeout", "0.5", "apply"]).expect_success();
    assert_eq!(versions(&db), (1..=15).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------
// Choosing the database

#[test]
fn the_database_comes_from_the_flag_then_the_environment_then_migrations_toml() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let here = cwd.path();

    // Neither flag nor environment: `database = "chatbot.db"`, in the cwd.
    cmd(REPO)
        .current_dir(here)
        .arg("apply")
        .assert()
        .code(0)
        .stdout(predicate::str::ends_with(
            ": chatbot.db is now at version 15.\n",
        ));
    assert_eq!(dir_entries(here), ["chatbot.db"]);
    assert_eq!(versions(&here.join("chatbot.db")).len(), 15);
    let default_bytes = bytes(&here.join("chatbot.db"));

    // MIGRATE_DATABASE beats the file's default.
    cmd(REPO)
        .current_dir(here)
        .env("MIGRATE_DATABASE", "from-env.db")
        .arg("apply")
        .assert()
        .code(0)
        .stdout(predicate::str::ends_with(
            ": from-env.db is now at version 15.\n",
        ));
    assert_eq!(dir_entries(here), ["chatbot.db", "from-env.db"]);
    cmd(REPO)
        .current_dir(here)
        .env("MIGRATE_DATABASE", "from-env.db")
        .arg("version")
        .assert()
        .code(0)
        .stdout("15\n");

    // --database beats both, before or after the command.
    for (args, name) in [
        (&["--database", "flag.db", "apply"][..], "flag.db"),
        (&["apply", "--database", "after.db"], "after.db"),
        (&["-d", "short.db", "apply"], "short.db"),
    ] {
        cmd(REPO)
            .current_dir(here)
            .env("MIGRATE_DATABASE", "from-env.db")
            .args(args)
            .assert()
            .code(0)
            .stdout(predicate::str::ends_with(format!(
                ": {name} is now at version 15.\n"
            )));
        assert_eq!(versions(&here.join(name)).len(), 15);
    }
    assert_eq!(
        dir_entries(here),
        [
            "after.db",
            "chatbot.db",
            "flag.db",
            "from-env.db",
            "short.db"
        ]
    );
    assert_eq!(bytes(&here.join("chatbot.db")), default_bytes);

    // A build whose migrations.toml names no database needs one.
    let empty = tempfile::tempdir().expect("tempdir");
    let run = migrate_tests::Run::from(
        migrate_tests::command(PARSER)
            .current_dir(empty.path())
            .arg("apply")
            .output()
            .expect("run"),
    );
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "migrate: error: no database given: pass --database PATH, set MIGRATE_DATABASE, or \
         set `database` in migrations.toml\n"
    );
    assert_eq!(dir_entries(empty.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// `migrate schema`: the schema the build proved, with no database

/// The first line `migrate schema` prints, for a list of `latest` versions.
fn schema_header(latest: u32) -> String {
    format!("-- Schema after version {latest}, as the build applied every migration to SQLite.\n")
}

/// The `CREATE` statement of one object, as `migrate schema` printed it.
fn statement_of<'a>(schema: &'a str, start: &str) -> &'a str {
    let at = schema
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in the schema:\n{schema}"));
    let end = schema[at..]
        .find(";\n")
        .unwrap_or_else(|| panic!("{start:?} does not end:\n{schema}"));
    &schema[at..at + end + 1]
}

#[test]
fn schema_prints_the_final_schema_of_the_repositorys_migrations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no").join("such");
    let db = missing.join("chatbot.db");
    let run = migrate(REPO, &db, &["schema"]);
    run.expect_success();
    let repo = repo_migrations();
    assert_eq!(
        run.stdout,
        format!("{}{}", schema_header(15), repo.final_schema())
    );

    let schema = run.stdout.as_str();
    // `users` as the rebuilds of 11 and 12 and the column of 13 left it.
    let users = statement_of(schema, "CREATE TABLE \"users\" (");
    for (column, kind) in FINAL_USERS {
        assert!(
            users.contains(&format!("{column} {kind}")),
            "users lacks {column} {kind}:\n{users}"
        );
    }
    assert!(
        users.contains("email_verified BOOLEAN DEFAULT 0"),
        "{users}"
    );
    assert!(!schema.contains("legacy_score"), "{schema}");
    assert!(!schema.contains("users_new"), "{schema}");
    // Every table but the tracking one (and SQLite's own), then every index.
    for table in FINAL_TABLES {
        let create = format!("CREATE TABLE {table} (");
        if table == "schema_migrations" {
            assert!(!schema.contains(&create), "{schema}");
        } else if table != "users" {
            statement_of(schema, &create);
        }
    }
    assert!(!schema.contains("sqlite_sequence"), "{schema}");
    for index in [
        "CREATE INDEX idx_messages_from ON messages(_from);",
        "CREATE INDEX idx_messages_timestamp ON messages(timestamp DESC);",
        "CREATE INDEX idx_messages_user_timestamp ON messages(_from, timestamp);",
        "CREATE INDEX idx_tickets_status ON tickets(status);",
        "CREATE INDEX idx_tickets_user ON tickets(user);",
        "CREATE INDEX idx_user_tags_tag ON user_tags(tag);",
    ] {
        assert!(
            schema.contains(&format!("\n{index}\n")),
            "no {index}:\n{schema}"
        );
    }
    assert_eq!(schema.matches("CREATE ").count(), 5 + 6, "{schema}");
    let first_index = schema.find("CREATE INDEX").expect("indexes");
    assert!(
        !schema[first_index..].contains("CREATE TABLE"),
        "tables come first:\n{schema}"
    );

    // It needed no database: nothing was created, not even the directory.
    assert!(!missing.exists());
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
}

#[test]
fn schema_reads_no_database_whatever_the_flag_environment_or_default() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let here = cwd.path();
    let expected = format!("{}{}", schema_header(15), repo_migrations().final_schema());

    // The default of migrations.toml (chatbot.db in the cwd) is not created.
    cmd(REPO)
        .current_dir(here)
        .arg("schema")
        .assert()
        .code(0)
        .stdout(expected.clone())
        .stderr("");
    assert_eq!(dir_entries(here), Vec::<String>::new());

    // A file that is not a database, by flag or environment, is not read.
    let csv = here.join("users.csv");
    std::fs::write(&csv, "name,email\nann,ann@example.com\n").expect("write");
    cmd(REPO)
        .current_dir(here)
        .arg("--database")
        .arg(&csv)
        .arg("schema")
        .assert()
        .code(0)
        .stdout(expected.clone())
        .stderr("");
    cmd(REPO)
        .current_dir(here)
        .env("MIGRATE_DATABASE", &csv)
        .arg("schema")
        .assert()
        .code(0)
        .stdout(expected.clone())
        .stderr("");
    assert_eq!(
        bytes(&csv).as_deref(),
        Some(&b"name,email\nann,ann@example.com\n"[..])
    );
    assert_eq!(dir_entries(here), ["users.csv"]);

    // A database at another version is not consulted either: the schema is
    // the build's, not the file's.
    let db = here.join("old.db");
    migrate(FIRST10, &db, &["apply"]).expect_success();
    let before = bytes(&db);
    let run = migrate(REPO, &db, &["schema"]);
    run.expect_success();
    assert_eq!(run.stdout, expected);
    assert_eq!(bytes(&db), before);
    assert_eq!(versions(&db), (1..=10).collect::<Vec<_>>());

    // A build whose migrations.toml names no database needs none for it.
    let empty = tempfile::tempdir().expect("tempdir");
    let run = migrate_tests::Run::from(
        migrate_tests::command(PARSER)
            .current_dir(empty.path())
            .arg("schema")
            .output()
            .expect("run"),
    );
    run.expect_success();
    assert!(run.stdout.starts_with(&schema_header(1)), "{run}");
    assert_eq!(dir_entries(empty.path()), Vec::<String>::new());
}

#[test]
fn schema_is_what_apply_builds_and_loads_back_into_sqlite() {
    for (bin, toml) in [
        (REPO, REPO_MIGRATIONS.to_owned()),
        (
            PARSER,
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parser.toml"),
            )
            .expect("read fixtures/parser.toml"),
        ),
    ] {
        let migrations = Migrations::from_toml(&toml, "migrations.toml").expect("valid");
        let latest = migrations.latest_version();
        let (_dir, db) = temp_db();
        let printed = migrate(bin, &db, &["schema"]);
        printed.expect_success();
        let schema = printed
            .stdout
            .strip_prefix(&schema_header(latest))
            .unwrap_or_else(|| panic!("{bin}: no header:\n{printed}"));

        // The objects a real apply leaves, statement for statement.
        migrate(bin, &db, &["apply"]).expect_success();
        let applied = migrate_core::schema::Schema::read(&open(&db)).expect("read schema");
        assert_eq!(schema, applied.to_sql(), "{bin}");

        // `migrate schema > schema.sql` runs in SQLite and gives the schema
        // whose fingerprint the build recorded for the latest version.
        let fresh = Connection::open_in_memory().expect("in-memory database");
        fresh
            .execute_batch(schema)
            .unwrap_or_else(|e| panic!("{bin}: the printed schema does not load: {e}"));
        assert_eq!(
            Some(
                migrate_core::schema::Schema::read(&fresh)
                    .expect("read schema")
                    .fingerprint()
            ),
            migrations.expected_schema(latest),
            "{bin}"
        );
    }
}

#[test]
fn help_mentions_schema() {
    let out = cmd(REPO)
        .arg("--help")
        .output()
        .expect("run migrate --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("schema"), "{help}");
    cmd(REPO)
        .args(["help", "schema"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no database needed"));
}

// ---------------------------------------------------------------------------
// Verbosity and the log file

#[test]
fn verbose_logs_each_statement_with_its_duration_to_stderr() {
    let (_dir, db) = temp_db();
    // On an empty database, the statements run only one by one: the fresh
    // path creates it from what the build proved (tests/fresh.rs).
    let run = migrate(REPO, &db, &["-v", "apply", "--to", "2", "--one-by-one"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("one by one: asked for"), "{run}");
    // Each statement of migration 2, with its version, number and duration.
    let lines: Vec<&str> = run.stderr.lines().collect();
    let statement = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no log line with {needle:?}:\n{}", run.stderr))
            .to_string()
    };
    let index = statement("CREATE INDEX idx_messages_from ON messages(_from)");
    assert!(index.contains("DEBUG"), "{index}");
    assert!(index.contains("version=2"), "{index}");
    assert!(index.contains("statement=2"), "{index}");
    assert!(index.contains("elapsed_ms="), "{index}");
    assert!(statement("applied \"Create messages table\"").contains("elapsed_ms="));
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no colour when not on a terminal"
    );
    // Without -v, nothing is logged.
    let (_dir2, db2) = temp_db();
    let quiet_log = migrate(REPO, &db2, &["apply", "--to", "2"]);
    quiet_log.expect_success();
    assert_eq!(quiet_log.stderr, "");
}

#[test]
fn the_log_file_is_appended_to_run_after_run() {
    let (dir, db) = temp_db();
    let log = dir.path().join("chatbot_log.log");
    let log_arg = log.to_str().expect("utf-8 path");
    migrate(
        REPO,
        &db,
        &["--log-file", log_arg, "apply", "--to", "1", "--one-by-one"],
    )
    .expect_success();
    let first = std::fs::read_to_string(&log).expect("log written");
    assert!(first.contains("applying \"Create users table\""), "{first}");
    assert!(first.contains("CREATE TABLE users"), "{first}");
    migrate(REPO, &db, &["--log-file", log_arg, "apply", "--to", "2"]).expect_success();
    let second = std::fs::read_to_string(&log).expect("log written");
    assert!(second.starts_with(&first), "appended, not rewritten");
    assert!(
        second.contains("applied \"Create messages table\""),
        "{second}"
    );
    assert!(!second.contains('\u{1b}'), "no colour codes in the file");

    // A log file that cannot be opened is an error before anything runs.
    let run = migrate(
        REPO,
        &db,
        &["--log-file", "/nonexistent-dir/x.log", "apply"],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("cannot open the log file"), "{run}");
    assert_eq!(versions(&db), [1, 2]);
}

#[test]
fn quiet_prints_only_results_and_errors() {
    let (_dir, db) = temp_db();
    let run = migrate(REPO, &db, &["-q", "apply"]);
    run.expect_success();
    assert_eq!(run.stdout, "", "nothing but results: {run}");
    assert_eq!(versions(&db).len(), 15);
    let version = migrate(REPO, &db, &["-q", "version"]);
    assert_eq!(version.stdout, "15\n");
    // Errors still show.
    let bad = migrate(REPO, &db.with_file_name("nowhere/x.db"), &["-q", "apply"]);
    assert_eq!(bad.code, Some(1), "{bad}");
    assert!(bad.stderr.contains("does not exist"), "{bad}");
}

// ---------------------------------------------------------------------------
// On a terminal: colour (unless NO_COLOR) and the spinner

#[test]
fn colour_on_a_terminal_and_never_with_no_color() {
    let (_dir, db) = temp_db();
    migrate(REPO, &db, &["apply", "--to", "3"]).expect_success();
    let Some(run) = migrate_tests::migrate_on_terminal(REPO, &db, &["status"], "") else {
        return;
    };
    assert_eq!(run.code, Some(0), "{run}");
    // Applied versions green, pending yellow.
    assert!(run.stdout.contains("\u{1b}[32m"), "{run}");
    assert!(run.stdout.contains("\u{1b}[33m"), "{run}");

    let line = format!("NO_COLOR=1 '{REPO}' --database '{}' status", db.display());
    let plain = migrate_tests::command("/usr/bin/script")
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .output()
        .expect("run script");
    let stdout = String::from_utf8_lossy(&plain.stdout);
    assert!(stdout.contains("Pending (12):"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "NO_COLOR: {stdout:?}");
}

#[test]
fn a_migration_running_over_a_second_gets_a_spinner_on_a_terminal() {
    let (_dir, db) = temp_db();
    let long = env!("CARGO_BIN_EXE_fixture-long");
    let Some(run) = migrate_tests::migrate_on_terminal(long, &db, &["apply", "--no-backup"], "")
    else {
        return;
    };
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("running for"), "{run}");
    assert!(run.stdout.contains("Applied 2 migrations"), "{run}");
    // Not on a terminal: no spinner.
    let (_dir2, db2) = temp_db();
    let piped = migrate(long, &db2, &["apply"]);
    piped.expect_success();
    assert!(!piped.stdout.contains("running for"), "{piped}");
}
