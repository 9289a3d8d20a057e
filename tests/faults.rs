//! The fault campaign: a disk that fails, and a process killed, at every
//! moment of `apply` (a transaction per migration, or one for all), of the
//! backup `apply` takes first, and of `restore`.
//!
//! I/O errors come from an LD_PRELOAD shim (tests/fixtures/faultshim.c,
//! compiled here with `cc`) that numbers the writes and the syncs the
//! process makes to the files of the database's directory and fails the
//! Nth with EIO or ENOSPC. A first run only counts, so every N of the
//! operation is known; then each N (or a spread, always with the first and
//! last few) runs once with the fault; also with every write from the Nth
//! on failing (a disk that stays broken, so that SQLite cannot roll back
//! and leaves a hot journal). Kills are SIGKILLs after a random delay (a
//! seeded RNG; the seed is printed, `FAULTS_SEED` repeats it) spread over
//! the operation's measured duration.
//!
//! After every run the database, opened as an application would (a hot
//! journal rolled back), must pass `PRAGMA integrity_check` and
//! `foreign_key_check`; each migration must be either applied and recorded
//! or neither; the ledger must hold every entry; the command must have said
//! in one line what failed (or succeeded, when the fault did not matter),
//! consistently with what the database holds; any file named like a good
//! backup must be one; and running the command again, without the fault,
//! must finish with every row there.
//!
//! `cargo test -p migrate-tests --test faults -- --nocapture` prints, per
//! operation and fault class, how many runs failed and how; with
//! `FAULTS_VERBOSE=1`, every run. Each problem found comes with the command
//! that repeats it alone: `FAULTS_JOURNAL=delete|wal`, `FAULTS_AT=write:N`
//! (or `sync:N`, or `write+:N` for every write from the Nth on) and
//! `FAULTS_ERRNO=EIO|ENOSPC` run one fault instead of the campaign;
//! `FAULTS_SEED` repeats the kills' delays.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use migrate_tests::rusqlite::{Connection, OpenFlags};
use migrate_tests::{Run, command, dir_entries};
use tempfile::TempDir;

const FAULTS: &str = env!("CARGO_BIN_EXE_fixture-faults");

/// The last version of tests/fixtures/faults.toml.
const LATEST: i64 = 5;
const ACCOUNTS: i64 = 20;
/// Entries in the ledger before it is migrated (about 650 KB), so that a
/// migration writes hundreds of pages; with the 400 KB page cache migration
/// 2 sets, the backfill and the rebuild write into the database file before
/// they commit.
const ENTRIES: i64 = 6_000;
/// Entries added after migrating, in the database `restore` replaces.
const EXTRA: i64 = 100;
const DB_NAME: &str = "ledger.db";

/// At most this many values of N per operation, journal mode and fault class.
const MAX_SPREAD: usize = 60;
/// The first and last few N are always tried.
const EDGE: u64 = 5;
/// Values of N for a disk that stays broken (every write from the Nth on).
const STICKY: u64 = 16;

// ------------------------------------------------------------------ the shim

/// The fault shim, compiled once per test process into the target's
/// temporary directory.
fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/faultshim.c");
        let cc = std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("cc"))
                    .find(|p| p.is_file())
            })
            .unwrap_or_else(|| {
                panic!(
                    "tests/faults.rs compiles its fault injector {} with `cc`, and there is no \
                     `cc` on PATH: install a C compiler (gcc)",
                    source.display()
                )
            });
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(dir).expect("create CARGO_TARGET_TMPDIR");
        let building = dir.join(format!("faultshim.so.{}", std::process::id()));
        let out = Command::new(&cc)
            .args([
                "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
            ])
            .arg(&building)
            .arg(&source)
            .arg("-ldl")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", cc.display()));
        assert!(
            out.status.success(),
            "{} failed to compile {}:\n{}",
            cc.display(),
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // Renamed into place, so that test processes running at once each
        // load a whole file.
        let so = dir.join("faultshim.so");
        std::fs::rename(&building, &so).expect("move the shim into place");
        so
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// write, pwrite, pwrite64, writev, pwritev
    Write,
    /// fsync, fdatasync
    Sync,
}

#[derive(Clone, Copy, Debug)]
struct Fault {
    class: Class,
    /// 1-based number of the call of `class` that fails.
    at: u64,
    errno: &'static str,
    /// Every call of `class` from `at` on fails (a disk that stays broken).
    sticky: bool,
}

impl Fault {
    /// The class of fault, for the summary: `write EIO`, `sync EIO`,
    /// `write EIO from N on`.
    fn label(&self) -> String {
        let class = match self.class {
            Class::Write => "write",
            Class::Sync => "sync",
        };
        if self.sticky {
            format!("{class} {} from N on", self.errno)
        } else {
            format!("{class} {}", self.errno)
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let class = match self.class {
            Class::Write => "write",
            Class::Sync => "sync",
        };
        if self.sticky {
            write!(f, "{}: every {class} from #{} on", self.errno, self.at)
        } else {
            write!(f, "{}: {class} #{}", self.errno, self.at)
        }
    }
}

/// What the shim reports after a run.
#[derive(Debug, Default)]
struct Counted {
    writes: u64,
    syncs: u64,
    /// The call that failed: `<n> <call> <path>`.
    failed: Option<String>,
}

fn read_report(path: &Path) -> Counted {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the shim wrote no report {}: {e}", path.display()));
    let mut counted = Counted::default();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("writes ") {
            counted.writes = n.parse().expect("a count");
        } else if let Some(n) = line.strip_prefix("syncs ") {
            counted.syncs = n.parse().expect("a count");
        } else if let Some(f) = line.strip_prefix("failed ") {
            counted.failed = Some(f.to_owned());
        }
    }
    counted
}

/// `total` values of N if there are at most [`MAX_SPREAD`], else the first
/// and last [`EDGE`] and an even spread between.
fn spread(total: u64, max: usize) -> Vec<u64> {
    let max = max as u64;
    if total <= max {
        return (1..=total).collect();
    }
    let mut ns: Vec<u64> = (1..=EDGE).chain(total - EDGE + 1..=total).collect();
    let inner = max - 2 * EDGE;
    let span = total - 2 * EDGE;
    ns.extend((0..inner).map(|i| EDGE + 1 + i * span / inner));
    ns.sort_unstable();
    ns.dedup();
    ns
}

/// `k` values from 1 to `total`, evenly apart, both ends included.
fn evenly(total: u64, k: u64) -> Vec<u64> {
    if total <= k {
        return (1..=total).collect();
    }
    let mut ns: Vec<u64> = (0..k).map(|i| 1 + i * (total - 1) / (k - 1)).collect();
    ns.dedup();
    ns
}

// ------------------------------------------------------- the ledger and its checks

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Journal {
    Delete,
    Wal,
}

impl Journal {
    fn pragma(self) -> &'static str {
        match self {
            Journal::Delete => "delete",
            Journal::Wal => "wal",
        }
    }
}

/// Where a database stands: its version and its ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ledger {
    version: i64,
    entries: i64,
    amount: i64,
}

/// The amounts of the entries the test writes: entry `i` holds `i % 1000`.
fn amounts(from: i64, to: i64) -> i64 {
    (from..=to).map(|i| i % 1000).sum()
}

/// Reads where a database stands, checking on the way everything that
/// must hold at any moment: SQLite's integrity and foreign-key checks,
/// versions 1..=k recorded with no gap, the objects of exactly those
/// versions present (none of a migration half done), and the ledger's
/// totals agreeing with its entries.
fn ledger_of(conn: &Connection) -> Result<Ledger, String> {
    let q = |sql: &str| -> Result<i64, String> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| format!("{sql}: {e}"))
    };
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("integrity_check: {e}"))?;
    if integrity != "ok" {
        return Err(format!("integrity_check: {integrity}"));
    }
    let violations = q("SELECT count(*) FROM pragma_foreign_key_check")?;
    if violations != 0 {
        return Err(format!("{violations} foreign-key violations"));
    }
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| format!("schema_migrations: {e}"))?;
    let version = versions.len() as i64;
    if versions != (1..=version).collect::<Vec<_>>() {
        return Err(format!("recorded versions {versions:?}"));
    }
    let exists = |kind: &str, name: &str| -> Result<bool, String> {
        Ok(q(&format!(
            "SELECT count(*) FROM sqlite_master WHERE type = '{kind}' AND name = '{name}'"
        ))? == 1)
    };
    let objects = [
        exists("table", "accounts")? && exists("table", "entries")?,
        q("SELECT count(*) FROM pragma_table_info('entries') WHERE name = 'cents'")? == 1,
        exists("table", "account_totals")?,
        q("SELECT count(*) FROM sqlite_master WHERE name = 'entries' AND sql LIKE '%CHECK%'")? == 1,
        exists("index", "idx_entries_account")? && exists("index", "idx_entries_memo")?,
    ];
    for (v, present) in (1..).zip(objects) {
        if present != (v <= version) {
            return Err(if present {
                format!("version {v}'s objects exist but versions {versions:?} are recorded")
            } else {
                format!("version {v} is recorded but its objects are missing")
            });
        }
    }
    if exists("table", "entries_new")? {
        return Err("entries_new, of migration 4 half done, exists".to_owned());
    }
    let accounts = q("SELECT count(*) FROM accounts")?;
    if accounts != ACCOUNTS {
        return Err(format!("{accounts} accounts, not {ACCOUNTS}"));
    }
    let entries = q("SELECT count(*) FROM entries")?;
    let amount = q("SELECT coalesce(sum(amount), 0) FROM entries")?;
    if version >= 2 {
        let wrong = q("SELECT count(*) FROM entries WHERE cents IS NOT amount * 100")?;
        if wrong != 0 {
            return Err(format!("{wrong} entries without their cents"));
        }
    }
    if version >= 3 {
        let totals = q("SELECT coalesce(sum(entries), 0) FROM account_totals")?;
        let summed = q("SELECT coalesce(sum(amount), 0) FROM account_totals")?;
        let off = q("SELECT count(*) FROM account_totals t WHERE entries != \
                     (SELECT count(*) FROM entries e WHERE e.account_id = t.account_id)")?;
        if (totals, summed, off) != (entries, amount, 0) {
            return Err(format!(
                "account_totals say {totals} entries of {summed} ({off} accounts off), the \
                 ledger holds {entries} of {amount}"
            ));
        }
    }
    Ok(Ledger {
        version,
        entries,
        amount,
    })
}

/// The database opened as an application opens it (read-write, so that a
/// hot journal is rolled back), then [`ledger_of`].
fn ledger_in(db: &Path) -> Result<Ledger, String> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    ledger_of(&conn)
}

/// A backup, opened read-only (as `restore` reads it).
fn ledger_in_backup(bak: &Path) -> Result<Ledger, String> {
    let conn = Connection::open_with_flags(
        bak,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", bak.display()))?;
    ledger_of(&conn)
}

/// The version in a backup's name, `ledger.db.<version>.<stamp>[-n].bak`.
fn backup_version(name: &str) -> Option<i64> {
    name.strip_prefix(DB_NAME)?
        .strip_prefix('.')?
        .strip_suffix(".bak")?
        .split_once('.')?
        .0
        .parse()
        .ok()
}

// ----------------------------------------------------------- the operations

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// `apply --no-backup`: a transaction per migration.
    Apply,
    /// `apply --no-backup --single-transaction`.
    Single,
    /// `apply`, which backs up first; faults only in the backup's files.
    Backup,
    /// `restore FILE --yes`.
    Restore,
}

impl Op {
    /// The test of I/O errors during the operation.
    fn test_name(self) -> &'static str {
        match self {
            Op::Apply => "io_errors_during_apply",
            Op::Single => "io_errors_during_a_single_transaction_apply",
            Op::Backup => "io_errors_during_the_backup",
            Op::Restore => "io_errors_during_restore",
        }
    }

    /// The test of kills during the operation.
    fn kill_test_name(self) -> &'static str {
        match self {
            Op::Apply => "kills_during_apply",
            Op::Single => "kills_during_a_single_transaction_apply",
            Op::Backup => "kills_during_backup_then_apply",
            Op::Restore => "kills_during_restore",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Apply => "apply --no-backup",
            Op::Single => "apply --no-backup --single-transaction",
            Op::Backup => "apply (with its backup)",
            Op::Restore => "restore FILE --yes",
        }
    }
}

/// An operation on a copy of a template database.
struct Scenario {
    op: Op,
    journal: Journal,
    /// Holds the template, the backup `restore` is given and the reports.
    dir: TempDir,
    template: PathBuf,
    /// The backup `restore` puts back.
    source: Option<PathBuf>,
    before: Ledger,
    after: Ledger,
}

/// A ledger at version 1 holding [`ENTRIES`] entries.
fn fill_ledger(db: &Path, journal: Journal) {
    migrate_tests::migrate(FAULTS, db, &["apply", "--to", "1"]).expect_success();
    let conn = Connection::open(db).expect("open the template");
    let mode: String = conn
        .query_row(
            &format!("PRAGMA journal_mode = {}", journal.pragma()),
            [],
            |r| r.get(0),
        )
        .expect("set the journal mode");
    assert_eq!(mode, journal.pragma());
    conn.execute_batch(&format!(
        "BEGIN;
         INSERT INTO accounts (id, name)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ACCOUNTS})
         SELECT i, 'account ' || i FROM n;
         INSERT INTO entries (id, account_id, amount, memo)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ENTRIES})
         SELECT i, i % {ACCOUNTS} + 1, i % 1000,
                printf('entry %06d ', i) || replace(hex(zeroblob(40)), '00', 'ab') FROM n;
         COMMIT;"
    ))
    .expect("fill the ledger");
}

impl Scenario {
    fn new(op: Op, journal: Journal) -> Scenario {
        let dir = tempfile::tempdir().expect("a directory for the template");
        let at_1 = Ledger {
            version: 1,
            entries: ENTRIES,
            amount: amounts(1, ENTRIES),
        };
        let template = dir.path().join(DB_NAME);
        fill_ledger(&template, journal);
        assert_eq!(ledger_in(&template), Ok(at_1));
        if op != Op::Restore {
            return Scenario {
                op,
                journal,
                dir,
                template,
                source: None,
                before: at_1,
                after: Ledger {
                    version: LATEST,
                    ..at_1
                },
            };
        }
        // The backup `apply` takes of the ledger at version 1; then the
        // migrated ledger gets more entries, which restoring puts aside.
        let run = migrate_tests::migrate(FAULTS, &template, &["apply"]);
        run.expect_success();
        let source = run
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("Backed up "))
            .and_then(|l| l.split_once(" to "))
            .map(|(_, p)| PathBuf::from(p))
            .unwrap_or_else(|| panic!("apply should have backed up:\n{run}"));
        Connection::open(&template)
            .expect("open the template")
            .execute_batch(&format!(
                "BEGIN;
                 INSERT INTO entries (id, account_id, amount, memo, cents)
                 WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n
                                         WHERE i < {last})
                 SELECT i, 1, i % 1000, 'extra ' || i, (i % 1000) * 100 FROM n;
                 UPDATE account_totals SET entries = entries + {EXTRA},
                     amount = amount + {extra_amount} WHERE account_id = 1;
                 COMMIT;",
                first = ENTRIES + 1,
                last = ENTRIES + EXTRA,
                extra_amount = amounts(ENTRIES + 1, ENTRIES + EXTRA),
            ))
            .expect("add entries");
        let before = Ledger {
            version: LATEST,
            entries: ENTRIES + EXTRA,
            amount: amounts(1, ENTRIES + EXTRA),
        };
        assert_eq!(ledger_in(&template), Ok(before));
        assert_eq!(ledger_in_backup(&source), Ok(at_1));
        Scenario {
            op,
            journal,
            dir,
            template,
            source: Some(source),
            before,
            after: at_1,
        }
    }

    fn args(&self) -> Vec<OsString> {
        let args: &[&str] = match self.op {
            Op::Apply => &["apply", "--no-backup"],
            Op::Single => &["apply", "--no-backup", "--single-transaction"],
            Op::Backup => &["apply"],
            Op::Restore => &["restore"],
        };
        let mut args: Vec<OsString> = args.iter().map(OsString::from).collect();
        if let Some(source) = &self.source {
            args.push(source.clone().into_os_string());
            args.push("--yes".into());
        }
        args
    }

    /// A fresh copy of the template in a directory of its own.
    fn copy(&self) -> (TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a directory for the run");
        let db = dir.path().join(DB_NAME);
        std::fs::copy(&self.template, &db).expect("copy the template");
        (dir, db)
    }

    fn command(&self, db: &Path) -> Command {
        let mut cmd = command(FAULTS);
        cmd.arg("--database").arg(db).args(self.args());
        cmd
    }

    /// Runs the operation on `db` under the shim: counting only, or with
    /// `fault`.
    fn run_faulted(&self, db: &Path, fault: Option<Fault>) -> (Run, Counted) {
        let report = self.dir.path().join("report");
        let _ = std::fs::remove_file(&report);
        let dir = db
            .parent()
            .expect("a directory")
            .canonicalize()
            .expect("canonical directory");
        let mut cmd = self.command(db);
        cmd.env("LD_PRELOAD", shim())
            .env("FAULT_DIR", &dir)
            .env("FAULT_REPORT", &report)
            .env(
                "FAULT_MATCH",
                if self.op == Op::Backup { ".bak" } else { "" },
            );
        if let Some(f) = fault {
            cmd.env(
                "FAULT_CLASS",
                match f.class {
                    Class::Write => "write",
                    Class::Sync => "sync",
                },
            )
            .env("FAULT_AT", f.at.to_string())
            .env("FAULT_ERRNO", f.errno)
            .env("FAULT_STICKY", if f.sticky { "1" } else { "0" });
        }
        let run = Run::from(cmd.output().expect("run migrate"));
        (run, read_report(&report))
    }

    fn run(&self, db: &Path) -> Run {
        Run::from(self.command(db).output().expect("run migrate"))
    }

    /// What the backups in `dir` should hold, from the version in a name.
    fn backup_should_hold(&self, version: i64) -> Ledger {
        match self.op {
            Op::Restore if version == self.before.version => self.before,
            Op::Restore => self.after,
            _ => Ledger {
                version,
                entries: ENTRIES,
                amount: amounts(1, ENTRIES),
            },
        }
    }

    /// Every file in `dir` named like a backup is a whole one, holding what
    /// its name says; returns how many there are. No `.bak.partial.` file
    /// is left when the process ended by itself (`exited`).
    fn check_backups(&self, dir: &Path, exited: bool, problems: &mut Vec<String>) -> usize {
        let entries = dir_entries(dir);
        let mut good = 0;
        for name in entries.iter().filter(|n| n.ends_with(".bak")) {
            good += 1;
            if entries.contains(&format!("{name}-journal")) {
                problems.push(format!(
                    "{name} is named like a good backup but has a hot journal beside it (cut short)"
                ));
                continue;
            }
            let Some(version) = backup_version(name) else {
                problems.push(format!("{name}: not named like the backups of {DB_NAME}"));
                continue;
            };
            let expected = self.backup_should_hold(version);
            match ledger_in_backup(&dir.join(name)) {
                Ok(l) if l == expected => {}
                Ok(l) => problems.push(format!(
                    "{name} is named like a good backup of version {version} but holds \
                     {l:?}, not {expected:?}"
                )),
                Err(e) => problems.push(format!(
                    "{name} is named like a good backup but is not one: {e}"
                )),
            }
        }
        if exited && let Some(p) = entries.iter().find(|n| n.contains(".bak.partial.")) {
            problems.push(format!(
                "the temporary file of a backup, {p}, was left behind by a process that ended \
                 by itself (a failed copy is removed; so are the leftovers of dead processes)"
            ));
        }
        if self.op != Op::Backup && self.op != Op::Restore && good > 0 {
            problems.push(format!("a backup was written by `{}`", self.op.name()));
        }
        good
    }

    /// The checks after the operation ended by itself (`run`) or was
    /// killed (`run` is `None`); returns the database's state.
    fn check_after(&self, dir: &Path, db: &Path, run: Option<&Run>) -> (Vec<String>, Ledger) {
        let mut problems = Vec::new();
        let message = run.and_then(|run| check_exit(run, db, &mut problems));
        let state = match ledger_in(db) {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!("the database: {e}"));
                return (problems, self.before);
            }
        };
        if (state.entries, state.amount) != (self.before.entries, self.before.amount)
            && (state.entries, state.amount) != (self.after.entries, self.after.amount)
        {
            problems.push(format!(
                "the ledger holds {} entries of {}: rows were lost or added ({:?} before, {:?} \
                 after)",
                state.entries, state.amount, self.before, self.after
            ));
        }
        let ok = run.is_some_and(|r| r.code == Some(0));
        if let Some(m) = message.as_deref() {
            if !STATE_WORDS.iter().any(|w| m.contains(w)) {
                problems.push(format!(
                    "the error does not say what became of the database (as the others do: \
                     {STATE_WORDS:?}); here it was left {}: {m:?}",
                    if state == self.before {
                        "as it was"
                    } else {
                        "changed"
                    }
                ));
            }
            if m.contains("nothing was changed") && state != self.before {
                problems.push(format!(
                    "the error says nothing was changed, but the database is at {state:?}, \
                     not {:?}",
                    self.before
                ));
            }
        }
        match self.op {
            Op::Apply => {
                if ok && state != self.after {
                    problems.push(format!("apply succeeded but the database is at {state:?}"));
                }
                if let Some(m) = message.as_deref()
                    && let Some(v) = failed_migration(m)
                    && m.contains("rolled back and is not recorded")
                    && state.version != v - 1
                {
                    problems.push(format!(
                        "the error says migration {v} was rolled back and is not recorded, \
                         but the database is at version {}",
                        state.version
                    ));
                }
            }
            Op::Single => {
                if state != self.before && state != self.after {
                    problems.push(format!(
                        "--single-transaction left the database at {state:?}, neither before \
                         ({:?}) nor after ({:?})",
                        self.before, self.after
                    ));
                }
                if ok && state != self.after {
                    problems.push(format!("apply succeeded but the database is at {state:?}"));
                }
                if message.is_some() && state != self.before {
                    problems.push(format!(
                        "apply --single-transaction failed ({}) but every migration is applied",
                        message.as_deref().unwrap_or_default()
                    ));
                }
            }
            Op::Backup => {
                if ok && state != self.after {
                    problems.push(format!("apply succeeded but the database is at {state:?}"));
                }
            }
            Op::Restore => {
                if state != self.before && state != self.after {
                    problems.push(format!(
                        "restore left the database at {state:?}, neither the one it replaces \
                         ({:?}) nor the backup ({:?})",
                        self.before, self.after
                    ));
                }
                if ok && state != self.after {
                    problems.push(format!(
                        "restore succeeded but the database is at {state:?}, not the backup's \
                         {:?}",
                        self.after
                    ));
                }
                if message.is_some() && state != self.before {
                    problems.push(format!(
                        "restore failed ({}) but the database was replaced",
                        message.as_deref().unwrap_or_default()
                    ));
                }
            }
        }
        let backups = self.check_backups(dir, run.is_some(), &mut problems);
        // A copy the command made and did not name is one the user does not
        // know of (the run's directory held none before).
        if let Some(run) = run {
            for name in dir_entries(dir).iter().filter(|n| n.ends_with(".bak")) {
                if !run.stdout.contains(name.as_str()) && !run.stderr.contains(name.as_str()) {
                    problems.push(format!(
                        "it wrote {name}, a copy of the database, and did not say so (exit \
                         code {:?}, stdout {:?})",
                        run.code, run.stdout
                    ));
                }
            }
        }
        if self.op == Op::Backup {
            if ok && backups != 1 {
                problems.push(format!("apply succeeded with {backups} backups, not 1"));
            }
            if let Some(m) = message.as_deref()
                && m.contains("cannot write the backup")
                && backups != 0
            {
                problems.push(format!(
                    "the backup failed, yet {backups} backups are there"
                ));
            }
        }
        (problems, state)
    }

    /// Runs the operation again, without a fault, and checks that it
    /// finishes with every row there.
    fn check_retry(&self, dir: &Path, db: &Path, problems: &mut Vec<String>) {
        let run = self.run(db);
        if run.code != Some(0) || !run.stderr.is_empty() {
            problems.push(format!("running it again failed:\n{run}"));
            return;
        }
        match ledger_in(db) {
            Ok(l) if l == self.after => {}
            Ok(l) => problems.push(format!(
                "run again, it left {l:?}, not {:?}:\n{run}",
                self.after
            )),
            Err(e) => problems.push(format!("run again, the database: {e}")),
        }
        let backups = self.check_backups(dir, true, problems);
        if matches!(self.op, Op::Backup | Op::Restore) && backups == 0 {
            problems.push("run again, it left no backup".to_owned());
        }
        if matches!(self.op, Op::Apply | Op::Single | Op::Backup) {
            let check = migrate_tests::migrate(FAULTS, db, &["check"]);
            if check.code != Some(0) {
                problems.push(format!(
                    "after running it again, `check` finds the database is not what this \
                     build expects:\n{check}"
                ));
            }
        }
    }
}

/// Checks how a run ended: success quietly, or a failure in exactly one
/// line naming the database, without a panic. Returns the failure's
/// message, after the path.
fn check_exit(run: &Run, db: &Path, problems: &mut Vec<String>) -> Option<String> {
    if run.code == Some(0) {
        if !run.stderr.is_empty() {
            problems.push(format!("succeeded but wrote to stderr:\n{run}"));
        }
        return None;
    }
    if run.stderr.contains("panicked") {
        problems.push(format!("the process panicked:\n{run}"));
    }
    if run.code != Some(1) {
        problems.push(format!("exit code {:?}, not 1:\n{run}", run.code));
    }
    if !(run.stderr.ends_with('\n') && run.stderr.lines().count() == 1) {
        problems.push(format!("stderr is not exactly one line:\n{run}"));
    }
    let prefix = format!("migrate: error: {}: ", db.display());
    match run.stderr.trim_end().strip_prefix(&prefix) {
        Some(m) => Some(m.to_owned()),
        None => {
            problems.push(format!("stderr does not start with {prefix:?}:\n{run}"));
            Some(run.stderr.trim_end().to_owned())
        }
    }
}

/// How the CLI's errors say what became of the database; each failure
/// says one of these.
const STATE_WORDS: [&str; 4] = [
    "nothing was changed",
    "rolled back",
    "the database is as it was",
    "stay applied, nothing after them was changed",
];

/// The version an error message names first: `migration 3 ("…") …`.
fn failed_migration(message: &str) -> Option<i64> {
    message
        .strip_prefix("migration ")?
        .split_once(' ')?
        .0
        .parse()
        .ok()
}

/// An error message with what differs between runs taken out: the run's
/// directory, numbers.
fn shape_of(message: &str, dir: &Path) -> String {
    let message = message.replace(&dir.display().to_string(), "DIR");
    let mut shape = String::with_capacity(message.len());
    let mut in_number = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                shape.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            shape.push(c);
        }
    }
    shape
}

// ------------------------------------------------------------ the campaigns

/// How the runs of one operation and fault class ended.
#[derive(Default)]
struct Tally {
    runs: usize,
    /// The command failed (exit 1), by the shape of its message.
    failed: BTreeMap<String, usize>,
    /// The fault happened and did not matter: the command succeeded.
    absorbed: usize,
    /// The numbered call never came (counts can vary between runs).
    not_reached: usize,
    elapsed: Duration,
}

#[derive(Default)]
struct Campaign {
    tallies: BTreeMap<String, Tally>,
    problems: Vec<String>,
}

impl Campaign {
    fn report(&self, title: &str, started: Instant) {
        eprintln!("{title}: {:.1} s", started.elapsed().as_secs_f64());
        for (key, t) in &self.tallies {
            let failed: usize = t.failed.values().sum();
            eprintln!(
                "  {key}: {} runs, {failed} failed, {} succeeded (fault absorbed), {} fault not \
                 reached; {:.1} s",
                t.runs,
                t.absorbed,
                t.not_reached,
                t.elapsed.as_secs_f64()
            );
            for (shape, n) in &t.failed {
                eprintln!("      {n:>3} x {shape}");
            }
        }
        assert!(
            self.problems.is_empty(),
            "{title}: {} runs went wrong:\n\n{}",
            self.problems.len(),
            self.problems.join("\n\n")
        );
    }
}

/// Every fault of `classes` for one scenario.
fn inject(sc: &Scenario, campaign: &mut Campaign) {
    let (dir, db) = sc.copy();
    let (run, counted) = sc.run_faulted(&db, None);
    run.expect_success();
    assert_eq!(ledger_in(&db), Ok(sc.after), "the counting run");
    drop(dir);
    assert!(
        counted.writes > 0 && counted.syncs > 0,
        "the shim counted {} writes and {} syncs of `{}`: it did not see the process's \
         calls (is LD_PRELOAD honoured?)",
        counted.writes,
        counted.syncs,
        sc.op.name()
    );
    eprintln!(
        "{} ({}): {} writes, {} syncs",
        sc.op.name(),
        sc.journal.pragma(),
        counted.writes,
        counted.syncs
    );
    let mut faults = Vec::new();
    if let Some(one) = chosen_fault() {
        faults.push(one);
    }
    let every = faults.is_empty();
    for (i, at) in spread(counted.writes, MAX_SPREAD)
        .into_iter()
        .enumerate()
        .filter(|_| every)
    {
        let errno = if i % 2 == 0 { "EIO" } else { "ENOSPC" };
        faults.push(Fault {
            class: Class::Write,
            at,
            errno,
            sticky: false,
        });
    }
    for at in spread(counted.syncs, MAX_SPREAD)
        .into_iter()
        .filter(|_| every)
    {
        faults.push(Fault {
            class: Class::Sync,
            at,
            errno: "EIO",
            sticky: false,
        });
    }
    for (i, at) in evenly(counted.writes, STICKY)
        .into_iter()
        .enumerate()
        .filter(|_| every)
    {
        let errno = if i % 2 == 0 { "EIO" } else { "ENOSPC" };
        faults.push(Fault {
            class: Class::Write,
            at,
            errno,
            sticky: true,
        });
    }
    let mut failures = 0;
    for fault in faults {
        let started = Instant::now();
        let (dir, db) = sc.copy();
        let (run, counted) = sc.run_faulted(&db, Some(fault));
        let (mut problems, _) = sc.check_after(dir.path(), &db, Some(&run));
        sc.check_retry(dir.path(), &db, &mut problems);
        let key = format!(
            "{} ({}), {}",
            sc.op.name(),
            sc.journal.pragma(),
            fault.label()
        );
        let tally = campaign.tallies.entry(key).or_default();
        tally.runs += 1;
        if run.code != Some(0) {
            failures += 1;
            let shape = shape_of(
                run.stderr
                    .trim_end()
                    .strip_prefix(&format!("migrate: error: {}: ", db.display()))
                    .unwrap_or(&run.stderr),
                dir.path(),
            );
            *tally.failed.entry(shape).or_default() += 1;
        } else if counted.failed.is_some() {
            tally.absorbed += 1;
        } else {
            tally.not_reached += 1;
        }
        tally.elapsed += started.elapsed();
        if std::env::var_os("FAULTS_VERBOSE").is_some() {
            eprintln!(
                "  {} ({}), {fault}: {} -> {:?} {}",
                sc.op.name(),
                sc.journal.pragma(),
                counted.failed.as_deref().unwrap_or("not reached"),
                run.code,
                run.stderr.trim_end()
            );
        }
        if !problems.is_empty() {
            campaign.problems.push(format!(
                "`{}` ({} journal), {fault} (the call: {}):\n  {}\n  repeat: {}",
                sc.op.name(),
                sc.journal.pragma(),
                counted.failed.as_deref().unwrap_or("none"),
                problems.join("\n  "),
                repeat_command(sc, fault)
            ));
        }
    }
    assert!(
        failures > 0 || !every,
        "no fault made `{}` fail: the shim's faults did not reach it",
        sc.op.name()
    );
}

/// The one fault `FAULTS_AT` asks for instead of the campaign:
/// `write:N`, `sync:N`, or `write+:N` (every write from the Nth on), with
/// `FAULTS_ERRNO` (EIO, the default, or ENOSPC).
fn chosen_fault() -> Option<Fault> {
    let spec = std::env::var("FAULTS_AT").ok()?;
    let bad =
        || -> ! { panic!("FAULTS_AT={spec:?}: expected write:N, sync:N, write+:N or sync+:N") };
    let (class, at) = spec.split_once(':').unwrap_or_else(|| bad());
    let (class, sticky) = match class.strip_suffix('+') {
        Some(c) => (c, true),
        None => (class, false),
    };
    let class = match class {
        "write" => Class::Write,
        "sync" => Class::Sync,
        _ => bad(),
    };
    let errno = match std::env::var("FAULTS_ERRNO").as_deref() {
        Ok("ENOSPC") => "ENOSPC",
        Ok("EIO") | Err(_) => "EIO",
        Ok(other) => panic!("FAULTS_ERRNO={other:?}: expected EIO or ENOSPC"),
    };
    Some(Fault {
        class,
        at: at.parse().unwrap_or_else(|_| bad()),
        errno,
        sticky,
    })
}

/// The command that runs `fault` of `sc` alone, through the same checks.
fn repeat_command(sc: &Scenario, fault: Fault) -> String {
    let class = match fault.class {
        Class::Write => "write",
        Class::Sync => "sync",
    };
    format!(
        "FAULTS_JOURNAL={} FAULTS_AT={class}{}:{} FAULTS_ERRNO={} cargo test -p migrate-tests \
         --test faults {} -- --nocapture",
        sc.journal.pragma(),
        if fault.sticky { "+" } else { "" },
        fault.at,
        fault.errno,
        sc.op.test_name()
    )
}

fn io_errors(op: Op) {
    let started = Instant::now();
    let mut campaign = Campaign::default();
    let only = std::env::var("FAULTS_JOURNAL").ok();
    for journal in [Journal::Delete, Journal::Wal] {
        if only.as_deref().is_none_or(|j| j == journal.pragma()) {
            inject(&Scenario::new(op, journal), &mut campaign);
        }
    }
    campaign.report(&format!("I/O errors during `{}`", op.name()), started);
}

#[test]
fn io_errors_during_apply_leave_each_migration_whole_or_absent() {
    io_errors(Op::Apply);
}

#[test]
fn io_errors_during_a_single_transaction_apply_leave_all_or_nothing() {
    io_errors(Op::Single);
}

#[test]
fn io_errors_during_the_backup_leave_no_file_named_like_a_good_backup() {
    io_errors(Op::Backup);
}

#[test]
fn io_errors_during_restore_leave_the_old_database_or_the_backup() {
    io_errors(Op::Restore);
}

// ------------------------------------------------------------------ kills

/// SplitMix64: a small seeded generator, so that a run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `FAULTS_SEED`, or one from the clock.
fn seed() -> u64 {
    match std::env::var("FAULTS_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("FAULTS_SEED={s:?} is not a number")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time after 1970")
            .as_nanos() as u64,
    }
}

/// Kills per operation: four operations, 104 in all. A process that ends
/// before its kill lands does not count (it is checked all the same); at
/// most [`ATTEMPTS`] are started to reach them.
const KILLS: usize = 26;
const ATTEMPTS: usize = 3 * KILLS;

/// How long the operation takes, start to exit, and until it says it
/// backed up (`None` if it does not): the middle of three runs each.
fn duration_of(sc: &Scenario) -> (Duration, Option<Duration>) {
    use std::io::BufRead;
    let mut took = Vec::new();
    let mut backed_up = Vec::new();
    for _ in 0..3 {
        let (_dir, db) = sc.copy();
        let started = Instant::now();
        let mut child = sc
            .command(&db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start migrate");
        let out = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
        for line in out.lines() {
            let line = line.expect("read migrate's output");
            // `apply`'s backup comes first; `restore`'s line, last, is not it.
            if sc.op == Op::Backup && line.starts_with("Backed up ") {
                backed_up.push(started.elapsed());
            }
        }
        let status = child.wait().expect("wait for migrate");
        took.push(started.elapsed());
        assert!(status.success(), "`{}`: {status}", sc.op.name());
    }
    took.sort();
    backed_up.sort();
    (took[1], backed_up.get(1).copied())
}

/// Whether `db`'s write-ahead log holds frames (more than its header).
fn wal_frames(db: &Path) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 32)
}

const FINISHED: &str = "finished before the kill";
const UNTOUCHED: &str = "before changing anything";

/// SIGKILLs `op` [`KILLS`] times, half in each journal mode, each after a
/// random delay within the operation's measured duration (the middle of
/// three runs, shortened by 15 % whenever a run ends before its kill); after
/// each, the same checks as after an I/O error, and a retry that finishes.
fn kills(op: Op) {
    let started = Instant::now();
    let seed = seed();
    // Each operation its own sequence, all from the one printed seed.
    let mut rng = Rng(seed ^ (op as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    eprintln!(
        "kills during `{}`: seed {seed} (FAULTS_SEED={seed} repeats it)",
        op.name()
    );
    let scenarios = [
        Scenario::new(op, Journal::Delete),
        Scenario::new(op, Journal::Wal),
    ];
    let mut measured: Vec<(Duration, Option<Duration>)> =
        scenarios.iter().map(duration_of).collect();
    let first_measured = measured.clone();
    let mut problems = Vec::new();
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut killed = 0;
    let mut attempts = 0;
    while killed < KILLS && attempts < ATTEMPTS {
        attempts += 1;
        let which = killed % 2;
        let sc = &scenarios[which];
        // Where the operation backs up first, every other kill lands before
        // it says so: the copy is a small part of the whole.
        let within = match measured[which] {
            (_, Some(backup)) if (killed / 2) % 2 == 1 => backup,
            (all, _) => all,
        };
        // A fraction of the duration, so that FAULTS_SEED repeats where in
        // the operation the kills fall.
        let fraction = rng.below(1 << 20) as f64 / f64::from(1 << 20);
        let delay = within.mul_f64(fraction);
        let (dir, db) = sc.copy();
        let template = std::fs::read(&sc.template).expect("read the template");
        let mut child = sc
            .command(&db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start migrate");
        std::thread::sleep(delay);
        let finished = child.try_wait().expect("poll migrate");
        let _ = child.kill();
        let status = child.wait().expect("reap migrate");
        let entries = dir_entries(dir.path());
        let moment = if finished.is_some() {
            FINISHED
        } else if entries.iter().any(|n| n.contains(".bak.partial.")) {
            "while writing a backup"
        } else if entries.iter().any(|n| n.ends_with("-journal")) {
            "in a transaction (a hot journal)"
        } else if wal_frames(&db) {
            "with frames in the -wal file"
        } else if std::fs::read(&db).expect("read the database") == template {
            UNTOUCHED
        } else {
            "between transactions"
        };
        if finished.is_none() {
            killed += 1;
        } else {
            // Faster than measured (the machine is shared): this run took
            // at most `delay`; the next kills fall a little earlier.
            measured[which].0 = measured[which]
                .0
                .mul_f64(0.85)
                .max(delay.min(measured[which].0));
        }
        *tally.entry((sc.journal.pragma(), moment)).or_default() += 1;
        let (mut found, state) = sc.check_after(dir.path(), &db, None);
        if finished.is_some() && !status.success() {
            found.push(format!("it ended by itself with {status}"));
        }
        if finished.is_some() && state != sc.after {
            found.push(format!("it finished, but the database is at {state:?}"));
        }
        sc.check_retry(dir.path(), &db, &mut found);
        if !found.is_empty() {
            problems.push(format!(
                "`{}` ({} journal), killed after {delay:?} ({moment}), seed {seed}:\n  {}\n  \
                 repeat (the same delays; where they land varies): FAULTS_SEED={seed} cargo test \
                 -p migrate-tests --test faults {} -- --nocapture",
                op.name(),
                sc.journal.pragma(),
                found.join("\n  "),
                op.kill_test_name()
            ));
        }
    }
    eprintln!(
        "kills during `{}`: {killed} kills in {attempts} runs, {:.1} s; measured (whole, \
         backup): {:.0?} (delete), {:.0?} (wal); at the end {:.0?}, {:.0?}",
        op.name(),
        started.elapsed().as_secs_f64(),
        first_measured[0],
        first_measured[1],
        measured[0].0,
        measured[1].0
    );
    for ((journal, moment), n) in &tally {
        eprintln!("  {n:>3} x {journal}: {moment}");
    }
    assert!(
        problems.is_empty(),
        "kills during `{}` (seed {seed}): {} went wrong:\n\n{}",
        op.name(),
        problems.len(),
        problems.join("\n\n")
    );
    assert_eq!(
        killed,
        KILLS,
        "`{}` finished before its kill in {} of {attempts} runs (seed {seed}), though each \
         early finish shortened the delays (measured {first_measured:?}, at the end \
         {measured:?})",
        op.name(),
        attempts - killed
    );
    let mid_way: usize = tally
        .iter()
        .filter(|((_, m), _)| *m != FINISHED && *m != UNTOUCHED)
        .map(|(_, n)| n)
        .sum();
    assert!(
        mid_way >= KILLS / 4,
        "only {mid_way} of {KILLS} kills landed while `{}` was changing files (seed {seed}), \
         too few to show anything",
        op.name()
    );
}

#[test]
fn kills_during_apply_leave_each_migration_whole_or_absent() {
    kills(Op::Apply);
}

#[test]
fn kills_during_a_single_transaction_apply_leave_all_or_nothing() {
    kills(Op::Single);
}

#[test]
fn kills_during_backup_then_apply_leave_no_file_named_like_a_good_backup() {
    kills(Op::Backup);
}

#[test]
fn kills_during_restore_leave_the_old_database_or_the_backup() {
    kills(Op::Restore);
}

#[test]
fn spread_tries_every_n_or_the_first_and_last_few_and_between() {
    assert_eq!(spread(4, 60), [1, 2, 3, 4]);
    let ns = spread(1000, 60);
    assert_eq!(ns.len(), 60);
    assert_eq!(ns[..5], [1, 2, 3, 4, 5]);
    assert_eq!(ns[55..], [996, 997, 998, 999, 1000]);
    assert!(ns.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(evenly(3, 16), [1, 2, 3]);
    assert_eq!(evenly(31, 4), [1, 11, 21, 31]);
}

/// The checks themselves find each kind of damage the campaign looks for,
/// so that a campaign that passes did look.
#[test]
fn the_checks_find_a_half_migration_a_lost_row_a_cut_backup_and_a_vague_error() {
    let sc = Scenario::new(Op::Backup, Journal::Delete);
    let found = |dir: &TempDir, db: &Path, run: &Run| sc.check_after(dir.path(), db, Some(run)).0;

    // A run that went right passes.
    let (dir, db) = sc.copy();
    let run = sc.run(&db);
    let (problems, state) = sc.check_after(dir.path(), &db, Some(&run));
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(state, sc.after);

    // A migration recorded without its objects, and objects not recorded.
    let (_dir, db) = sc.copy();
    let conn = migrate_tests::open(&db);
    conn.execute_batch(
        "INSERT INTO schema_migrations (version, description) VALUES (2, 'Add cents')",
    )
    .expect("record version 2");
    let error = ledger_in(&db).expect_err("version 2 recorded without its column");
    assert!(
        error.contains("version 2 is recorded but its objects are missing"),
        "{error}"
    );
    conn.execute_batch(
        "DELETE FROM schema_migrations WHERE version = 2;
         CREATE TABLE account_totals (account_id INTEGER PRIMARY KEY);",
    )
    .expect("a table of version 3");
    let error = ledger_in(&db).expect_err("version 3's table without its record");
    assert!(error.contains("version 3's objects exist"), "{error}");
    drop(conn);

    // An entry of an account that does not exist.
    let (_dir, db) = sc.copy();
    migrate_tests::open(&db)
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             UPDATE entries SET account_id = 999 WHERE id = 7;",
        )
        .expect("orphan an entry");
    let error = ledger_in(&db).expect_err("an orphan entry");
    assert_eq!(error, "1 foreign-key violations");

    // A lost row: at version 1, and where the totals tell.
    let (dir, db) = sc.copy();
    migrate_tests::open(&db)
        .execute_batch("DELETE FROM entries WHERE id = 7")
        .expect("lose a row");
    let (problems, _) = sc.check_after(dir.path(), &db, None);
    assert!(
        problems.iter().any(|p| p.contains("rows were lost")),
        "{problems:?}"
    );
    let (dir, db) = sc.copy();
    let run = sc.run(&db);
    migrate_tests::open(&db)
        .execute_batch("DELETE FROM entries WHERE id = 7")
        .expect("lose a row");
    let problems = found(&dir, &db, &run);
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("account_totals say {ENTRIES} entries"))),
        "{problems:?}"
    );

    // A file named like a good backup that was cut short, and a partial
    // copy left by a process that ended by itself.
    let (dir, db) = sc.copy();
    let run = sc.run(&db);
    let half = std::fs::read(&sc.template).expect("read the template");
    std::fs::write(
        dir.path().join(format!("{DB_NAME}.1.20260101T000000Z.bak")),
        &half[..half.len() / 2],
    )
    .expect("a cut backup");
    std::fs::write(
        dir.path()
            .join(format!("{DB_NAME}.1.20260101T000000Z.bak.partial.1.0")),
        "",
    )
    .expect("a partial copy");
    let problems = found(&dir, &db, &run);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("20260101T000000Z.bak is named like a good backup but")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("was left behind")),
        "{problems:?}"
    );

    // Failures reported without the database's state, in two lines, with a
    // panic, or claiming nothing changed when something did.
    let (dir, db) = sc.copy();
    let say = |stderr: String| Run {
        code: Some(1),
        stdout: String::new(),
        stderr,
    };
    let vague = say(format!(
        "migrate: error: {}: disk I/O error\n",
        db.display()
    ));
    let problems = found(&dir, &db, &vague);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("does not say what became of the database")),
        "{problems:?}"
    );
    let two = say(format!(
        "migrate: error: {}: disk I/O error; nothing was changed\nthread 'main' panicked\n",
        db.display()
    ));
    let problems = found(&dir, &db, &two);
    assert!(
        problems.iter().any(|p| p.contains("panicked")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("not exactly one line")),
        "{problems:?}"
    );
    sc.run(&db);
    let wrong = say(format!(
        "migrate: error: {}: cannot write the backup: x; nothing was changed\n",
        db.display()
    ));
    let problems = found(&dir, &db, &wrong);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("says nothing was changed, but")),
        "{problems:?}"
    );
}
