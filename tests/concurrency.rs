//! Several `migrate apply` processes on one file at the same moment, and a
//! process killed in the middle of a migration.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use migrate_tests::{Run, column_names, command, count, integrity, migrate, tables, versions};

const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");
const FIRST10: &str = env!("CARGO_BIN_EXE_fixture-first10");
const LONG: &str = env!("CARGO_BIN_EXE_fixture-long");

const PROCESSES: usize = 8;

fn spawn_apply(bin: &str, db: &Path) -> Child {
    command(bin)
        .arg("--database")
        .arg(db)
        .arg("apply")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"))
}

/// Starts `PROCESSES` applies of the repository's migrations on `db`, all
/// before waiting for any, and collects what each did.
fn race(db: &Path) -> Vec<Run> {
    let children: Vec<Child> = (0..PROCESSES).map(|_| spawn_apply(REPO, db)).collect();
    children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait for migrate")))
        .collect()
}

/// Asserts that a race over a database that was at version `start` went
/// right: every process succeeded quietly, every pending migration was
/// applied by exactly one of them, and the database holds the final schema.
fn check_race(runs: &[Run], db: &Path, start: u32) {
    let all = runs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for run in runs {
        run.expect_success();
        assert!(!run.stdout.contains("locked"), "{run}");
        let last = run.stdout.lines().last().unwrap_or_default();
        assert!(
            last.ends_with(&format!("{} is now at version 15.", db.display()))
                || last == format!("Nothing to apply: {} is at version 15.", db.display()),
            "unexpected summary:\n{run}"
        );
    }
    for v in 1..=15 {
        let appliers = runs
            .iter()
            .filter(|r| r.stdout.contains(&format!("Applying version {v}: ")))
            .count();
        let expected = usize::from(v > start);
        assert_eq!(
            appliers, expected,
            "version {v} was applied by {appliers} processes:\n{all}"
        );
    }
    assert_eq!(versions(db), (1..=15).collect::<Vec<_>>());
    assert_eq!(
        count(db, "SELECT count(DISTINCT version) FROM schema_migrations"),
        15
    );
    assert_eq!(
        tables(db),
        [
            "messages",
            "schema_migrations",
            "tickets",
            "user_sessions",
            "user_tags",
            "users"
        ]
    );
    assert_eq!(
        column_names(db, "users"),
        [
            "id",
            "gender",
            "age_range",
            "handler",
            "created_at",
            "language",
            "phone_verified",
            "timezone",
            "notification_enabled",
            "email_verified",
        ]
    );
    assert_eq!(integrity(db), "ok");
}

fn fresh_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("chatbot.db");
    (dir, db)
}

#[test]
fn eight_processes_apply_to_a_fresh_file_at_once() {
    for round in 0..5 {
        let (_dir, db) = fresh_db();
        let runs = race(&db);
        eprintln!("checking round {round}");
        check_race(&runs, &db, 0);
    }
}

#[test]
fn eight_processes_apply_to_a_partly_or_fully_migrated_file_at_once() {
    for round in 0..3 {
        let (_dir, db) = fresh_db();
        migrate(FIRST10, &db, &["apply"]).expect_success();
        open_and_add_a_user(&db);
        let runs = race(&db);
        eprintln!("checking round {round}");
        check_race(&runs, &db, 10);
        assert_eq!(count(&db, "SELECT count(*) FROM messages"), 1);
    }
    // Everything applied already: all eight find nothing to do.
    let (_dir, db) = fresh_db();
    migrate(REPO, &db, &["apply"]).expect_success();
    let before = std::fs::read(&db).expect("read");
    let runs = race(&db);
    check_race(&runs, &db, 15);
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

fn open_and_add_a_user(db: &Path) {
    migrate_tests::open(db)
        .execute_batch(
            "INSERT INTO users (id, gender) VALUES ('u1', 'f');
             INSERT INTO messages (_from, content) VALUES ('u1', 'hi');",
        )
        .expect("insert a user");
}

#[test]
fn a_process_killed_mid_migration_leaves_nothing_and_the_next_apply_finishes() {
    let (dir, db) = fresh_db();
    let journal = dir.path().join("chatbot.db-journal");
    let mut child = spawn_apply(LONG, &db);

    // Wait until migration 2 has started...
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut seen = Vec::new();
    let mut buf = [0_u8; 256];
    while !String::from_utf8_lossy(&seen).contains("Applying version 2: Fill samples ... ") {
        let n = stdout.read(&mut buf).expect("read migrate's stdout");
        assert!(
            n > 0,
            "migrate ended before migration 2 started: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // ...and has written into the database file itself (its page cache
    // spilled), so the file on disk is half-way between two states.
    let started = Instant::now();
    loop {
        let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        if journal.exists() && size > 1 << 20 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "migration 2 never wrote to the file (size {size}, journal {})",
            journal.exists()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().expect("poll migrate").is_none(),
        "migration 2 finished before it could be interrupted; make it longer"
    );
    child.kill().expect("SIGKILL migrate");
    let status = child.wait().expect("reap migrate");
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{status:?}"
    );
    assert!(
        journal.exists(),
        "the killed process should leave a hot journal"
    );

    // What a user does next: look at the database. The hot journal must not
    // stop a read command, and the interrupted migration left nothing.
    let version = migrate(LONG, &db, &["version"]);
    version.expect_success();
    assert_eq!(version.stdout, "1\n");
    let status = migrate(LONG, &db, &["status"]);
    status.expect_success();
    assert!(
        status
            .stdout
            .contains("Pending (1):\n      2  Fill samples\n"),
        "{status}"
    );

    assert_eq!(integrity(&db), "ok");
    assert_eq!(versions(&db), [1]);
    assert_eq!(count(&db, "SELECT count(*) FROM samples"), 0);

    // And the next apply runs migration 2 to the end.
    let again = migrate(LONG, &db, &["apply"]);
    again.expect_success();
    // A backup of version 1 (the interrupted migration rolled back) first.
    assert!(again.stdout.starts_with("Backed up "), "{again}");
    assert!(
        again
            .stdout
            .contains("\nApplying version 2: Fill samples ... done"),
        "{again}"
    );
    assert!(!again.stdout.contains("Applying version 1"), "{again}");
    assert_eq!(versions(&db), [1, 2]);
    assert_eq!(count(&db, "SELECT count(*) FROM samples"), 3_000_000);
    assert_eq!(count(&db, "SELECT max(n) FROM samples"), 3_000_000);
    assert_eq!(integrity(&db), "ok");
    assert!(!journal.exists());
}
