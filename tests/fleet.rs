//! Fleets: `--databases` and `--databases-from` running the built binary
//! over hundreds of real SQLite files in a temporary directory.
//!
//! The 200-tenant fleet is at version 2 of `unique-failure.toml`, whose
//! migration 3 adds a UNIQUE index, with four tenants that cannot be
//! migrated: one whose data breaks the index, one that is not SQLite, one
//! migrated by a newer build, and one locked by another connection.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use migrate_core::Migrations;
use migrate_tests::rusqlite::Connection;
use migrate_tests::{Run, bytes, column_names, command, integrity, open, tables, versions};
use serde_json::Value;
use tempfile::TempDir;

const UNIQUE_FAILURE: &str = env!("CARGO_BIN_EXE_fixture-unique-failure");
const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");
const DOWN: &str = env!("CARGO_BIN_EXE_fixture-down");

const TENANTS: usize = 200;
/// The tenant whose accounts share an email: migration 3 fails on it.
const DUPLICATE: usize = 50;
/// A text file named like a database.
const NOT_SQLITE: usize = 100;
/// A database at version 5, one this build (1 to 4) does not have.
const AHEAD: usize = 120;
/// Held by another connection's write transaction during the run.
const LOCKED: usize = 150;

fn tenant(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("tenant-{i:03}.db"))
}

/// `bin ARGS…` run in `dir`, as a user runs it over a fleet there.
fn run_in(bin: &str, dir: &Path, args: &[&str]) -> Run {
    let out = command(bin)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    Run::from(out)
}

/// The fleet: 200 tenants at version 2, with the four that fail.
fn fleet() -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = Migrations::from_toml(
        include_str!("fixtures/unique-base.toml"),
        "unique-base.toml",
    )
    .expect("unique-base.toml is valid");
    let template = dir.path().join("template.sqlite");
    base.apply_to_path(&template).expect("migrate the template");
    for i in 0..TENANTS {
        std::fs::copy(&template, tenant(dir.path(), i)).expect("copy the template");
    }
    std::fs::remove_file(&template).expect("remove the template");
    open(&tenant(dir.path(), DUPLICATE))
        .execute_batch(
            "INSERT INTO accounts (email) VALUES ('ann@example.com'), ('ann@example.com')",
        )
        .expect("insert duplicates");
    std::fs::write(
        tenant(dir.path(), NOT_SQLITE),
        "name,email\nann,ann@example.com\n".repeat(20),
    )
    .expect("write a text file");
    let newer = format!(
        "{}\n[[migration]]\nversion = 5\ndescription = \"From a newer build\"\n\
         sql = \"CREATE TABLE newer (x)\"\n",
        include_str!("fixtures/unique-failure.toml")
    );
    let newer = Migrations::from_toml(&newer, "newer.toml").expect("the newer list is valid");
    let ahead = tenant(dir.path(), AHEAD);
    std::fs::remove_file(&ahead).expect("remove");
    newer
        .apply_to_path(&ahead)
        .expect("migrate the newer tenant");
    dir
}

/// Holds a write transaction on `db` until dropped.
fn lock(db: &Path) -> Connection {
    let conn = open(db);
    conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO account_notes VALUES (NULL, 'held')")
        .expect("take the write lock");
    conn
}

/// The fleet's exit code, summary and stderr, as a user sees them.
fn apply(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "--databases",
        "tenant-*.db",
        "--busy-timeout",
        "0.3",
        "apply",
    ];
    args.extend_from_slice(extra);
    run_in(UNIQUE_FAILURE, dir, &args)
}

fn version_of(db: &Path) -> i64 {
    versions(db).last().copied().unwrap_or(0)
}

/// The four tenants that cannot be migrated, with their bytes.
fn failing(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    [DUPLICATE, NOT_SQLITE, AHEAD, LOCKED]
        .iter()
        .map(|i| {
            let p = tenant(dir, *i);
            let b = bytes(&p);
            (p, b)
        })
        .collect()
}

#[test]
fn by_default_the_first_failure_stops_the_fleet_and_a_rerun_goes_on() {
    let dir = fleet();
    let before = failing(dir.path());
    let run = apply(dir.path(), &["-j", "1"]);
    run.expect_code(1);
    assert_eq!(run.stderr, "", "{run}");
    let skipped = TENANTS - DUPLICATE - 1;
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: {DUPLICATE} succeeded, 1 failed, {skipped} skipped\n  \
             {DUPLICATE} at version 4\nFailed (1):\n  tenant-050.db: migration 3 \
             (\"Make account emails unique\") failed at statement 3"
        )),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("UNIQUE constraint failed: accounts.email"),
        "{run}"
    );
    assert!(
        run.stdout.contains(&format!(
            "Skipped ({skipped}), not started after the first failure (--keep-going goes on):\n  \
             tenant-051.db\n"
        )),
        "{run}"
    );
    assert!(
        run.stdout
            .ends_with(&format!("  ... and {} more\n", skipped - 20)),
        "{run}"
    );
    for i in 0..TENANTS {
        let db = tenant(dir.path(), i);
        match i {
            NOT_SQLITE | AHEAD => {}
            i if i < DUPLICATE => assert_eq!(version_of(&db), 4, "{}", db.display()),
            _ => assert_eq!(version_of(&db), 2, "{}", db.display()),
        }
    }
    // The failed tenant is as it was: migration 3 rolled back whole.
    assert_eq!(bytes(&before[0].0), before[0].1);
    assert_eq!(column_names(&before[0].0, "accounts"), ["id", "email"]);

    // The user fixes the data; the rerun goes on where it stopped, to the
    // next failure, the text file.
    open(&tenant(dir.path(), DUPLICATE))
        .execute_batch("DELETE FROM accounts WHERE id = 2")
        .expect("fix the duplicate");
    let run = apply(dir.path(), &["-j", "1"]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: {} succeeded, 1 failed, {} skipped\n",
            NOT_SQLITE,
            TENANTS - NOT_SQLITE - 1
        )),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "  tenant-100.db: file is not an SQLite database (or is encrypted or damaged); \
             nothing was changed (exit 1)\n"
        ),
        "{run}"
    );
    assert_eq!(version_of(&tenant(dir.path(), DUPLICATE)), 4);
    assert_eq!(version_of(&tenant(dir.path(), NOT_SQLITE + 1)), 2);
}

#[test]
fn keep_going_tries_every_tenant_reports_each_failure_and_changes_none_of_them() {
    let dir = fleet();
    let before = failing(dir.path());
    // After reading the bytes: closing any descriptor of a file drops every
    // POSIX lock this process holds on it, SQLite's too.
    let held = lock(&tenant(dir.path(), LOCKED));
    let run = apply(dir.path(), &["--keep-going", "-j", "4"]);
    // The worst of 1 (data, not SQLite), 3 (ahead) and 4 (locked).
    run.expect_code(1);
    let ok = TENANTS - 4;
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: {ok} succeeded, 4 failed\n  {ok} at version 4\n\
             Failed (4):\n"
        )),
        "{run}"
    );
    let failed: Vec<&str> = run.stdout.lines().skip(3).collect();
    assert_eq!(failed.len(), 4, "{run}");
    let line = |name: &str| {
        failed
            .iter()
            .find(|l| l.starts_with(&format!("  {name}: ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{run}"))
            .to_string()
    };
    assert!(
        line("tenant-050.db").contains("UNIQUE constraint failed"),
        "{run}"
    );
    assert!(line("tenant-050.db").ends_with("(exit 1)"), "{run}");
    assert!(
        line("tenant-100.db").contains("not an SQLite database"),
        "{run}"
    );
    assert!(line("tenant-120.db").contains("version 5"), "{run}");
    assert!(line("tenant-120.db").ends_with("(exit 3)"), "{run}");
    assert!(line("tenant-150.db").contains("locked"), "{run}");
    assert!(line("tenant-150.db").ends_with("(exit 4)"), "{run}");
    drop(held);
    for (path, was) in &before {
        if *path == tenant(dir.path(), LOCKED) {
            // Its bytes hold the rolled-back write of the lock holder.
            assert_eq!(version_of(path), 2);
        } else {
            assert_eq!(&bytes(path), was, "{} changed", path.display());
        }
    }
    // Every migrated tenant has its own backup, of its version 2, next to it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for i in [0, 49, 51, 199] {
        let prefix = format!("tenant-{i:03}.db.2.");
        assert_eq!(
            names.iter().filter(|n| n.starts_with(&prefix)).count(),
            1,
            "{i}: {names:?}"
        );
    }

    // Released and fixed, a rerun finishes them; what cannot be is said again.
    open(&tenant(dir.path(), DUPLICATE))
        .execute_batch("DELETE FROM accounts WHERE id = 2")
        .expect("fix the duplicate");
    let run = apply(dir.path(), &["--keep-going"]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: {} succeeded, 2 failed\n  {} at version 4\n",
            TENANTS - 2,
            TENANTS - 2
        )),
        "{run}"
    );
    assert_eq!(version_of(&tenant(dir.path(), LOCKED)), 4);
    assert_eq!(version_of(&tenant(dir.path(), DUPLICATE)), 4);
}

#[test]
fn a_failing_canary_stops_the_fleet_before_any_other_tenant() {
    let dir = fleet();
    // Tenant 1 is a canary that fails, even with --keep-going.
    std::fs::copy(tenant(dir.path(), DUPLICATE), tenant(dir.path(), 1)).expect("copy");
    let run = apply(dir.path(), &["--canary", "3", "--keep-going", "-j", "4"]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: 2 succeeded, 1 failed, {} skipped\n",
            TENANTS - 3
        )),
        "{run}"
    );
    assert!(
        run.stdout.contains(&format!(
            "Skipped ({}), not started because a canary failed:\n  tenant-003.db\n",
            TENANTS - 3
        )),
        "{run}"
    );
    assert_eq!(version_of(&tenant(dir.path(), 0)), 4);
    assert_eq!(version_of(&tenant(dir.path(), 1)), 2);
    assert_eq!(version_of(&tenant(dir.path(), 2)), 4);
    for i in 3..TENANTS {
        if ![NOT_SQLITE, AHEAD].contains(&i) {
            assert_eq!(version_of(&tenant(dir.path(), i)), 2, "tenant {i}");
        }
    }

    // Canaries that pass: the fleet goes on (and stops at tenant 50).
    std::fs::copy(tenant(dir.path(), 2), tenant(dir.path(), 1)).expect("copy");
    let run = apply(dir.path(), &["--canary", "5", "-j", "1"]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: {DUPLICATE} succeeded, 1 failed, {} skipped\n",
            TENANTS - DUPLICATE - 1
        )),
        "{run}"
    );
}

/// `n` paths of new databases in `dir`, none created yet.
fn new_fleet(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n).map(|i| dir.join(format!("t{i:03}.db"))).collect()
}

fn list_file(dir: &Path, name: &str, paths: &[PathBuf]) -> PathBuf {
    let file = dir.join(name);
    let text: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(&file, text).expect("write the list");
    file
}

#[test]
fn two_fleet_runs_over_overlapping_sets_apply_every_migration_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = new_fleet(dir.path(), 80);
    let a = list_file(dir.path(), "a.txt", &paths[..55]);
    let b = list_file(dir.path(), "b.txt", &paths[25..]);
    let spawn = |list: &Path| {
        command(REPO)
            .arg("--databases-from")
            .arg(list)
            .args(["--json", "-j", "3", "apply", "--no-backup"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn migrate")
    };
    let (first, second) = (spawn(&a), spawn(&b));
    let runs = [first, second].map(|c| Run::from(c.wait_with_output().expect("wait")));
    let mut applied = std::collections::BTreeMap::<String, Vec<u64>>::new();
    for run in &runs {
        run.expect_code(0);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
        for entry in doc["databases"].as_array().expect("databases") {
            let versions = entry["result"]["applied"].as_array().expect("applied");
            applied
                .entry(entry["database"].as_str().expect("path").to_owned())
                .or_default()
                .extend(
                    versions
                        .iter()
                        .map(|v| v["version"].as_u64().expect("version")),
                );
        }
    }
    assert_eq!(applied.len(), 80);
    for (db, mut done) in applied {
        done.sort_unstable();
        assert_eq!(done, (1..=15).collect::<Vec<_>>(), "{db}");
        assert_eq!(
            versions(Path::new(&db)),
            (1..=15).collect::<Vec<_>>(),
            "{db}"
        );
    }
}

#[test]
fn a_fleet_killed_midway_is_finished_by_the_next_run_with_every_database_consistent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = new_fleet(dir.path(), 150);
    let list = list_file(dir.path(), "fleet.txt", &paths);
    let mut child = command(REPO)
        .arg("--databases-from")
        .arg(&list)
        .args(["-j", "2", "apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn migrate");
    let started = Instant::now();
    while paths.iter().filter(|p| p.exists()).count() < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the fleet run made no progress"
        );
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the fleet finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL migrate");
    child.wait().expect("reap migrate");
    let touched = paths.iter().filter(|p| p.exists()).count();
    assert!(touched < paths.len(), "killed after the end");

    let run = run_in(
        REPO,
        dir.path(),
        &["--databases-from", "fleet.txt", "apply"],
    );
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("apply on 150 databases: 150 succeeded\n  150 at version 15\n"),
        "{run}"
    );
    // Consistent: schema and record agree with the build everywhere.
    let check = run_in(
        REPO,
        dir.path(),
        &["--databases-from", "fleet.txt", "check"],
    );
    check.expect_code(0);
    assert_eq!(
        check.stdout,
        "check on 150 databases: 150 succeeded\n  150 at version 15\n"
    );
    for p in &paths {
        assert_eq!(integrity(p), "ok", "{}", p.display());
        assert_eq!(versions(p), (1..=15).collect::<Vec<_>>(), "{}", p.display());
    }
}

#[test]
fn json_is_one_document_with_a_result_per_database_and_the_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = new_fleet(dir.path(), 3);
    let text = "not a database at all, just some text here";
    // Empty files are empty databases.
    for p in &paths {
        std::fs::write(p, "").expect("write");
    }
    std::fs::write(&paths[1], text).expect("write");
    let run = run_in(
        REPO,
        dir.path(),
        &["--databases", "t*.db", "--json", "--keep-going", "apply"],
    );
    run.expect_code(1);
    assert_eq!(run.stderr, "", "{run}");
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert_eq!(doc["command"], "apply");
    let dbs = doc["databases"].as_array().expect("databases");
    assert_eq!(dbs.len(), 3);
    let by_name = |name: &str| {
        dbs.iter()
            .find(|d| d["database"] == name)
            .unwrap_or_else(|| panic!("no {name} in {doc}"))
    };
    let ok = by_name("t000.db");
    assert_eq!(ok["outcome"], "succeeded");
    assert_eq!(ok["exit_code"], 0);
    assert_eq!(ok["result"]["version"], 15);
    assert_eq!(ok["result"]["applied"].as_array().map(Vec::len), Some(15));
    let bad = by_name("t001.db");
    assert_eq!(bad["outcome"], "failed");
    assert_eq!(bad["exit_code"], 1);
    assert_eq!(bad["error"]["code"], "not_a_database");
    assert!(bad.get("result").is_none());
    let summary = &doc["summary"];
    assert_eq!(
        summary,
        &serde_json::json!({
            "databases": 3, "succeeded": 2, "failed": 1, "drifted": 0, "would_fail": 0,
            "skipped": 0, "versions": {"15": 2}, "stopped": null, "problem": null, "exit_code": 1,
        })
    );
    // Streamed: one line per database between the opening and the summary.
    assert_eq!(run.stdout.lines().count(), 5, "{run}");

    // Without --keep-going, the ones after the first failure are skipped.
    std::fs::write(&paths[0], text).expect("write");
    let run = run_in(
        REPO,
        dir.path(),
        &["--databases", "t*.db", "--json", "-j", "1", "apply"],
    );
    run.expect_code(1);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert_eq!(doc["databases"][0]["outcome"], "failed");
    for (i, name) in [(1, "t001.db"), (2, "t002.db")] {
        assert_eq!(
            doc["databases"][i],
            serde_json::json!({"database": name, "outcome": "skipped"})
        );
    }
    assert_eq!(doc["summary"]["stopped"], "after_failure");
    assert_eq!(doc["summary"]["skipped"], 2);
}

#[test]
fn databases_from_stdin_and_read_commands_over_the_fleet() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = new_fleet(dir.path(), 4);
    for p in &paths[..3] {
        run_in(
            REPO,
            dir.path(),
            &["--database", p.to_str().expect("utf-8"), "apply"],
        )
        .expect_code(0);
    }
    let conn = open(&paths[2]);
    conn.execute_batch("CREATE TABLE extra (x)").expect("drift");
    drop(conn);
    let mut child = command(REPO)
        .current_dir(dir.path())
        .args(["--databases-from", "-", "-j", "1", "check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"t000.db\n\nt001.db\r\nt002.db\nt003.db\n")
        .expect("write the list");
    let run = Run::from(child.wait_with_output().expect("wait"));
    // check changes nothing and goes through every database; drift is 3.
    run.expect_code(3);
    assert_eq!(
        run.stdout,
        "check on 4 databases: 2 succeeded, 2 drifted\n  3 at version 15\n  1 at version 0\n\
         Drifted (2), differ from this build:\n  \
         t002.db: 0 pending, 0 problem(s), 1 schema difference(s)\n  \
         t003.db: 15 pending, 0 problem(s), 0 schema difference(s)\n",
        "{run}"
    );
    assert!(!paths[3].exists(), "check creates nothing");

    let run = run_in(REPO, dir.path(), &["--databases", "t00[01].db", "version"]);
    run.expect_success();
    assert_eq!(
        run.stdout,
        "version on 2 databases: 2 succeeded\n  2 at version 15\n"
    );
}

#[test]
fn a_pattern_that_matches_nothing_is_a_one_line_error_and_runs_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.db"), "").expect("write");
    let run = run_in(
        REPO,
        dir.path(),
        &[
            "--databases",
            "a.db",
            "--databases",
            "tenants/*.db",
            "apply",
        ],
    );
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "migrate: error: --databases tenants/*.db: no file matches; check the pattern (quoted, \
         relative to the current directory); nothing was changed\n"
    );
    assert_eq!(
        bytes(&dir.path().join("a.db")),
        Some(Vec::new()),
        "a.db was not run"
    );

    for (args, message) in [
        (
            &["--databases-from", "missing.txt", "apply"][..],
            "migrate: error: --databases-from missing.txt: cannot read it: No such file or \
             directory (os error 2); nothing was changed\n",
        ),
        (
            &["--databases", "[", "status"][..],
            "migrate: error: --databases [: not a valid pattern: Pattern syntax error near \
             position 0: invalid range pattern; nothing was changed\n",
        ),
        (
            &["--databases", "a.db", "--database", "a.db", "status"][..],
            "migrate: error: --database names one database and --databases or \
             --databases-from a fleet: give one or the other\n",
        ),
        (
            &["--databases", "a.db", "repair", "--yes"][..],
            "migrate: error: --databases and --databases-from work with status, version, \
             history, check, apply, down and redo\n",
        ),
        (
            &["--database", "a.db", "--canary", "2", "apply"][..],
            "migrate: error: --canary needs a fleet: add --databases PATTERN or \
             --databases-from FILE\n",
        ),
    ] {
        let run = run_in(REPO, dir.path(), args);
        run.expect_code(2);
        assert_eq!(run.stderr, message, "{args:?}");
    }
    std::fs::write(dir.path().join("empty.txt"), "\n\n").expect("write");
    let run = run_in(
        REPO,
        dir.path(),
        &["--databases-from", "empty.txt", "status"],
    );
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "migrate: error: --databases-from empty.txt: lists no database (one path per line); \
         nothing was changed\n"
    );
    assert_eq!(bytes(&dir.path().join("a.db")), Some(Vec::new()));
}

#[test]
fn down_over_a_fleet_asks_once_and_rolls_each_database_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = new_fleet(dir.path(), 5);
    for p in &paths {
        run_in(
            DOWN,
            dir.path(),
            &["--database", p.to_str().expect("utf-8"), "apply"],
        )
        .expect_code(0);
    }
    let latest = version_of(&paths[0]);
    let run = run_in(DOWN, dir.path(), &["--databases", "t*.db", "down"]);
    run.expect_code(2);
    assert!(run.stderr.contains("pass --yes"), "{run}");
    assert!(paths.iter().all(|p| version_of(p) == latest));

    let run = run_in(
        DOWN,
        dir.path(),
        &["--databases", "t*.db", "down", "--yes", "--no-backup"],
    );
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "down on 5 databases: 5 succeeded\n  5 at version {}\n",
            latest - 1
        )
    );
    assert!(paths.iter().all(|p| version_of(p) == latest - 1));
}

#[test]
fn a_shared_backup_dir_refuses_a_second_database_of_the_same_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        let db = dir.path().join(sub).join("app.db");
        Connection::open(&db)
            .and_then(|c| c.execute_batch("CREATE TABLE notes (x)"))
            .expect("create");
    }
    std::fs::create_dir(dir.path().join("backups")).expect("mkdir");
    let run = run_in(
        REPO,
        dir.path(),
        &[
            "--databases",
            "*/app.db",
            "-j",
            "1",
            "--keep-going",
            "apply",
            "--backup-dir",
            "backups",
        ],
    );
    run.expect_code(2);
    assert!(
        run.stdout.contains(
            "b/app.db: another database of the fleet has the file name app.db, and both would \
             back up into backups"
        ),
        "{run}"
    );
    assert_eq!(version_of(&dir.path().join("a/app.db")), 15);
    assert_eq!(tables(&dir.path().join("b/app.db")), ["notes"]);
}

#[test]
fn a_dry_run_goes_through_the_whole_fleet_and_changes_nothing_then_to_stops_at_a_version() {
    let dir = fleet();
    let before: Vec<Option<Vec<u8>>> = (0..TENANTS)
        .map(|i| bytes(&tenant(dir.path(), i)))
        .collect();
    // Read-only: no stop after the first failure, no --keep-going needed.
    let run = apply(dir.path(), &["--dry-run"]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: {} succeeded, 2 failed, 1 would fail\n",
            TENANTS - 3
        )),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "Would fail (1):\n  tenant-050.db: version 3 would fail: migration 3 (\"Make account \
             emails unique\") failed at statement 3"
        ),
        "{run}"
    );
    let after: Vec<Option<Vec<u8>>> = (0..TENANTS)
        .map(|i| bytes(&tenant(dir.path(), i)))
        .collect();
    assert!(before == after, "a dry run changed a tenant");

    let run = apply(dir.path(), &["--to", "3", "--keep-going", "--no-backup"]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "apply on {TENANTS} databases: {} succeeded, 3 failed\n  {} at version 3\n",
            TENANTS - 3,
            TENANTS - 3
        )),
        "{run}"
    );
    assert_eq!(versions(&tenant(dir.path(), 0)), [1, 2, 3]);
    let history = run_in(
        UNIQUE_FAILURE,
        dir.path(),
        &["--databases", "tenant-00*.db", "history"],
    );
    history.expect_success();
    assert_eq!(
        history.stdout,
        "history on 10 databases: 10 succeeded\n  10 at version 3\n"
    );
}
