//! Deploy safety through the built binary, on real files: trial runs
//! (`apply --dry-run`) that change nothing, the backup `apply` takes first
//! (also while another process keeps writing), `restore`, and what `history`
//! tells about each migration.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use migrate_tests::rusqlite::Connection;
use migrate_tests::{
    Run, bytes, column_names, command, count, dir_entries, integrity, migrate, open, rows, tables,
    versions,
};
use tempfile::TempDir;

const UNIQUE_BASE: &str = env!("CARGO_BIN_EXE_fixture-unique-base");
const UNIQUE_FAILURE: &str = env!("CARGO_BIN_EXE_fixture-unique-failure");
const VACUUM: &str = env!("CARGO_BIN_EXE_fixture-i5-vacuum");
const LEDGER: &str = env!("CARGO_BIN_EXE_fixture-i5-ledger");
const WRITER: &str = env!("CARGO_BIN_EXE_fixture-i5-writer");
const SLOW: &str = env!("CARGO_BIN_EXE_fixture-i5-slow");
const KEEP: &str = env!("CARGO_BIN_EXE_fixture-keep");

/// A fresh temporary directory and the path of a database file in it.
fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let db = dir.path().join("chatbot.db");
    (dir, db)
}

/// A database at version 2 of unique-failure.toml (accounts, account_notes)
/// holding `emails`.
fn accounts_db(emails: &[&str]) -> (TempDir, PathBuf) {
    let (dir, db) = temp_db();
    migrate(UNIQUE_BASE, &db, &["apply"]).expect_success();
    let conn = open(&db);
    for (i, email) in emails.iter().enumerate() {
        conn.execute(
            "INSERT INTO accounts (id, email) VALUES (?1, ?2)",
            (i64::try_from(i).expect("few rows") + 1, email),
        )
        .expect("insert an account");
    }
    conn.execute_batch("INSERT INTO account_notes (account_id, note) VALUES (1, 'first')")
        .expect("insert a note");
    (dir, db)
}

const DUPLICATES: [&str; 3] = ["ann@example.com", "bob@example.com", "ann@example.com"];
const DISTINCT: [&str; 3] = ["ann@example.com", "bob@example.com", "cy@example.com"];

/// What `migrate version` prints, without the newline.
fn version_of(bin: &str, db: &Path) -> String {
    let run = migrate(bin, db, &["version"]);
    run.expect_success();
    run.stdout.trim_end().to_owned()
}

/// The versions a trial run lists, in the order it lists them.
fn listed(run: &Run) -> Vec<u32> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// What a trial run says about `version`: the text after the number.
#[track_caller]
fn verdict(run: &Run, version: u32) -> String {
    let prefix = format!("{version:>7}  ");
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the trial run should list version {version}:\n{run}"))
        .to_owned()
}

/// Asserts a "would succeed (N.N ms)" verdict.
#[track_caller]
fn assert_would_succeed(run: &Run, version: u32) {
    let v = verdict(run, version);
    let time = v
        .strip_prefix("would succeed (")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("version {version} should succeed: {v:?}\n{run}"));
    assert!(is_duration(time), "{v:?}\n{run}");
}

/// `N.N ms` or `N.NN s`, as the CLI prints a duration.
fn is_duration(text: &str) -> bool {
    let (number, decimals) = if let Some(n) = text.strip_suffix(" ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix(" s") {
        (n, 2)
    } else {
        return false;
    };
    number.split_once('.').is_some_and(|(int, frac)| {
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.len() == decimals
            && frac.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The names of the `.bak` files in `dir`, sorted.
fn backups_in(dir: &Path) -> Vec<String> {
    dir_entries(dir)
        .into_iter()
        .filter(|n| n.ends_with(".bak"))
        .collect()
}

/// SQLite's idea of the current UTC time in the backup names' format.
fn utc_stamp() -> String {
    Connection::open_in_memory()
        .expect("in-memory database")
        .query_row("SELECT strftime('%Y%m%dT%H%M%SZ', 'now')", [], |r| r.get(0))
        .expect("strftime")
}

/// Splits a backup's name `<db>.<version>.<yyyymmddThhmmssZ>[-N].bak` into
/// its version, time stamp and suffix number; `None` when it does not have
/// that shape.
fn parse_backup_name(name: &str, db_name: &str) -> Option<(i64, String, Option<u32>)> {
    let rest = name.strip_prefix(db_name)?.strip_prefix('.')?;
    let rest = rest.strip_suffix(".bak")?;
    let (version, rest) = rest.split_once('.')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let stamp = rest.get(..16)?;
    let shape_ok = stamp.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let suffix = match &rest[16..] {
        "" => None,
        s => {
            let n = s.strip_prefix('-')?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(n.parse().ok()?)
        }
    };
    Some((version.parse().ok()?, stamp.to_owned(), suffix))
}

/// Asserts that `name` is a backup of `db` at `version`, stamped between
/// `after` and `before` (UTC, same format), and returns its suffix number.
#[track_caller]
fn assert_backup_name(
    name: &str,
    db: &Path,
    version: i64,
    after: &str,
    before: &str,
) -> Option<u32> {
    let db_name = db.file_name().expect("file name").to_string_lossy();
    let (v, stamp, suffix) = parse_backup_name(name, &db_name).unwrap_or_else(|| {
        panic!("{name:?} is not named <{db_name}>.<version>.<yyyymmddThhmmssZ>.bak")
    });
    assert_eq!(v, version, "version in the backup's name {name:?}");
    assert!(
        after <= stamp.as_str() && stamp.as_str() <= before,
        "the time in {name:?} should be the UTC time of the run, between {after} and {before}"
    );
    suffix
}

/// The path `apply` or `restore` says it wrote a backup to, after `prefix`.
#[track_caller]
fn announced_backup(run: &Run, prefix: &str) -> PathBuf {
    let line = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("expected a line starting {prefix:?}:\n{run}"));
    let (_, dest) = line
        .split_once(" to ")
        .unwrap_or_else(|| panic!("expected `… to PATH`: {line:?}"));
    PathBuf::from(dest)
}

#[test]
fn parse_backup_name_accepts_only_the_documented_pattern() {
    let ok = |n: &str| parse_backup_name(n, "chatbot.db");
    assert_eq!(
        ok("chatbot.db.12.20261124T101500Z.bak"),
        Some((12, "20261124T101500Z".to_owned(), None))
    );
    assert_eq!(
        ok("chatbot.db.0.20261124T101500Z-3.bak"),
        Some((0, "20261124T101500Z".to_owned(), Some(3)))
    );
    for bad in [
        "chatbot.db.12.20261124T101500.bak",
        "chatbot.db.12.20261124-101500Z.bak",
        "chatbot.db..20261124T101500Z.bak",
        "chatbot.db.12.20261124T101500Z-.bak",
        "chatbot.db.12.20261124T101500Z",
        "other.db.12.20261124T101500Z.bak",
    ] {
        assert_eq!(ok(bad), None, "{bad}");
    }
}

// ---------------------------------------------------------------- dry runs

#[test]
fn dry_run_reveals_a_unique_violation_in_the_real_data_and_changes_nothing() {
    let (dir, db) = accounts_db(&DUPLICATES);
    let before = bytes(&db);
    let files = dir_entries(dir.path());

    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    run.expect_code(1);
    assert_eq!(run.stderr, "", "{run}");
    assert!(
        run.stdout.starts_with(&format!(
            "Trial run on {} (rolled back, nothing changed):\n",
            db.display()
        )),
        "{run}"
    );
    assert_eq!(listed(&run), [3, 4], "{run}");
    let three = verdict(&run, 3);
    assert!(three.starts_with("WOULD FAIL after "), "{run}");
    assert!(
        three.contains("UNIQUE constraint failed: accounts.email"),
        "{run}"
    );
    assert!(three.contains("statement 3"), "{run}");
    assert!(
        three.contains("CREATE UNIQUE INDEX idx_accounts_email"),
        "{run}"
    );
    assert_eq!(
        verdict(&run, 4),
        "not tried: an earlier migration would fail",
        "{run}"
    );
    assert!(
        run.stdout
            .ends_with("A migration would fail: fix it (or the data) before applying.\n"),
        "{run}"
    );

    // Nothing changed: the same bytes, no journal or backup left behind,
    // still version 2 without migration 3's first statements.
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);
    assert_eq!(version_of(UNIQUE_FAILURE, &db), "2");
    assert_eq!(column_names(&db, "accounts"), ["id", "email"]);

    // The prediction holds: the real apply fails the same way.
    let apply = migrate(UNIQUE_FAILURE, &db, &["apply"]);
    apply.expect_error(1, &db, &["UNIQUE constraint failed: accounts.email"]);
    assert_eq!(versions(&db), [1, 2]);
}

#[test]
fn dry_run_where_everything_would_succeed_applies_nothing() {
    let (dir, db) = accounts_db(&DISTINCT);
    let before = bytes(&db);
    let files = dir_entries(dir.path());

    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    run.expect_success();
    assert_eq!(listed(&run), [3, 4], "{run}");
    assert_would_succeed(&run, 3);
    assert_would_succeed(&run, 4);
    assert!(
        run.stdout
            .ends_with("Every migration tried would succeed on the current data.\n"),
        "{run}"
    );
    assert!(!run.stdout.contains("Applying"), "{run}");
    assert!(!run.stdout.contains("Backed up"), "{run}");

    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);
    assert_eq!(version_of(UNIQUE_FAILURE, &db), "2");
    assert_eq!(
        tables(&db),
        ["account_notes", "accounts", "schema_migrations"]
    );

    // A second trial says the same; then the real apply does succeed.
    let again = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    again.expect_success();
    assert_eq!(listed(&again), [3, 4]);
    assert_eq!(bytes(&db), before);
    migrate(UNIQUE_FAILURE, &db, &["apply"]).expect_success();
    assert_eq!(versions(&db), [1, 2, 3, 4]);

    // Nothing pending: nothing to try.
    let nothing = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    nothing.expect_success();
    assert_eq!(
        nothing.stdout,
        format!("Nothing to try: nothing is pending in {}.\n", db.display())
    );
}

#[test]
fn a_trigger_on_schema_migrations_fails_the_dry_run_as_it_fails_apply_naming_the_version() {
    let (dir, db) = accounts_db(&DISTINCT);
    open(&db)
        .execute_batch(
            "CREATE TRIGGER frozen BEFORE INSERT ON schema_migrations WHEN NEW.version >= 3
             BEGIN SELECT RAISE(ABORT, 'deploys are frozen'); END;",
        )
        .expect("a trigger on the tracking table");
    let before = bytes(&db);
    let files = dir_entries(dir.path());

    let trial = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    assert_eq!(
        trial.code,
        Some(1),
        "the trial must fail as apply will: {trial}"
    );
    let said = verdict(&trial, 3);
    assert!(said.contains("deploys are frozen"), "{said}\n{trial}");
    assert_eq!(bytes(&db), before);

    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--no-backup"]);
    run.expect_error(
        1,
        &db,
        &[
            "migration 3 (\"Make account emails unique\")",
            "deploys are frozen",
            "rolled back and is not recorded",
        ],
    );
    assert_eq!(versions(&db), [1, 2]);
    assert_eq!(column_names(&db, "accounts"), ["id", "email"]);
    assert_eq!(dir_entries(dir.path()), files);
}

#[test]
fn dry_run_tries_each_migration_on_what_the_previous_ones_did() {
    let (dir, db) = temp_db();
    migrate(VACUUM, &db, &["apply", "--to", "1"]).expect_success();
    open(&db)
        .execute_batch("INSERT INTO events (kind, payload) VALUES ('new', 'a'), ('new', 'b')")
        .expect("insert events");
    let before = bytes(&db);
    let files = dir_entries(dir.path());

    // 3 fills the column 2 adds.
    let run = migrate(VACUUM, &db, &["apply", "--dry-run", "--to", "3"]);
    run.expect_success();
    assert_eq!(listed(&run), [2, 3], "{run}");
    assert_would_succeed(&run, 2);
    assert_would_succeed(&run, 3);
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);
    assert_eq!(column_names(&db, "events"), ["id", "kind", "payload"]);

    // From an empty database too (1 creates what 2 and 3 change).
    let (dir, db) = temp_db();
    let run = migrate(VACUUM, &db, &["apply", "--dry-run", "--to", "3"]);
    run.expect_success();
    assert_eq!(listed(&run), [1, 2, 3], "{run}");
    for v in 1..=3 {
        assert_would_succeed(&run, v);
    }
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
}

#[test]
fn dry_run_does_not_try_a_migration_outside_a_transaction_nor_what_follows_it() {
    let (dir, db) = temp_db();
    migrate(VACUUM, &db, &["apply", "--to", "1"]).expect_success();
    open(&db)
        .execute_batch(
            "INSERT INTO events (kind, payload) VALUES
                 ('old', 'a'), ('old', 'b'), ('new', 'c');",
        )
        .expect("insert events");
    let before = bytes(&db);
    let files = dir_entries(dir.path());

    let run = migrate(VACUUM, &db, &["apply", "--dry-run"]);
    // Migration 5 indexes the table migration 4 creates: trying it without
    // 4 having run would report a failure the real apply never meets.
    run.expect_success();
    assert_eq!(listed(&run), [2, 3, 4, 5], "{run}");
    assert_would_succeed(&run, 2);
    assert_would_succeed(&run, 3);
    assert_eq!(
        verdict(&run, 4),
        "not tried: it runs outside a transaction (transaction = false)",
        "{run}"
    );
    assert_eq!(
        verdict(&run, 5),
        "not tried: an earlier migration it may depend on was not tried",
        "{run}"
    );
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);
    assert_eq!(version_of(VACUUM, &db), "1");

    // The real apply runs all four.
    migrate(VACUUM, &db, &["apply", "--no-backup"]).expect_success();
    assert_eq!(versions(&db), [1, 2, 3, 4, 5]);
    assert_eq!(count(&db, "SELECT count(*) FROM events_archive"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM events"), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM events WHERE received_at IS NULL"),
        0
    );
}

#[test]
fn dry_run_on_a_wal_database_leaves_the_file_and_its_directory_as_they_were() {
    let (dir, db) = accounts_db(&DUPLICATES);
    {
        let conn = open(&db);
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .expect("switch to WAL");
        assert_eq!(mode, "wal");
        conn.execute_batch("INSERT INTO accounts (id, email) VALUES (10, 'dee@example.com')")
            .expect("insert in WAL mode");
    }
    let before = bytes(&db);
    let files = dir_entries(dir.path());
    assert_eq!(
        files,
        ["chatbot.db"],
        "closing the last connection ends the WAL"
    );

    let failing = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    failing.expect_code(1);
    assert!(
        verdict(&failing, 3).starts_with("WOULD FAIL after "),
        "{failing}"
    );
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);

    open(&db)
        .execute_batch("DELETE FROM accounts WHERE id = 3")
        .expect("remove the duplicate");
    let before = bytes(&db);
    let passing = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    passing.expect_success();
    assert_would_succeed(&passing, 3);
    assert_would_succeed(&passing, 4);
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);
    assert_eq!(version_of(UNIQUE_FAILURE, &db), "2");
    let mode: String = open(&db)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
}

#[test]
fn dry_run_stops_at_the_target_version() {
    let (_dir, db) = accounts_db(&DISTINCT);
    let before = bytes(&db);
    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run", "--to", "3"]);
    run.expect_success();
    assert_eq!(listed(&run), [3], "{run}");
    assert_would_succeed(&run, 3);
    assert_eq!(bytes(&db), before);

    let at_target = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run", "--to", "2"]);
    at_target.expect_success();
    assert!(
        at_target.stdout.starts_with("Nothing to try"),
        "{at_target}"
    );

    // With duplicates, --to 3 lists the failure and nothing after it.
    let (_dir, db) = accounts_db(&DUPLICATES);
    let before = bytes(&db);
    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run", "--to", "3"]);
    run.expect_code(1);
    assert_eq!(listed(&run), [3], "{run}");
    assert!(verdict(&run, 3).starts_with("WOULD FAIL after "), "{run}");
    assert_eq!(bytes(&db), before);
    assert_eq!(version_of(UNIQUE_FAILURE, &db), "2");
}

#[test]
fn dry_run_on_a_missing_file_creates_nothing() {
    let (dir, db) = temp_db();
    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--dry-run"]);
    run.expect_success();
    assert_eq!(listed(&run), [1, 2, 3, 4], "{run}");
    for v in 1..=4 {
        assert_would_succeed(&run, v);
    }
    assert_eq!(
        dir_entries(dir.path()),
        Vec::<String>::new(),
        "a trial run must not create the database"
    );
}

// ----------------------------------------------------------------- backups

#[test]
fn apply_backs_up_an_existing_database_once_before_migrating() {
    let (dir, db) = accounts_db(&DISTINCT);
    let old_accounts = rows(&db, "SELECT id, email FROM accounts ORDER BY id");
    let after = utc_stamp();
    let run = migrate(UNIQUE_FAILURE, &db, &["apply"]);
    let before = utc_stamp();
    run.expect_success();

    let baks = backups_in(dir.path());
    assert_eq!(baks.len(), 1, "exactly one backup: {baks:?}\n{run}");
    assert_eq!(assert_backup_name(&baks[0], &db, 2, &after, &before), None);
    let bak = dir.path().join(&baks[0]);
    // It is announced, before anything is applied.
    assert!(
        run.stdout.starts_with(&format!(
            "Backed up {} to {}\nApplying version 3: ",
            db.display(),
            bak.display()
        )),
        "{run}"
    );
    assert_eq!(announced_backup(&run, "Backed up "), bak);

    // The backup is the database as it was: version 2, the old rows.
    assert_eq!(integrity(&bak), "ok");
    assert_eq!(versions(&bak), [1, 2]);
    assert_eq!(
        rows(&bak, "SELECT id, email FROM accounts ORDER BY id"),
        old_accounts
    );
    assert_eq!(column_names(&bak, "accounts"), ["id", "email"]);
    assert_eq!(count(&bak, "SELECT count(*) FROM account_notes"), 1);
    // While the database moved on.
    assert_eq!(versions(&db), [1, 2, 3, 4]);
    assert_eq!(
        column_names(&db, "accounts"),
        ["id", "email", "email_lower"]
    );
    assert_eq!(
        dir_entries(dir.path()),
        ["chatbot.db".to_owned(), baks[0].clone()]
    );
}

#[test]
fn no_backup_when_skipped_nothing_is_pending_or_the_file_is_new() {
    // --no-backup.
    let (dir, db) = accounts_db(&DISTINCT);
    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--no-backup"]);
    run.expect_success();
    assert!(!run.stdout.contains("Backed up"), "{run}");
    assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
    assert_eq!(versions(&db), [1, 2, 3, 4]);

    // Nothing pending, also below a target.
    let run = migrate(UNIQUE_FAILURE, &db, &["apply"]);
    run.expect_success();
    assert!(run.stdout.starts_with("Nothing to apply"), "{run}");
    let (dir2, db2) = accounts_db(&DISTINCT);
    let run = migrate(UNIQUE_FAILURE, &db2, &["apply", "--to", "2"]);
    run.expect_success();
    assert!(!run.stdout.contains("Backed up"), "{run}");
    assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
    assert_eq!(dir_entries(dir2.path()), ["chatbot.db"]);

    // A file that did not exist: nothing to back up.
    let (dir, db) = temp_db();
    let run = migrate(UNIQUE_FAILURE, &db, &["apply"]);
    run.expect_success();
    assert!(!run.stdout.contains("Backed up"), "{run}");
    assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
}

#[test]
fn backup_dir_receives_the_backup_and_must_exist() {
    let (dir, db) = accounts_db(&DISTINCT);
    let elsewhere = tempfile::tempdir().expect("backup directory");

    // A missing directory: an error naming it, and nothing applied.
    let missing = elsewhere.path().join("no-such-dir");
    let before = bytes(&db);
    let run = migrate(
        UNIQUE_FAILURE,
        &db,
        &[
            "apply",
            "--backup-dir",
            missing.to_str().expect("utf-8 path"),
        ],
    );
    run.expect_error(1, &db, &[&missing.display().to_string(), "does not exist"]);
    assert_eq!(run.stdout, "", "{run}");
    assert_eq!(bytes(&db), before);
    assert_eq!(versions(&db), [1, 2]);
    assert_eq!(dir_entries(dir.path()), ["chatbot.db"]);
    assert!(!missing.exists());

    let after = utc_stamp();
    let run = migrate(
        UNIQUE_FAILURE,
        &db,
        &[
            "apply",
            "--backup-dir",
            elsewhere.path().to_str().expect("utf-8"),
        ],
    );
    let before = utc_stamp();
    run.expect_success();
    let baks = backups_in(elsewhere.path());
    assert_eq!(dir_entries(elsewhere.path()), baks, "only the backup there");
    assert_eq!(baks.len(), 1, "{run}");
    assert_backup_name(&baks[0], &db, 2, &after, &before);
    assert_eq!(
        announced_backup(&run, "Backed up "),
        elsewhere.path().join(&baks[0])
    );
    assert_eq!(versions(&elsewhere.path().join(&baks[0])), [1, 2]);
    assert_eq!(
        dir_entries(dir.path()),
        ["chatbot.db"],
        "none next to the db"
    );
    assert_eq!(versions(&db), [1, 2, 3, 4]);
}

#[test]
fn a_backup_never_overwrites_a_file_and_takes_the_next_free_name() {
    let (dir, db) = accounts_db(&DISTINCT);
    // Occupy the name for every second the run could take place in.
    let conn = Connection::open_in_memory().expect("in-memory database");
    let mut taken = Vec::new();
    for s in 0..20 {
        let stamp: String = conn
            .query_row(
                "SELECT strftime('%Y%m%dT%H%M%SZ', 'now', ?1)",
                [format!("+{s} seconds")],
                |r| r.get(0),
            )
            .expect("strftime");
        let path = dir.path().join(format!("chatbot.db.2.{stamp}.bak"));
        std::fs::write(&path, format!("someone's file {s}\n")).expect("occupy a name");
        taken.push((path, s));
    }
    // Keeping more backups than there are files, so that none is removed.
    let run = migrate(UNIQUE_FAILURE, &db, &["apply", "--keep", "100"]);
    run.expect_success();
    for (path, s) in &taken {
        assert_eq!(
            std::fs::read_to_string(path).expect("still there"),
            format!("someone's file {s}\n"),
            "{} was overwritten",
            path.display()
        );
    }
    let dest = announced_backup(&run, "Backed up ");
    let name = dest
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        parse_backup_name(&name, "chatbot.db").map(|(v, _, n)| (v, n)),
        Some((2, Some(2))),
        "{name}"
    );
    assert_eq!(versions(&dest), [1, 2]);
    assert_eq!(backups_in(dir.path()).len(), taken.len() + 1);
}

#[test]
fn processes_applying_at_once_write_one_backup_named_for_its_version() {
    for round in 0..3 {
        let (dir, db) = accounts_db(&DISTINCT);
        let children: Vec<Child> = (0..8)
            .map(|_| {
                command(UNIQUE_FAILURE)
                    .arg("--database")
                    .arg(&db)
                    .arg("apply")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start migrate")
            })
            .collect();
        let runs: Vec<Run> = children
            .into_iter()
            .map(|c| Run::from(c.wait_with_output().expect("wait for migrate")))
            .collect();
        for run in &runs {
            run.expect_success();
        }
        assert_eq!(versions(&db), [1, 2, 3, 4], "round {round}");
        // Every announced backup exists, is its own file, and holds the
        // version its name says.
        let announced: Vec<PathBuf> = runs
            .iter()
            .filter(|r| r.stdout.starts_with("Backed up "))
            .map(|r| announced_backup(r, "Backed up "))
            .collect();
        let mut names: Vec<String> = announced
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, backups_in(dir.path()), "round {round}");
        // Only a process that held the lock with work to do backed up:
        // one backup per run that applied something, none for the others.
        for run in &runs {
            assert_eq!(
                run.stdout.starts_with("Backed up "),
                run.stdout.contains("Applying version"),
                "round {round}: {run}"
            );
        }
        assert!(
            (1..=2).contains(&names.len()),
            "round {round}: two migrations were pending, so at most two runs had work: {names:?}"
        );
        for bak in &announced {
            let name = bak.file_name().unwrap().to_string_lossy().into_owned();
            let (version, _, _) = parse_backup_name(&name, "chatbot.db").expect("backup name");
            assert_eq!(
                versions(bak).last().copied(),
                Some(version),
                "round {round}: {name} holds another version than its name says"
            );
            assert_eq!(integrity(bak), "ok");
        }
    }
}

#[test]
fn retries_after_a_failed_migration_keep_one_backup() {
    let (dir, db) = accounts_db(&DUPLICATES);
    let mut first = None;
    for attempt in 0..5 {
        let run = migrate(UNIQUE_FAILURE, &db, &["apply"]);
        run.expect_error(1, &db, &["migration 3", "UNIQUE constraint failed"]);
        if attempt == 0 {
            first = Some(announced_backup(&run, "Backed up "));
        } else {
            let first = first.as_ref().expect("the first attempt's backup");
            assert!(
                run.stdout.starts_with(&format!(
                    "Backed up {}: unchanged since {}, which is kept\n",
                    db.display(),
                    first.display()
                )),
                "attempt {attempt}: {run}"
            );
        }
    }
    let first = first.expect("a backup");
    assert_eq!(
        backups_in(dir.path()),
        [first.file_name().unwrap().to_string_lossy().into_owned()]
    );
    assert_eq!(versions(&first), [1, 2]);
    assert_eq!(integrity(&first), "ok");
}

#[test]
fn apply_keeps_the_newest_backups_as_many_as_configured_or_asked() {
    // keep_backups = 2 in the fixture's migrations.toml.
    let (dir, db) = temp_db();
    migrate(KEEP, &db, &["apply", "--to", "1"]).expect_success();
    let mut written = Vec::new();
    for to in ["2", "3", "4"] {
        let run = migrate(KEEP, &db, &["apply", "--to", to]);
        run.expect_success();
        written.push(announced_backup(&run, "Backed up "));
    }
    let names = |paths: &[PathBuf]| -> Vec<String> {
        let mut names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // Versions 2 and 3's copies; version 1's was removed, and said so.
    assert_eq!(backups_in(dir.path()), names(&written[1..]));
    // --keep overrides the file: 3 of 4 after the next backup.
    let run = migrate(KEEP, &db, &["apply", "--keep", "3"]);
    run.expect_success();
    written.push(announced_backup(&run, "Backed up "));
    assert_eq!(backups_in(dir.path()), names(&written[1..]));
    assert_eq!(versions(&written[3]), [1, 2, 3, 4]);
    // Another file in the directory is never counted nor removed.
    assert!(dir_entries(dir.path()).contains(&"chatbot.db".to_owned()));
}

#[test]
fn removed_backups_are_named_in_the_output() {
    let (dir, db) = temp_db();
    migrate(KEEP, &db, &["apply", "--to", "1"]).expect_success();
    let mut written = Vec::new();
    for to in ["2", "3"] {
        let run = migrate(KEEP, &db, &["apply", "--to", to]);
        written.push(announced_backup(&run, "Backed up "));
    }
    let run = migrate(KEEP, &db, &["apply", "--to", "4", "--keep", "1"]);
    run.expect_success();
    assert!(
        run.stdout.contains(&format!(
            "Removed 2 older backups: {}, {}\n",
            written[0].display(),
            written[1].display()
        )),
        "{run}"
    );
    assert_eq!(backups_in(dir.path()).len(), 1);
    for args in [&["apply", "--keep", "0"][..], &["apply", "--keep", "many"]] {
        let run = migrate(KEEP, &db, args);
        assert_eq!(run.code, Some(2), "{args:?}: {run}");
        assert!(run.stderr.contains("--keep"), "{args:?}: {run}");
    }
}

#[test]
fn leftovers_of_a_killed_backup_are_removed_and_live_ones_kept() {
    let (dir, db) = temp_db();
    migrate(LEDGER, &db, &["apply", "--to", "1"]).expect_success();
    // 999999999 is above any pid the kernel hands out: that process is gone.
    let dead = "chatbot.db.1.20260101T000000Z.bak.partial.999999999.0";
    let dead_journal = format!("{dead}-journal");
    // This test's own process is alive: its partial copy may be in use.
    let live = format!(
        "chatbot.db.1.20260101T000000Z.bak.partial.{}.0",
        std::process::id()
    );
    for name in [dead, &dead_journal, &live] {
        std::fs::write(dir.path().join(name), "half a copy").expect("a leftover");
    }
    let run = migrate(LEDGER, &db, &["apply"]);
    run.expect_success();
    let bak = announced_backup(&run, "Backed up ");
    assert_eq!(integrity(&bak), "ok");
    let mut expected = vec![
        "chatbot.db".to_owned(),
        bak.file_name().unwrap().to_string_lossy().into_owned(),
        live.clone(),
    ];
    expected.sort();
    assert_eq!(dir_entries(dir.path()), expected);
}

#[test]
fn a_process_killed_during_its_backup_leaves_no_file_named_like_a_good_backup() {
    let (dir, db) = temp_db();
    migrate(LEDGER, &db, &["apply", "--to", "1"]).expect_success();
    // Tens of megabytes, so that the copy takes long enough to be killed in.
    open(&db)
        .execute_batch(
            "INSERT INTO entries (amount, memo)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000)
             SELECT i, hex(randomblob(60)) FROM n;",
        )
        .expect("fill the ledger");
    let mut killed_mid_copy = 0;
    for delay_ms in (10..=250).step_by(20) {
        let mut child = command(LEDGER)
            .arg("--database")
            .arg(&db)
            .args(["apply"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start apply");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let entries = dir_entries(dir.path());
        if entries.iter().any(|n| n.contains(".bak.partial.")) {
            killed_mid_copy += 1;
        }
        // Anything named like a backup is a whole one: no hot journal
        // beside it (a copy cut short), and every row of version 1.
        for name in entries.iter().filter(|n| n.ends_with(".bak")) {
            let journal = format!("{name}-journal");
            assert!(
                !entries.contains(&journal),
                "killed after {delay_ms} ms: {name} is named like a good backup but was cut \
                 short (its {journal} is beside it)"
            );
            let bak = dir.path().join(name);
            assert_eq!(integrity(&bak), "ok", "killed after {delay_ms} ms: {name}");
            assert_eq!(versions(&bak), [1], "killed after {delay_ms} ms: {name}");
            assert_eq!(
                count(&bak, "SELECT count(*) FROM entries"),
                400_000,
                "{name}"
            );
        }
        if versions(&db) == [1, 2] {
            break;
        }
    }
    assert!(
        killed_mid_copy > 0,
        "no kill landed during a copy, so this test showed nothing"
    );
    // The next apply cleans the leftovers and finishes.
    migrate(LEDGER, &db, &["apply"]).expect_success();
    assert_eq!(versions(&db), [1, 2]);
    let entries = dir_entries(dir.path());
    assert!(
        !entries.iter().any(|n| n.contains(".bak.partial.")),
        "{entries:?}"
    );
    assert_eq!(integrity(&db), "ok");
}

/// A tmpfs of `megabytes` mounted on a new temporary directory, unmounted
/// when dropped. The test needs root (CI runs as root); elsewhere it fails
/// saying so rather than skip.
struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::tempdir().expect("a mount point");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a {megabytes} MB tmpfs and needs root to do so: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// A ledger at version 1 (migration 2 pending) holding about `rows` x 100
/// bytes.
fn ledger_of(db: &Path, rows: u32) {
    migrate(LEDGER, db, &["apply", "--to", "1"]).expect_success();
    open(db)
        .execute_batch(&format!(
            "INSERT INTO entries (amount, memo)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             SELECT i, hex(randomblob(40)) FROM n;"
        ))
        .expect("fill the ledger");
}

#[test]
fn a_backup_that_would_not_fit_with_room_to_spare_is_refused_and_nothing_changes() {
    // The database on a 24 MB disk, 12 MB of it: a copy would leave less
    // than the 16 MB kept free for the database.
    let disk = SmallDisk::mount(24);
    let db = disk.path().join("chatbot.db");
    ledger_of(&db, 100_000);
    let before = bytes(&db);
    let files = dir_entries(disk.path());
    let run = migrate(LEDGER, &db, &["apply"]);
    let dir = disk.path().display().to_string();
    run.expect_error(
        1,
        &db,
        &[
            "cannot write the backup: not enough free space in",
            &dir,
            "--backup-dir",
            "--no-backup",
            "nothing was changed",
        ],
    );
    assert_eq!(run.stdout, "", "{run}");
    assert_eq!(bytes(&db), before);
    assert_eq!(
        dir_entries(disk.path()),
        files,
        "nothing written, nothing left"
    );
    assert_eq!(versions(&db), [1]);
    let run = migrate(LEDGER, &db, &["--json", "apply"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("\"backup_failed\""), "{run}");
    // A database named relative to the current directory, too.
    let out = command(LEDGER)
        .current_dir(disk.path())
        .args(["--database", "chatbot.db", "apply"])
        .output()
        .expect("run apply");
    let run = Run::from(out);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("not enough free space in the current directory"),
        "{run}"
    );
    assert_eq!(dir_entries(disk.path()), files);

    // The same database elsewhere, backing up onto the small disk.
    let (_other, elsewhere) = temp_db();
    std::fs::copy(&db, &elsewhere).expect("copy the database");
    let small = SmallDisk::mount(8);
    let run = migrate(
        LEDGER,
        &elsewhere,
        &[
            "apply",
            "--backup-dir",
            small.path().to_str().expect("utf-8"),
        ],
    );
    run.expect_error(
        1,
        &elsewhere,
        &[&format!(
            "not enough free space in {}",
            small.path().display()
        )],
    );
    assert_eq!(dir_entries(small.path()), Vec::<String>::new());
    assert_eq!(versions(&elsewhere), [1]);

    // Without a backup the migration itself fits.
    migrate(LEDGER, &db, &["apply", "--no-backup"]).expect_success();
    assert_eq!(versions(&db), [1, 2]);
}

#[test]
fn a_restore_whose_copy_of_the_database_would_not_fit_is_refused_and_nothing_changes() {
    let disk = SmallDisk::mount(24);
    let db = disk.path().join("chatbot.db");
    ledger_of(&db, 100_000);
    let (_other, elsewhere) = temp_db();
    migrate(LEDGER, &elsewhere, &["apply", "--to", "1"]).expect_success();
    let bak = elsewhere.with_file_name("small.bak");
    migrate_core::backup::backup_to(&open(&elsewhere), &bak, Duration::from_secs(5))
        .expect("a small backup");
    let before = bytes(&db);
    let files = dir_entries(disk.path());
    let run = migrate(
        LEDGER,
        &db,
        &["restore", bak.to_str().expect("utf-8"), "--yes"],
    );
    run.expect_error(
        1,
        &db,
        &[
            "cannot write the backup: not enough free space in",
            "free some space first",
            "nothing was changed",
        ],
    );
    assert_eq!(run.stdout, "", "{run}");
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(disk.path()), files);
}

#[test]
fn a_migration_that_fills_the_disk_is_named_and_rolled_back_whole() {
    // Migration 2 writes about 5 MB. Less and less room is left to it, so
    // that it fails while running, while committing, or not at all.
    let disk = SmallDisk::mount(12);
    let db = disk.path().join("chatbot.db");
    migrate(SLOW, &db, &["apply", "--to", "1"]).expect_success();
    let filler = disk.path().join("filler");
    let mut failures = 0;
    let mut stages = Vec::new();
    for kilobytes in (6_000..=11_500).rev().step_by(500) {
        std::fs::write(&filler, vec![0_u8; kilobytes << 10]).expect("fill the disk");
        let run = migrate(SLOW, &db, &["apply", "--no-backup", "--to", "2"]);
        std::fs::remove_file(&filler).expect("free the space");
        if run.code == Some(0) {
            break;
        }
        failures += 1;
        stages.push(if run.stderr.contains("could not be committed") {
            "committing".to_owned()
        } else {
            "running".to_owned()
        });
        run.expect_error(
            1,
            &db,
            &[
                "migration 2 (\"Fill readings\")",
                "database or disk is full",
                "the migration was rolled back and is not recorded",
            ],
        );
        assert_eq!(versions(&db), [1], "{kilobytes} KB of filler: {run}");
        assert_eq!(count(&db, "SELECT count(*) FROM readings"), 0);
        assert_eq!(integrity(&db), "ok");
    }
    assert!(failures > 0, "the disk never filled up");
    let stages: Vec<&str> = stages.iter().map(String::as_str).collect();
    assert!(
        stages.contains(&"running") && stages.contains(&"committing"),
        "it should have failed both while running and while committing: {stages:?}"
    );
    // With the space back, the same apply finishes.
    migrate(SLOW, &db, &["apply", "--no-backup"]).expect_success();
    assert_eq!(versions(&db), [1, 2, 3]);
}

// ----------------------------------------- backups while another process writes

/// Starts the writer process on `db` and waits until it has committed once.
fn start_writer(db: &Path, stop: &Path) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = std::process::Command::new(WRITER)
        .arg(db)
        .arg(stop)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the writer");
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read the writer's output");
    assert_eq!(line, "writing\n", "the writer should have started");
    (child, out)
}

/// Stops the writer and returns how many rows it added.
fn stop_writer(
    mut child: Child,
    mut out: BufReader<std::process::ChildStdout>,
    stop: &Path,
) -> i64 {
    std::fs::write(stop, "").expect("create the stop file");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read the writer's output");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).expect("read stderr");
    }
    let status = child.wait().expect("wait for the writer");
    assert!(status.success(), "the writer failed: {status}\n{stderr}");
    rest.trim_end()
        .strip_prefix("added ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected writer output {rest:?}"))
}

/// `(count(entries), totals.entries)` of a ledger database.
fn ledger(db: &Path) -> (i64, i64) {
    (
        count(db, "SELECT count(*) FROM entries"),
        count(db, "SELECT entries FROM totals"),
    )
}

/// Rows in the ledger before the writer starts.
const PREFILLED: i64 = 20_000;

/// A new ledger database at version 1, in `journal_mode`.
fn ledger_at_version_1(db: &Path, journal_mode: &str) {
    migrate(LEDGER, db, &["apply", "--to", "1"]).expect_success();
    let mode: String = open(db)
        .query_row(&format!("PRAGMA journal_mode = {journal_mode}"), [], |r| {
            r.get(0)
        })
        .expect("set the journal mode");
    assert_eq!(mode, journal_mode);
}

/// [`PREFILLED`] rows in the ledger, some megabytes, so that copying the
/// database takes a while.
fn prefill_ledger(db: &Path) {
    open(db)
        .execute_batch(&format!(
            "BEGIN;
             INSERT INTO entries (amount, memo)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {PREFILLED})
             SELECT i, printf('%d %s', i, hex(randomblob(40))) FROM n;
             UPDATE totals SET entries = {PREFILLED};
             COMMIT;"
        ))
        .expect("fill the ledger");
}

#[test]
fn a_backup_taken_while_another_process_writes_is_consistent_and_restores() {
    for journal_mode in ["delete", "wal"] {
        let (dir, db) = temp_db();
        ledger_at_version_1(&db, journal_mode);
        prefill_ledger(&db);
        let stop = dir.path().join("stop");

        let (writer, out) = start_writer(&db, &stop);
        let at_start = ledger(&db).0;
        let apply = migrate(LEDGER, &db, &["apply"]);
        // Let the writer carry on after the migration.
        std::thread::sleep(Duration::from_millis(200));
        let added = stop_writer(writer, out, &stop);
        apply.expect_success();
        assert!(apply.stdout.contains("Applied 1 migration"), "{apply}");

        let bak = announced_backup(&apply, "Backed up ");
        assert_eq!(
            backups_in(dir.path()),
            [bak.file_name().unwrap().to_string_lossy().into_owned()]
        );
        // A snapshot of one moment while the writer ran: sound, version 1,
        // and the two tables agree (no transaction half in it).
        assert_eq!(integrity(&bak), "ok", "{journal_mode}");
        assert_eq!(versions(&bak), [1]);
        let (rows_in_backup, total_in_backup) = ledger(&bak);
        assert_eq!(rows_in_backup, total_in_backup, "{journal_mode}");
        assert_eq!(rows_in_backup % 10, 0, "{journal_mode}");
        assert!(
            rows_in_backup >= at_start,
            "{journal_mode}: the backup has {rows_in_backup} rows, the database had \
             {at_start} before apply started"
        );
        let (rows_now, total_now) = ledger(&db);
        assert_eq!(
            (rows_now, total_now),
            (PREFILLED + added, PREFILLED + added),
            "{journal_mode}"
        );
        assert!(
            rows_in_backup < rows_now,
            "{journal_mode}: the writer went on after the backup \
             ({rows_in_backup} then {rows_now} rows)"
        );
        assert_eq!(versions(&db), [1, 2]);
        assert_eq!(integrity(&db), "ok");
        let backup_bytes = bytes(&bak);

        // Put the backup back.
        let restore = migrate(
            LEDGER,
            &db,
            &["restore", bak.to_str().expect("utf-8"), "--yes"],
        );
        restore.expect_success();
        let replaced = announced_backup(&restore, "Backed up the current ");
        assert!(
            restore.stdout.ends_with(&format!(
                "Restored {} from {}\n",
                db.display(),
                bak.display()
            )),
            "{restore}"
        );
        assert_eq!(integrity(&db), "ok", "{journal_mode}");
        assert_eq!(versions(&db), [1]);
        assert_eq!(ledger(&db), (rows_in_backup, total_in_backup));
        assert_eq!(version_of(LEDGER, &db), "1");
        // The replaced database was kept, at version 2 with every row.
        let name = replaced.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            parse_backup_name(&name, "chatbot.db").map(|(v, _, _)| v),
            Some(2),
            "{name}"
        );
        assert_eq!(versions(&replaced), [1, 2]);
        assert_eq!(ledger(&replaced), (rows_now, total_now));
        assert_eq!(integrity(&replaced), "ok");
        // Restoring did not touch the backup it read.
        assert_eq!(bytes(&bak), backup_bytes);

        // And the restored database migrates again.
        migrate(LEDGER, &db, &["apply", "--no-backup"]).expect_success();
        assert_eq!(versions(&db), [1, 2]);
        assert_eq!(ledger(&db), (rows_in_backup, total_in_backup));
    }
}

#[test]
fn a_restore_while_another_process_commits_loses_no_committed_row() {
    for journal_mode in ["delete", "wal"] {
        let (dir, db) = temp_db();
        ledger_at_version_1(&db, journal_mode);
        let bak = dir.path().join("empty-ledger.bak");
        migrate_core::backup::backup_to(&open(&db), &bak, Duration::from_secs(5))
            .expect("a backup of the empty ledger");
        prefill_ledger(&db);
        let stop = dir.path().join("stop");

        let (writer, out) = start_writer(&db, &stop);
        let restore = migrate(
            LEDGER,
            &db,
            &["restore", bak.to_str().expect("utf-8"), "--yes"],
        );
        std::thread::sleep(Duration::from_millis(200));
        let added = stop_writer(writer, out, &stop);
        restore.expect_success();
        let replaced = announced_backup(&restore, "Backed up the current ");

        // Every row the writer committed is in the copy of the replaced
        // database (committed before the restore) or in the database now
        // (committed after it): none fell between the two.
        let (kept, kept_total) = ledger(&replaced);
        let (now, now_total) = ledger(&db);
        assert_eq!(kept, kept_total, "{journal_mode}: the copy is one moment");
        assert_eq!(now, now_total, "{journal_mode}");
        assert!(
            kept > PREFILLED && now > 0,
            "{journal_mode}: the writer should have committed before and after the \
             restore ({kept} rows kept, {now} rows after)"
        );
        assert_eq!(
            (kept - PREFILLED) + now,
            added,
            "{journal_mode}: {added} rows committed, {} kept, {now} after the restore",
            kept - PREFILLED
        );
        assert_eq!(integrity(&db), "ok", "{journal_mode}");
        assert_eq!(integrity(&replaced), "ok", "{journal_mode}");
    }
}

// ----------------------------------------------------------------- restore

/// `restore FILE --yes` on `db` (in `dir`) fails with `code`, naming the
/// file, saying `words` and that nothing was changed, and changes nothing.
#[track_caller]
fn refuses_to_restore(db: &Path, dir: &Path, file: &Path, code: i32, words: &[&str]) {
    let before = bytes(db);
    let files = dir_entries(dir);
    let run = migrate(
        UNIQUE_BASE,
        db,
        &["restore", file.to_str().expect("utf-8"), "--yes"],
    );
    let name = file.display().to_string();
    let mut expected = vec![name.as_str(), "nothing was changed"];
    expected.extend_from_slice(words);
    run.expect_error(code, db, &expected);
    assert_eq!(run.stdout, "", "{run}");
    assert_eq!(bytes(db), before, "{}", file.display());
    assert_eq!(dir_entries(dir), files, "{}", file.display());
}

#[test]
fn restore_refuses_what_is_not_a_backup_and_changes_nothing() {
    let (dir, db) = accounts_db(&DISTINCT);
    let others = tempfile::tempdir().expect("another directory");

    let text = others.path().join("notes.txt");
    std::fs::write(&text, "this is not a database\n".repeat(100)).expect("write text");
    let foreign = others.path().join("foreign.db");
    Connection::open(&foreign)
        .expect("create")
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .expect("a database without schema_migrations");
    let missing = others.path().join("missing.bak");
    // A backup cut short (a full disk, an interrupted copy).
    let truncated = others.path().join("truncated.bak");
    {
        let source = others.path().join("source.db");
        let (_d, full) = accounts_db(&DISTINCT);
        open(&full)
            .execute_batch(
                "INSERT INTO accounts (email)
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                 SELECT printf('user%d@example.com', i) FROM n",
            )
            .expect("fill");
        std::fs::copy(&full, &source).expect("copy");
        let whole = std::fs::read(&source).expect("read");
        std::fs::write(&truncated, &whole[..whole.len() / 2]).expect("truncate");
    }

    for (file, words) in [
        (&text, &["not an SQLite database"][..]),
        (&foreign, &["no schema_migrations table"][..]),
        (&missing, &["no such file"][..]),
        (&truncated, &["integrity check"][..]),
    ] {
        refuses_to_restore(&db, dir.path(), file, 1, words);
    }
    assert_eq!(versions(&db), [1, 2]);
}

#[test]
fn a_damaged_backup_is_refused_in_one_line_with_a_count() {
    let (dir, db) = accounts_db(&DISTINCT);
    let others = tempfile::tempdir().expect("another directory");
    let damaged = others.path().join("damaged.bak");
    {
        let (_d, full) = accounts_db(&DISTINCT);
        open(&full)
            .execute_batch(
                "INSERT INTO accounts (email)
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
                 SELECT printf('user%d-%s@example.com', i, hex(randomblob(20))) FROM n",
            )
            .expect("fill");
        let mut whole = std::fs::read(&full).expect("read");
        // Overwrite the cell pointers of ten pages in the middle: SQLite's
        // check then reports a problem per cell, hundreds of lines.
        let pages = whole.len() / 4096;
        for page in pages / 2..pages / 2 + 10 {
            whole[page * 4096 + 100..page * 4096 + 200].fill(0xff);
        }
        std::fs::write(&damaged, &whole).expect("write the damaged copy");
    }
    let before = bytes(&db);
    let files = dir_entries(dir.path());
    let run = migrate(
        UNIQUE_BASE,
        &db,
        &["restore", damaged.to_str().expect("utf-8"), "--yes"],
    );
    let name = damaged.display().to_string();
    run.expect_error(
        1,
        &db,
        &[
            &name,
            "integrity check",
            "more problems)",
            "nothing was changed",
        ],
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);
}

#[test]
fn restore_refuses_another_applications_database_unless_forced() {
    let (dir, db) = accounts_db(&DISTINCT);
    let others = tempfile::tempdir().expect("another directory");
    // A valid SQLite file with a schema_migrations table of this tool's
    // shape, written by another application: its versions 1 and 2 are not
    // ours.
    let foreign = others.path().join("other-app.db");
    migrate(LEDGER, &foreign, &["apply"]).expect_success();
    // This application's own backup, with its record edited by hand.
    let edited = others.path().join("edited.bak");
    migrate_core::backup::backup_to(&open(&db), &edited, Duration::from_secs(5)).expect("back up");
    open(&edited)
        .execute(
            "UPDATE schema_migrations SET description = 'Create carts table' WHERE version = 1",
            [],
        )
        .expect("edit the record");

    let before = bytes(&db);
    for (file, words) in [
        (
            &foreign,
            &["not a backup of this application's database", "--force"][..],
        ),
        (
            &edited,
            &["it records version 1 as \"Create carts table\"", "--force"][..],
        ),
    ] {
        refuses_to_restore(&db, dir.path(), file, 3, words);
    }
    // In JSON, with its own code.
    let run = migrate(
        UNIQUE_BASE,
        &db,
        &[
            "--json",
            "restore",
            foreign.to_str().expect("utf-8"),
            "--yes",
        ],
    );
    assert_eq!(run.code, Some(3), "{run}");
    assert!(run.stderr.contains("\"foreign_backup\""), "{run}");
    assert_eq!(bytes(&db), before);

    // --force restores it all the same, keeping the replaced database.
    let run = migrate(
        UNIQUE_BASE,
        &db,
        &[
            "restore",
            foreign.to_str().expect("utf-8"),
            "--yes",
            "--force",
        ],
    );
    run.expect_success();
    announced_backup(&run, "Backed up the current ");
    assert_eq!(ledger(&db), ledger(&foreign));
}

#[test]
fn restore_off_a_terminal_without_yes_changes_nothing() {
    let (dir, db) = accounts_db(&DISTINCT);
    migrate(UNIQUE_FAILURE, &db, &["apply"]).expect_success();
    let bak = dir.path().join(&backups_in(dir.path())[0]);
    let before = bytes(&db);
    let files = dir_entries(dir.path());

    let out = command(UNIQUE_FAILURE)
        .arg("--database")
        .arg(&db)
        .args(["restore", bak.to_str().expect("utf-8")])
        .stdin(Stdio::null())
        .output()
        .expect("run restore");
    let run = Run::from(out);
    run.expect_error(2, &db, &["--yes", "nothing was changed"]);
    assert_eq!(run.stdout, "", "{run}");
    assert_eq!(bytes(&db), before);
    assert_eq!(dir_entries(dir.path()), files);
    assert_eq!(versions(&db), [1, 2, 3, 4]);
}

// ----------------------------------------------------------------- history

#[test]
fn history_shows_how_long_each_migration_took_and_which_build_applied_it() {
    let (_dir, db) = temp_db();
    let started = Instant::now();
    migrate(SLOW, &db, &["apply"]).expect_success();
    let wall = started.elapsed();

    let run = migrate(SLOW, &db, &["history"]);
    run.expect_success();
    let mut lines = run.stdout.lines();
    let header = lines.next().expect("a header");
    for column in [
        "version",
        "applied_at (UTC)",
        "took",
        "applied by",
        "description",
    ] {
        assert!(header.contains(column), "{run}");
    }
    let recorded: Vec<(i64, f64)> = {
        let conn = open(&db);
        let mut stmt = conn
            .prepare("SELECT version, duration_ms FROM schema_migrations ORDER BY version")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("read")
    };
    let descriptions = [
        "Create readings",
        "Fill readings",
        "Index readings by label",
    ];
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), 3, "{run}");
    for ((line, (version, ms)), description) in body.iter().zip(&recorded).zip(descriptions) {
        assert!(
            line.trim_start().starts_with(&format!("{version}  ")),
            "{run}"
        );
        assert!(line.contains("  migrate-tests 0.1.0  "), "{run}");
        assert!(line.ends_with(&format!("  {description}")), "{run}");
        assert!(
            line.contains(&format!("  {ms:.1} ms  ")),
            "{line:?} vs {ms}"
        );
        assert!(is_duration(&format!("{ms:.1} ms")));
    }
    // Plausible: the migration that fills 200,000 rows took measurable time,
    // more than creating the table, and all of them less than the process.
    let (create, fill) = (recorded[0].1, recorded[1].1);
    assert!(fill >= 5.0, "filling 200,000 rows took {fill} ms?");
    assert!(fill > create, "fill {fill} ms, create {create} ms");
    let total: f64 = recorded.iter().map(|(_, ms)| ms).sum();
    assert!(
        total <= wall.as_secs_f64() * 1000.0,
        "{total} ms recorded, {wall:?} for the whole run"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 200_000);
}

// ------------------------------------------------- permissions (as nobody)

/// `bin`, copied where any user may run it, run as the unprivileged user
/// `nobody` (root ignores file modes, so permissions are tested this way).
struct AsNobody {
    _dir: TempDir,
    bin: PathBuf,
}

impl AsNobody {
    fn new(bin: &str) -> AsNobody {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a directory for the binary");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let copy = dir.path().join("migrate");
        std::fs::copy(bin, &copy).expect("copy the binary");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        AsNobody {
            _dir: dir,
            bin: copy,
        }
    }

    fn run(&self, db: &Path, args: &[&str]) -> Run {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&self.bin)
            .arg("--database")
            .arg(db)
            .args(args)
            .env_remove("MIGRATE_DATABASE")
            .stdin(Stdio::null())
            .output()
            .expect("run setpriv (util-linux)");
        Run::from(out)
    }
}

/// A directory with `mode` holding `chatbot.db` at version 10 of the
/// repository's history (5 pending for the full build), itself with `file_mode`.
fn database_with_modes(dir_mode: u32, file_mode: u32) -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("chatbot.db");
    migrate(env!("CARGO_BIN_EXE_fixture-first10"), &db, &["apply"]).expect_success();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(file_mode)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode)).expect("chmod");
    (dir, db)
}

#[test]
fn a_database_the_user_cannot_write_is_refused_before_any_backup_or_statement() {
    let nobody = AsNobody::new(env!("CARGO_BIN_EXE_fixture-repo"));
    let backups = tempfile::tempdir().expect("a backup directory");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(backups.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
    }
    let backup_dir = backups.path().to_str().expect("utf-8").to_owned();
    // A read-only file in a writable directory; a writable file in a
    // directory the user cannot write in (no journal can be created).
    for (dir_mode, file_mode, what) in [
        (0o777, 0o444, "read-only file"),
        (0o755, 0o666, "read-only directory"),
    ] {
        let (dir, db) = database_with_modes(dir_mode, file_mode);
        let before = bytes(&db);
        let files = dir_entries(dir.path());
        for args in [
            &["apply"][..],
            &["apply", "--backup-dir", &backup_dir],
            &["apply", "--no-backup"],
            &["apply", "--single-transaction"],
            &["apply", "--dry-run"],
        ] {
            let run = nobody.run(&db, args);
            run.expect_error(
                1,
                &db,
                &[
                    "the database is read-only",
                    "permissions",
                    "nothing was changed",
                ],
            );
            assert!(
                !run.stderr.contains("migration 11"),
                "{what} {args:?}: {run}"
            );
            assert_eq!(run.stdout, "", "{what} {args:?}: {run}");
            assert_eq!(bytes(&db), before, "{what} {args:?}");
            assert_eq!(dir_entries(dir.path()), files, "{what} {args:?}");
            assert_eq!(
                dir_entries(backups.path()),
                Vec::<String>::new(),
                "{what} {args:?}: no backup of a database that cannot be migrated"
            );
        }
        // Reading still works.
        let run = nobody.run(&db, &["version"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (Some(0), "10\n"),
            "{what}: {run}"
        );
        let run = nobody.run(&db, &["--json", "apply", "--no-backup"]);
        assert!(run.stderr.contains("\"read_only\""), "{what}: {run}");
    }
}
