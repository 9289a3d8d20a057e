//! Snapshots of what `migrate` prints, human and `--format json`, for every
//! command on databases built here from fixed data, and the exit code and
//! JSON error `code` of every class of failure.
//!
//! Each snapshot is a transcript: the command line, the exit code, stdout
//! and stderr, exactly as the user sees them but for the values that differ
//! from run to run or machine to machine, which filters replace:
//!
//! | value | shown as |
//! |---|---|
//! | the database's path (in a temporary directory) | `[DB]` |
//! | the temporary directory (e.g. in a backup's path) | `[DIR]` |
//! | a `YYYY-MM-DD HH:MM:SS` time | `[TIME]` |
//! | the UTC time in a backup's name | `[STAMP]` |
//! | how long ago ("just now", "3 days ago") | `[AGO]` |
//! | how long a migration took (`0.7 ms`, `1.23 s`, `"duration_ms": 0.7`) | `[MS]` |
//! | a checksum (64 hex digits) | `[SHA]` |
//!
//! Every filter matches only its own shape, in the places that shape is
//! printed, so a change of format still shows; versions, descriptions,
//! messages, and the busy timeout a message quotes are never filtered, and
//! the values filtered out are checked exactly where they are fixed (the
//! checksums against the build's, the times' shape). The `history`
//! snapshots run on rows whose times and durations the test sets, so their
//! columns and relative times are shown unfiltered.
//!
//! Children run with `NO_COLOR=1`, stdin not a terminal, and no
//! `MIGRATE_DATABASE`; human output is checked to hold no ANSI escape.
//!
//! After a deliberate change of output, regenerate with
//! `INSTA_UPDATE=always cargo test -p migrate-tests --test snapshots`, then
//! read every changed `.snap` file before committing it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use migrate_core::Migrations;
use migrate_tests::rusqlite::Connection;
use migrate_tests::{Run, command, is_timestamp, open};
use serde_json::Value;
use tempfile::TempDir;

const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");
const FIRST10: &str = env!("CARGO_BIN_EXE_fixture-first10");
const UNIQUE_BASE: &str = env!("CARGO_BIN_EXE_fixture-unique-base");
const UNIQUE_FAILURE: &str = env!("CARGO_BIN_EXE_fixture-unique-failure");
const FK_BASE: &str = env!("CARGO_BIN_EXE_fixture-fk-base");
const FK_ORPHAN: &str = env!("CARGO_BIN_EXE_fixture-fk-orphan");
const I4_BASE: &str = env!("CARGO_BIN_EXE_fixture-i4-base");
const I4_EDITED: &str = env!("CARGO_BIN_EXE_fixture-i4-edited");

const I4_BASE_TOML: &str = include_str!("fixtures/i4-base.toml");
const I4_EDITED_TOML: &str = include_str!("fixtures/i4-edited.toml");

// ---------------------------------------------------------------------------
// Running the binary and snapshotting what it printed

/// A temporary directory holding the database `chatbot.db` (not created
/// until a test or a command creates it); commands run in the directory.
struct Env {
    dir: TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let db = dir.path().join("chatbot.db");
        Env { dir, db }
    }

    /// Another directory with a copy of this one's database, to run a
    /// command that changes it a second time (human, then JSON) on the same
    /// data.
    fn copy(&self) -> Env {
        let other = Env::new();
        std::fs::copy(&self.db, &other.db).expect("copy the database");
        other
    }

    /// `bin ARGS…` without `--database`, in the directory.
    fn run_bare(&self, bin: &str, args: &[&str]) -> Transcript {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let out = command(bin)
            .args(&args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("MIGRATE_MANIFEST")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        let name = Path::new(bin)
            .file_stem()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let line = std::iter::once(name)
            .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ");
        Transcript {
            line,
            run: Run::from(out),
        }
    }

    /// `bin --database DB ARGS…`.
    fn run(&self, bin: &str, args: &[&str]) -> Transcript {
        let db = self.db.to_str().expect("the temporary path is UTF-8");
        let mut all = vec!["--database", db];
        all.extend_from_slice(args);
        self.run_bare(bin, &all)
    }

    /// `bin --database DB --format json ARGS…`.
    fn json(&self, bin: &str, args: &[&str]) -> Transcript {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        self.run(bin, &all)
    }

    /// The filters that make this directory's transcripts deterministic;
    /// with `exact`, times and durations set by the test (history rows) are
    /// kept: only `[DB]`, `[DIR]`, `[STAMP]`, `[TIME]` and `[SHA]` apply.
    fn settings(&self, exact: bool) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_prepend_module_to_snapshot(false);
        s.set_omit_expression(true);
        // A backup's name: `<database>.<version>.<yyyymmddThhmmssZ>[-N].bak`.
        s.add_filter(r"\.\d{8}T\d{6}Z", ".[STAMP]");
        // The database's path, unless a backup's name follows it.
        s.add_filter(
            &format!(r"(?m){}(\.?$|[^.\w]|\.[^\w])", escape(&self.db)),
            "[DB]${1}",
        );
        s.add_filter(&escape(self.dir.path()), "[DIR]");
        s.add_filter(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\b", "[TIME]");
        s.add_filter(r"\b[0-9a-f]{64}\b", "[SHA]");
        if !exact {
            s.add_filter(
                r"\b(?:just now|in the future|\d+ (?:minute|hour|day|month|year)s? ago)\b",
                "[AGO]",
            );
            // Where the CLI prints a migration's duration; not the busy
            // timeout that the "database is locked" message quotes.
            s.add_filter(
                r"(done in |migrations? in |would succeed \(|after )\d+\.\d+ m?s\b",
                "${1}[MS]",
            );
            s.add_filter(
                r#""duration_ms": -?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"#,
                r#""duration_ms": [MS]"#,
            );
        }
        s
    }
}

/// `path` as a regular expression matching it literally.
fn escape(path: &Path) -> String {
    let text = path.to_str().expect("the temporary path is UTF-8");
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~ ".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A command line and what it did.
struct Transcript {
    line: String,
    run: Run,
}

impl Transcript {
    fn code(&self) -> i32 {
        self.run
            .code
            .unwrap_or_else(|| panic!("killed by a signal:\n{}", self.run))
    }

    /// The transcript as a snapshot shows it.
    fn render(&self) -> String {
        let section = |text: &str| {
            if text.is_empty() || text.ends_with('\n') {
                text.to_owned()
            } else {
                format!("{text}\n[no newline at the end]\n")
            }
        };
        format!(
            "$ {}\nexit code: {}\n--- stdout ---\n{}--- stderr ---\n{}--- end ---\n",
            self.line,
            self.code(),
            section(&self.run.stdout),
            section(&self.run.stderr)
        )
    }

    /// Asserts what every human run promises: no colour, no panic, and an
    /// error (if any) as one line `migrate: error: …`.
    #[track_caller]
    fn check_human(&self) -> &Self {
        let run = &self.run;
        assert!(
            !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
            "ANSI escape with NO_COLOR=1:\n{run}"
        );
        assert!(!run.stderr.contains("panicked"), "panic:\n{run}");
        if self.code() == 0 {
            assert_eq!(run.stderr, "", "success should be quiet on stderr:\n{run}");
        } else if !run.stderr.is_empty() && !run.stderr.starts_with("error: ") {
            // (`check` and trial runs report on stdout; clap's own usage
            // errors are several lines)
            assert!(
                run.stderr.starts_with("migrate: error: ")
                    && run.stderr.ends_with('\n')
                    && run.stderr.lines().count() == 1,
                "an error should be one line on stderr:\n{run}"
            );
        }
        self
    }

    /// Asserts what every JSON run promises and returns its documents: one
    /// on stdout (or none after an error; `{"message": …}` documents, one
    /// per line, of which the last is returned), and on failure one error
    /// document on stderr whose `exit_code` is the process's.
    #[track_caller]
    fn check_json(&self) -> (Option<Value>, Option<Value>) {
        let run = &self.run;
        assert!(!run.stderr.contains("panicked"), "panic:\n{run}");
        assert!(!run.stdout.contains('\x1b'), "ANSI escape in JSON:\n{run}");
        let parse = |text: &str, what: &str| -> Option<Value> {
            (!text.is_empty()).then(|| {
                serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("{what} is not one JSON document: {e}\n{run}"))
            })
        };
        let out = match serde_json::from_str::<Value>(&run.stdout) {
            _ if run.stdout.is_empty() => None,
            Ok(doc) => Some(doc),
            Err(_) => {
                let mut docs: Vec<Value> = run
                    .stdout
                    .lines()
                    .map(|line| parse(line, "a line of stdout").expect("not empty"))
                    .collect();
                for doc in &docs {
                    assert!(
                        doc["message"].is_string() && doc.as_object().map(|o| o.len()) == Some(1),
                        "several documents on stdout should be messages:\n{run}"
                    );
                }
                docs.pop()
            }
        };
        let err = parse(&run.stderr, "stderr");
        if let Some(err) = &err {
            let e = &err["error"];
            assert!(e["code"].is_string(), "error without a code:\n{run}");
            assert!(e["message"].is_string(), "error without a message:\n{run}");
            assert_eq!(
                e["exit_code"].as_i64(),
                Some(i64::from(self.code())),
                "{run}"
            );
            assert_ne!(self.code(), 0, "an error document with exit code 0:\n{run}");
        } else {
            assert!(
                self.code() == 0 || (matches!(self.code(), 1 | 3) && out.is_some()),
                "a failure without an error document:\n{run}"
            );
        }
        (out, err)
    }

    /// The JSON error's `code`.
    #[track_caller]
    fn error_code(&self) -> String {
        let (_, err) = self.check_json();
        let err = err.unwrap_or_else(|| panic!("no error document:\n{}", self.run));
        err["error"]["code"]
            .as_str()
            .expect("checked by check_json")
            .to_owned()
    }
}

/// Snapshots a human transcript under `name`, after the human checks.
#[track_caller]
fn snap_human(env: &Env, name: &str, t: &Transcript) {
    t.check_human();
    snap(env, name, t, false);
}

/// Snapshots a JSON transcript under `name`, after the JSON checks;
/// returns its documents.
#[track_caller]
fn snap_json(env: &Env, name: &str, t: &Transcript) -> (Option<Value>, Option<Value>) {
    let docs = t.check_json();
    snap(env, name, t, false);
    docs
}

#[track_caller]
fn snap(env: &Env, name: &str, t: &Transcript, exact: bool) {
    let text = t.render();
    env.settings(exact).bind(|| {
        insta::assert_snapshot!(name, text);
    });
}

/// Runs a read-only command twice on the same database, human then JSON,
/// and snapshots both as `NAME_human` and `NAME_json`.
#[track_caller]
fn snap_both(env: &Env, name: &str, bin: &str, args: &[&str]) -> (Transcript, Value) {
    let human = env.run(bin, args);
    snap_human(env, &format!("{name}_human"), &human);
    let json = env.json(bin, args);
    let (out, _) = snap_json(env, &format!("{name}_json"), &json);
    assert_eq!(human.code(), json.code(), "both formats exit alike");
    (human, out.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------
// Databases

fn list(toml: &str) -> Migrations {
    Migrations::from_toml(toml, "fixture.toml").expect("the fixture list is valid")
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the statements of migrations 1..=upto of `list` on `db` by hand,
/// without recording them: a schema made before this tool.
fn make_schema_by_hand(db: &Path, list: &Migrations, upto: u32) {
    let conn = Connection::open(db).expect("create the database");
    for m in list.iter().take_while(|m| m.version() <= upto) {
        for item in m.sql() {
            conn.execute_batch(item)
                .unwrap_or_else(|e| panic!("version {}: {e}", m.version()));
        }
    }
}

/// `bin --database DB -q ARGS…`, which must succeed: setting up a database.
fn setup(env: &Env, bin: &str, args: &[&str]) {
    let mut all = vec!["-q"];
    all.extend_from_slice(args);
    let t = env.run(bin, &all);
    assert_eq!(t.code(), 0, "setting up failed:\n{}", t.run);
}

/// The repository's migrations applied up to `to` (all of them with None).
fn repo_db(to: Option<u32>) -> Env {
    let env = Env::new();
    match to {
        Some(to) => setup(&env, REPO, &["apply", "--to", &to.to_string()]),
        None => setup(&env, REPO, &["apply"]),
    }
    env
}

/// i4-base's three migrations applied (the database i4-edited finds).
fn i4_db() -> Env {
    let env = Env::new();
    setup(&env, I4_BASE, &["apply"]);
    env
}

/// unique-base's migrations applied, and accounts sharing an email: the
/// UNIQUE index of unique-failure's migration 3 fails on them.
fn duplicates_db() -> Env {
    let env = Env::new();
    setup(&env, UNIQUE_BASE, &["apply"]);
    open(&env.db)
        .execute_batch(
            "INSERT INTO accounts (id, email) VALUES
                 (1, 'ann@example.com'), (2, 'bob@example.com'), (3, 'ann@example.com');
             INSERT INTO account_notes (account_id, note) VALUES (1, 'first')",
        )
        .expect("insert accounts");
    env
}

/// fk-base's migration applied, and children of the parent that fk-orphan's
/// migration 2 deletes.
fn orphans_db() -> Env {
    let env = Env::new();
    setup(&env, FK_BASE, &["apply"]);
    open(&env.db)
        .execute_batch(
            "INSERT INTO parents (id, name) VALUES (1, 'obsolete'), (2, 'kept');
             INSERT INTO children (id, parent_id) VALUES (10, 1), (11, 1), (12, 2);",
        )
        .expect("insert parents and children");
    env
}

/// A file that is not an SQLite database.
fn not_a_database() -> Env {
    let env = Env::new();
    std::fs::write(&env.db, "id,name\n1,ann\n".repeat(100)).expect("write a text file");
    env
}

/// A database whose `schema_migrations` another tool wrote.
fn foreign_tracking_db() -> Env {
    let env = Env::new();
    Connection::open(&env.db)
        .expect("create the database")
        .execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER NOT NULL, dirty BOOLEAN NOT NULL);
             INSERT INTO schema_migrations VALUES (3, 0);",
        )
        .expect("write another tool's table");
    env
}

/// A database at i4-base's version 3 whose row for version 2 is missing.
fn gap_db() -> Env {
    let env = i4_db();
    open(&env.db)
        .execute("DELETE FROM schema_migrations WHERE version = 2", [])
        .expect("delete a row");
    env
}

/// A database at the repository's version 12, for a build (first10) that
/// knows only 1 to 10.
fn ahead_db() -> Env {
    repo_db(Some(12))
}

/// Sets `applied_at` to `offset` before now (an SQLite modifier such as
/// `-3 days`) and `duration_ms` for one row, so `history` shows fixed
/// relative times and durations.
fn set_row(db: &Path, version: u32, offset: &str, duration_ms: Option<f64>) {
    open(db)
        .execute(
            "UPDATE schema_migrations SET applied_at = datetime('now', ?2), duration_ms = ?3 \
             WHERE version = ?1",
            migrate_tests::rusqlite::params![version, offset, duration_ms],
        )
        .expect("update a row");
}

/// The applied rows of a `status` or `history` document.
fn applied_rows(doc: &Value) -> &Vec<Value> {
    doc["applied"].as_array().expect("an `applied` array")
}

/// Asserts that the rows' checksums are exactly `list`'s (the snapshots
/// show them as `[SHA]`), except for the versions in `recorded_from`, whose
/// checksums are those of that other list, and that their times are times.
#[track_caller]
fn assert_rows(doc: &Value, list: &Migrations, recorded_from: Option<(&Migrations, &[u32])>) {
    for row in applied_rows(doc) {
        let v = u32::try_from(row["version"].as_u64().expect("a version")).expect("small");
        let from = match recorded_from {
            Some((other, versions)) if versions.contains(&v) => other,
            _ => list,
        };
        let m = from.get(v).expect("a known version");
        assert_eq!(row["checksum"].as_str(), Some(hex(m.checksum()).as_str()));
        assert_eq!(row["description"].as_str(), Some(m.description()));
        let at = row["applied_at"].as_str().expect("a time");
        assert!(is_timestamp(at), "{at:?}");
    }
}

// ---------------------------------------------------------------------------
// status

#[test]
fn status_of_a_missing_file() {
    let env = Env::new();
    let (_, doc) = snap_both(&env, "status_missing", REPO, &["status"]);
    assert_eq!(doc["exists"], false);
    // Nothing was created, and `migrate` alone is `status`.
    assert!(!env.db.exists());
    let bare = env.run(REPO, &[]);
    assert_eq!(bare.run.stdout, env.run(REPO, &["status"]).run.stdout);
}

#[test]
fn status_partly_applied() {
    let env = repo_db(Some(3));
    let (_, doc) = snap_both(&env, "status_partly_applied", REPO, &["status"]);
    assert_rows(&doc, &list(migrate_tests::REPO_MIGRATIONS), None);
    assert_eq!(applied_rows(&doc).len(), 3);
}

#[test]
fn status_up_to_date() {
    let env = repo_db(None);
    let (_, doc) = snap_both(&env, "status_up_to_date", REPO, &["status"]);
    assert_rows(&doc, &list(migrate_tests::REPO_MIGRATIONS), None);
    assert_eq!(doc["up_to_date"], true);
}

#[test]
fn status_with_unknown_versions() {
    let env = ahead_db();
    let (human, doc) = snap_both(&env, "status_unknown_versions", FIRST10, &["status"]);
    assert_eq!(human.code(), 0, "status reports problems, it does not fail");
    assert_eq!(doc["problems"].as_array().map(Vec::len), Some(2));
}

#[test]
fn status_with_a_modified_migration() {
    let env = i4_db();
    let (_, doc) = snap_both(&env, "status_modified", I4_EDITED, &["status"]);
    // The record keeps the checksum of what ran (i4-base's version 2), not
    // the edited one's.
    let (base, edited) = (list(I4_BASE_TOML), list(I4_EDITED_TOML));
    assert_rows(&doc, &edited, Some((&base, &[2])));
    assert_ne!(
        base.get(2).map(|m| m.checksum()),
        edited.get(2).map(|m| m.checksum())
    );
}

#[test]
fn status_with_a_version_never_applied() {
    let env = gap_db();
    snap_both(&env, "status_never_applied", I4_EDITED, &["status"]);
}

// ---------------------------------------------------------------------------
// version and history

#[test]
fn version_of_a_missing_file_and_of_a_database() {
    let env = Env::new();
    snap_both(&env, "version_missing", REPO, &["version"]);
    let env = repo_db(Some(3));
    snap_both(&env, "version_3", REPO, &["version"]);
}

#[test]
fn history_of_a_missing_file() {
    let env = Env::new();
    snap_both(&env, "history_missing", REPO, &["history"]);
    assert!(!env.db.exists());
}

/// A database whose schema was made before this tool (i4-base's versions 1
/// and 2 run by hand), baselined at 2, then version 3 applied; the rows'
/// times and durations set to fixed values.
#[test]
fn history_of_baselined_and_applied_migrations() {
    let env = Env::new();
    make_schema_by_hand(&env.db, &list(I4_BASE_TOML), 2);
    setup(&env, I4_BASE, &["baseline", "2"]);
    setup(&env, I4_BASE, &["apply"]);
    set_row(&env.db, 1, "-800 days", None);
    set_row(&env.db, 2, "-45 days", None);
    set_row(&env.db, 3, "-3 days", Some(12.5));

    let human = env.run(I4_BASE, &["history"]);
    human.check_human();
    snap(&env, "history_fixed_human", &human, true);
    let json = env.json(I4_BASE, &["history"]);
    let (doc, _) = json.check_json();
    snap(&env, "history_fixed_json", &json, true);
    assert_rows(&doc.expect("a document"), &list(I4_BASE_TOML), None);
    assert!(human.run.stdout.contains("2 years ago"), "{}", human.run);
}

/// A database of the original Python tool (three-column table, no checksums),
/// then the apply that adopts its rows.
#[test]
fn history_and_apply_of_a_python_tool_database() {
    let env = Env::new();
    make_schema_by_hand(&env.db, &list(I4_BASE_TOML), 2);
    open(&env.db)
        .execute_batch(
            "CREATE TABLE schema_migrations (
                 version INTEGER PRIMARY KEY,
                 description TEXT,
                 applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
             );
             INSERT INTO schema_migrations VALUES
                 (1, 'Create notes table', '2024-03-01 10:00:00'),
                 (2, 'Add status to notes', '2024-03-02 11:30:00');",
        )
        .expect("write the Python tool's table");
    let (human, doc) = snap_both(&env, "history_python_tool", I4_BASE, &["history"]);
    // The times the snapshot shows as [TIME], as the Python tool wrote them.
    for at in ["2024-03-01 10:00:00", "2024-03-02 11:30:00"] {
        assert!(human.run.stdout.contains(at), "{}", human.run);
    }
    let times: Vec<&str> = applied_rows(&doc)
        .iter()
        .filter_map(|row| row["applied_at"].as_str())
        .collect();
    assert_eq!(times, ["2024-03-01 10:00:00", "2024-03-02 11:30:00"]);
    snap_both(&env, "status_python_tool", I4_BASE, &["status"]);

    let copy = env.copy();
    let human = env.run(I4_BASE, &["apply"]);
    snap_human(&env, "apply_adopting_python_tool_rows_human", &human);
    let json = copy.json(I4_BASE, &["apply"]);
    let (doc, _) = snap_json(&copy, "apply_adopting_python_tool_rows_json", &json);
    assert_eq!(
        doc.expect("a document")["adopted"],
        serde_json::json!([1, 2])
    );
    let after = env.json(I4_BASE, &["history"]);
    let (doc, _) = after.check_json();
    assert_rows(&doc.expect("a document"), &list(I4_BASE_TOML), None);
}

// ---------------------------------------------------------------------------
// check

#[test]
fn check_clean() {
    let env = repo_db(None);
    let (human, doc) = snap_both(&env, "check_clean", REPO, &["check"]);
    assert_eq!(human.code(), 0);
    assert_eq!(doc["ok"], true);
}

#[test]
fn check_drift() {
    let env = repo_db(None);
    open(&env.db)
        .execute_batch(
            "ALTER TABLE users ADD COLUMN nickname TEXT;
             DROP INDEX idx_user_tags_tag;
             DROP INDEX idx_tickets_status;
             CREATE INDEX idx_tickets_status ON tickets(subject);
             CREATE TABLE scratch (x);",
        )
        .expect("change the schema by hand");
    let (human, doc) = snap_both(&env, "check_drift", REPO, &["check"]);
    assert_eq!(human.code(), 3);
    assert_eq!(doc["drift"].as_array().map(Vec::len), Some(4));
}

#[test]
fn check_pending() {
    let env = repo_db(Some(10));
    let (human, _) = snap_both(&env, "check_pending", REPO, &["check"]);
    assert_eq!(human.code(), 3);
    let env = Env::new();
    let (human, _) = snap_both(&env, "check_missing", I4_BASE, &["check"]);
    assert_eq!(human.code(), 3);
    assert!(!env.db.exists());
}

#[test]
fn check_modified_pending_and_drift() {
    let env = i4_db();
    let (human, _) = snap_both(&env, "check_modified", I4_EDITED, &["check"]);
    assert_eq!(human.code(), 3);
}

#[test]
fn check_unknown_versions() {
    let env = ahead_db();
    let (human, _) = snap_both(&env, "check_unknown_versions", FIRST10, &["check"]);
    assert_eq!(human.code(), 3);
}

// ---------------------------------------------------------------------------
// apply

#[test]
fn apply_to_a_fresh_file() {
    let (a, b) = (Env::new(), Env::new());
    snap_human(&a, "apply_fresh_human", &a.run(REPO, &["apply"]));
    let json = b.json(REPO, &["apply"]);
    let (doc, _) = snap_json(&b, "apply_fresh_json", &json);
    // Nothing to back up in a file that did not exist.
    assert_eq!(doc.expect("a document")["backup"], Value::Null);
    assert_eq!(migrate_tests::dir_entries(b.dir.path()), ["chatbot.db"]);
}

#[test]
fn apply_with_nothing_to_do() {
    let env = repo_db(None);
    snap_both(&env, "apply_nothing_to_do", REPO, &["apply"]);
    // No backup either.
    assert_eq!(migrate_tests::dir_entries(env.dir.path()), ["chatbot.db"]);
}

#[test]
fn apply_to_a_version() {
    let env = repo_db(Some(3));
    let copy = env.copy();
    snap_human(
        &env,
        "apply_to_human",
        &env.run(REPO, &["apply", "--to", "5"]),
    );
    let json = copy.json(REPO, &["apply", "--to", "5"]);
    let (doc, _) = snap_json(&copy, "apply_to_json", &json);
    let doc = doc.expect("a document");
    assert_eq!(doc["version"], 5);
    // The backup named in the document is there, named for version 3.
    let backup = PathBuf::from(doc["backup"].as_str().expect("a backup"));
    assert!(backup.is_file(), "{backup:?}");
    assert!(
        backup
            .to_string_lossy()
            .starts_with(&format!("{}.3.", copy.db.display()))
    );
    // Again: nothing more up to 5.
    snap_human(
        &env,
        "apply_to_again_human",
        &env.run(REPO, &["apply", "--to", "5"]),
    );
}

#[test]
fn apply_that_fails() {
    let env = duplicates_db();
    let copy = env.copy();
    let human = env.run(UNIQUE_FAILURE, &["apply"]);
    snap_human(&env, "apply_failed_human", &human);
    assert_eq!(human.code(), 1);
    let json = copy.json(UNIQUE_FAILURE, &["apply"]);
    let (_, err) = snap_json(&copy, "apply_failed_json", &json);
    // The error document names the backup taken before the failure.
    let err = err.expect("an error document");
    assert_eq!(err["error"]["code"], "migration_failed");
    let backup = PathBuf::from(err["error"]["backup"].as_str().expect("a backup"));
    assert!(backup.is_file(), "{backup:?}");
}

#[test]
fn apply_that_orphans_rows() {
    let env = orphans_db();
    let copy = env.copy();
    snap_human(
        &env,
        "apply_foreign_key_violation_human",
        &env.run(FK_ORPHAN, &["apply", "--no-backup"]),
    );
    let json = copy.json(FK_ORPHAN, &["apply", "--no-backup"]);
    snap_json(&copy, "apply_foreign_key_violation_json", &json);
    assert_eq!(json.error_code(), "foreign_key_violation");
}

// ---------------------------------------------------------------------------
// apply --dry-run

#[test]
fn dry_run_where_all_would_succeed() {
    let env = repo_db(Some(10));
    let before = migrate_tests::bytes(&env.db);
    let (human, doc) = snap_both(&env, "dry_run_succeeds", REPO, &["apply", "--dry-run"]);
    assert_eq!(human.code(), 0);
    assert_eq!(doc["would_fail"], false);
    assert_eq!(migrate_tests::bytes(&env.db), before, "nothing changed");
    assert_eq!(migrate_tests::dir_entries(env.dir.path()), ["chatbot.db"]);

    let fresh = Env::new();
    snap_both(
        &fresh,
        "dry_run_fresh_to",
        I4_BASE,
        &["apply", "--dry-run", "--to", "2"],
    );
    assert!(!fresh.db.exists(), "a trial run creates nothing");

    let done = repo_db(None);
    snap_both(&done, "dry_run_nothing", REPO, &["apply", "--dry-run"]);
}

#[test]
fn dry_run_where_one_would_fail() {
    let env = duplicates_db();
    let before = migrate_tests::bytes(&env.db);
    let (human, doc) = snap_both(
        &env,
        "dry_run_would_fail",
        UNIQUE_FAILURE,
        &["apply", "--dry-run"],
    );
    assert_eq!(human.code(), 1);
    assert_eq!(doc["would_fail"], true);
    assert_eq!(migrate_tests::bytes(&env.db), before, "nothing changed");

    let env = orphans_db();
    snap_both(
        &env,
        "dry_run_would_orphan",
        FK_ORPHAN,
        &["apply", "--dry-run"],
    );
}

// ---------------------------------------------------------------------------
// schema

#[test]
fn schema() {
    let env = Env::new();
    snap_both(&env, "schema_i4", I4_BASE, &["schema"]);
    snap_human(&env, "schema_repo", &env.run_bare(REPO, &["schema"]));
    assert!(!env.db.exists(), "schema needs no database");
}

// ---------------------------------------------------------------------------
// repair, baseline, restore

#[test]
fn repair_messages() {
    // An edited migration: refused without --yes off a terminal, then repaired.
    let env = i4_db();
    let copy = env.copy();
    snap_both(&env, "repair_not_confirmed", I4_EDITED, &["repair"]);
    snap_human(
        &env,
        "repair_human",
        &env.run(I4_EDITED, &["repair", "--yes"]),
    );
    snap_json(
        &copy,
        "repair_json",
        &copy.json(I4_EDITED, &["repair", "--yes"]),
    );
    // Nothing left to repair.
    snap_both(&env, "repair_nothing", I4_EDITED, &["repair", "--yes"]);
    // No database.
    let missing = Env::new();
    snap_both(&missing, "repair_missing", I4_EDITED, &["repair", "--yes"]);
    assert!(!missing.db.exists());
    // Unknown versions are not repaired by recording checksums.
    let ahead = ahead_db();
    snap_both(&ahead, "repair_unknown", FIRST10, &["repair", "--yes"]);
}

#[test]
fn baseline_messages() {
    let legacy = Env::new();
    make_schema_by_hand(&legacy.db, &list(I4_BASE_TOML), 3);
    let copy = legacy.copy();
    snap_human(
        &legacy,
        "baseline_human",
        &legacy.run(I4_BASE, &["baseline", "3"]),
    );
    snap_json(
        &copy,
        "baseline_json",
        &copy.json(I4_BASE, &["baseline", "3"]),
    );
    // Again: something is recorded already.
    snap_both(
        &legacy,
        "baseline_already_tracked",
        I4_BASE,
        &["baseline", "3"],
    );
    // Not the schema of version 2.
    let other = Env::new();
    make_schema_by_hand(&other.db, &list(I4_BASE_TOML), 3);
    snap_both(&other, "baseline_mismatch", I4_BASE, &["baseline", "2"]);
    // No such file; no such version.
    let missing = Env::new();
    snap_both(&missing, "baseline_missing", I4_BASE, &["baseline", "2"]);
    snap_both(
        &missing,
        "baseline_out_of_range",
        I4_BASE,
        &["baseline", "9"],
    );
    assert!(!missing.db.exists());
}

#[test]
fn restore_messages() {
    // A backup of version 1, then the database brought to version 3.
    let env = Env::new();
    setup(&env, I4_BASE, &["apply", "--to", "1"]);
    setup(&env, I4_BASE, &["apply"]);
    let backup = migrate_tests::dir_entries(env.dir.path())
        .into_iter()
        .find(|n| n.ends_with(".bak"))
        .map(|n| env.dir.path().join(n))
        .expect("apply backed up version 1");
    let backup = backup.to_str().expect("UTF-8");
    let copy = env.copy();
    let copied_backup = copy.dir.path().join("v1.bak");
    std::fs::copy(backup, &copied_backup).expect("copy the backup");
    let copied_backup = copied_backup.to_str().expect("UTF-8");

    snap_both(&env, "restore_not_confirmed", I4_BASE, &["restore", backup]);
    snap_human(
        &env,
        "restore_human",
        &env.run(I4_BASE, &["restore", backup, "--yes"]),
    );
    let json = copy.json(I4_BASE, &["restore", copied_backup, "--yes"]);
    snap_json(&copy, "restore_json", &json);
    // Two messages, each a document on its own line.
    for line in json.run.stdout.lines() {
        let doc: Value = serde_json::from_str(line).expect("one document per line");
        assert!(doc["message"].is_string());
    }
    // Not a backup: the database itself, a file that is not there, a file
    // that is not SQLite, a database without schema_migrations.
    let db = env.db.to_str().expect("UTF-8").to_owned();
    snap_both(&env, "restore_itself", I4_BASE, &["restore", &db, "--yes"]);
    snap_both(
        &env,
        "restore_no_such_file",
        I4_BASE,
        &["restore", "no-such.bak", "--yes"],
    );
    std::fs::write(env.dir.path().join("notes.txt"), "not SQLite\n".repeat(100))
        .expect("write a text file");
    snap_both(
        &env,
        "restore_not_a_database",
        I4_BASE,
        &["restore", "notes.txt", "--yes"],
    );
    let plain = env.dir.path().join("plain.sqlite");
    Connection::open(&plain)
        .and_then(|c| c.execute_batch("CREATE TABLE t (x)"))
        .expect("a database without schema_migrations");
    snap_both(
        &env,
        "restore_not_a_backup",
        I4_BASE,
        &["restore", "plain.sqlite", "--yes"],
    );
}

// ---------------------------------------------------------------------------
// The error documents of each failure class

#[test]
fn usage_errors() {
    let env = Env::new();
    snap_both(&env, "error_bad_flag", REPO, &["--bogus"]);
    snap_both(&env, "error_to_0", REPO, &["apply", "--to", "0"]);
    snap_both(
        &env,
        "error_to_past_the_end",
        REPO,
        &["apply", "--to", "16"],
    );
    snap_both(
        &env,
        "error_bad_busy_timeout",
        REPO,
        &["--busy-timeout", "99999"],
    );
    // first10.toml names no default database.
    let human = env.run_bare(FIRST10, &["status"]);
    snap_human(&env, "error_no_database_human", &human);
    let json = env.run_bare(FIRST10, &["--json", "status"]);
    snap_json(&env, "error_no_database_json", &json);
    assert!(!env.db.exists());
}

#[test]
fn errors_of_the_database_file() {
    let env = not_a_database();
    snap_both(&env, "error_not_a_database", REPO, &["status"]);
    let env = Env::new();
    let human = env.run_bare(REPO, &["--database", "missing/dir/chatbot.db", "apply"]);
    snap_human(&env, "error_missing_directory_human", &human);
    let json = env.run_bare(
        REPO,
        &["--json", "--database", "missing/dir/chatbot.db", "apply"],
    );
    snap_json(&env, "error_missing_directory_json", &json);
    std::fs::create_dir(&env.db).expect("a directory where the database goes");
    snap_both(&env, "error_is_a_directory", REPO, &["status"]);
}

#[test]
fn errors_of_an_inconsistent_record() {
    snap_both(&ahead_db(), "error_unknown_versions", FIRST10, &["apply"]);
    snap_both(&i4_db(), "error_modified", I4_EDITED, &["apply"]);
    snap_both(&gap_db(), "error_never_applied", I4_EDITED, &["apply"]);
    snap_both(
        &foreign_tracking_db(),
        "error_foreign_tracking_table",
        REPO,
        &["apply"],
    );
}

#[test]
fn errors_of_a_busy_database() {
    let env = i4_db();
    let holder = open(&env.db);
    holder
        .execute_batch("BEGIN EXCLUSIVE")
        .expect("take the lock");
    for command in ["apply", "status", "check"] {
        snap_both(
            &env,
            &format!("error_busy_{command}"),
            I4_BASE,
            &["--busy-timeout", "0.2", command],
        );
    }
    holder.execute_batch("ROLLBACK").expect("release the lock");
}

// ---------------------------------------------------------------------------
// Exit codes

/// One run of a failure class: the exit code it must end with and, for a
/// JSON run, the `code` of the error document (None when the command
/// reports on stdout instead: success, check, trial runs).
#[track_caller]
fn expect_class(t: &Transcript, exit: i32, code: Option<&str>) {
    assert_eq!(t.code(), exit, "exit code of `{}`:\n{}", t.line, t.run);
    let (out, err) = t.check_json();
    match code {
        Some(code) => {
            let err = err.unwrap_or_else(|| panic!("no error document:\n{}", t.run));
            assert_eq!(err["error"]["code"], code, "`{}`:\n{}", t.line, t.run);
        }
        None => {
            assert!(err.is_none(), "`{}`:\n{}", t.line, t.run);
            assert!(out.is_some(), "`{}`:\n{}", t.line, t.run);
        }
    }
}

/// Runs `args` in both formats on `env`'s database (on two copies when it
/// exists, as the command may change it) and checks the class.
#[track_caller]
fn class(env: &Env, bin: &str, args: &[&str], exit: i32, code: Option<&str>) {
    let copy = env.db.exists().then(|| env.copy());
    let human = env.run(bin, args);
    human.check_human();
    assert_eq!(
        human.code(),
        exit,
        "exit code of `{}`:\n{}",
        human.line,
        human.run
    );
    expect_class(&copy.as_ref().unwrap_or(env).json(bin, args), exit, code);
}

#[test]
fn exit_codes_for_each_failure_class() {
    // Success, 0.
    class(&Env::new(), REPO, &["status"], 0, None);
    class(&repo_db(Some(3)), REPO, &["apply"], 0, None);

    // Usage errors, 2.
    class(&Env::new(), REPO, &["--bogus"], 2, Some("usage"));
    class(&Env::new(), REPO, &["apply", "--to", "0"], 2, Some("usage"));
    let env = Env::new();
    // first10.toml has no default database and MIGRATE_DATABASE is unset.
    assert_eq!(env.run_bare(FIRST10, &["apply"]).code(), 2);
    expect_class(
        &env.run_bare(FIRST10, &["--json", "apply"]),
        2,
        Some("usage"),
    );
    assert!(!env.db.exists());

    // A migration failed, 1.
    class(
        &duplicates_db(),
        UNIQUE_FAILURE,
        &["apply"],
        1,
        Some("migration_failed"),
    );
    // A foreign-key violation, 1.
    class(
        &orphans_db(),
        FK_ORPHAN,
        &["apply"],
        1,
        Some("foreign_key_violation"),
    );
    // Not a database, 1.
    class(
        &not_a_database(),
        REPO,
        &["apply"],
        1,
        Some("not_a_database"),
    );
    class(
        &not_a_database(),
        REPO,
        &["status"],
        1,
        Some("not_a_database"),
    );
    // A missing directory, 1.
    let env = Env::new();
    let args = ["--database", "missing/chatbot.db", "apply"];
    assert_eq!(env.run_bare(REPO, &args).code(), 1);
    let mut json = vec!["--json"];
    json.extend(args);
    expect_class(&env.run_bare(REPO, &json), 1, Some("path"));

    // The database disagrees with this build, 3: unknown, modified, gap.
    class(&ahead_db(), FIRST10, &["apply"], 3, Some("inconsistent"));
    class(&i4_db(), I4_EDITED, &["apply"], 3, Some("inconsistent"));
    class(&gap_db(), I4_EDITED, &["apply"], 3, Some("inconsistent"));
    // Another tool's schema_migrations, 3.
    class(
        &foreign_tracking_db(),
        REPO,
        &["apply"],
        3,
        Some("unexpected_tracking_table"),
    );
    class(
        &foreign_tracking_db(),
        REPO,
        &["status"],
        3,
        Some("unexpected_tracking_table"),
    );
    // check finds something, 3 (its report on stdout, no error document):
    // pending, drift, modified.
    class(&repo_db(Some(10)), REPO, &["check"], 3, None);
    let drifted = repo_db(None);
    open(&drifted.db)
        .execute_batch("CREATE TABLE scratch (x)")
        .expect("add a table by hand");
    class(&drifted, REPO, &["check"], 3, None);
    class(&i4_db(), I4_EDITED, &["check"], 3, None);
    class(&repo_db(None), REPO, &["check"], 0, None);
    // baseline refused, 3.
    let legacy = Env::new();
    make_schema_by_hand(&legacy.db, &list(I4_BASE_TOML), 3);
    class(
        &legacy,
        I4_BASE,
        &["baseline", "2"],
        3,
        Some("baseline_mismatch"),
    );
    class(
        &i4_db(),
        I4_BASE,
        &["baseline", "3"],
        3,
        Some("already_tracked"),
    );

    // Busy, 4: another connection holds the lock past --busy-timeout.
    let env = i4_db();
    let holder = open(&env.db);
    holder
        .execute_batch("BEGIN EXCLUSIVE")
        .expect("take the lock");
    for command in ["apply", "status", "check", "history", "version"] {
        let args = ["--busy-timeout", "0.2", command];
        let human = env.run(I4_EDITED, &args);
        assert_eq!(human.code(), 4, "{}", human.run);
        expect_class(&env.json(I4_EDITED, &args), 4, Some("busy"));
    }
    holder.execute_batch("ROLLBACK").expect("release the lock");

    // A trial run that would fail, 1 (its report on stdout).
    class(
        &duplicates_db(),
        UNIQUE_FAILURE,
        &["apply", "--dry-run"],
        1,
        None,
    );
    class(&orphans_db(), FK_ORPHAN, &["apply", "--dry-run"], 1, None);

    // repair and restore without --yes, stdin not a terminal, 2.
    class(&i4_db(), I4_EDITED, &["repair"], 2, Some("usage"));
    let env = i4_db();
    let backup = env.dir.path().join("copy.bak");
    std::fs::copy(&env.db, &backup).expect("copy the database");
    let backup = backup.to_str().expect("UTF-8").to_owned();
    class(&env, I4_BASE, &["restore", &backup], 2, Some("usage"));
    // restore of something that is not a backup, 1.
    class(
        &env,
        I4_BASE,
        &["restore", "no-such.bak", "--yes"],
        1,
        Some("not_a_backup"),
    );
}
