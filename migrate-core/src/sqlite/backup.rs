//! Consistent copies of a database, taken before migrating it, and putting
//! one back.
//!
//! Both use SQLite's online backup API in a single step, which copies every
//! page inside one read transaction of the source: the copy is a snapshot of
//! one moment even while other processes write to the database (they wait
//! for the copy, or the copy waits for them, at most the busy timeout). When
//! the source connection is already in a read transaction, the copy is of
//! that transaction's snapshot.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::{Error, tracking};

/// Copies the main database of `conn` to a new file at `dest`, waiting up to
/// `timeout` while other connections hold locks. Never overwrites a file.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_core::backup::backup_to;
/// use migrate_core::Error;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let dir = tempfile::tempdir()?;
/// let conn = migrations.open(dir.path().join("app.db"))?;
/// conn.execute("INSERT INTO users (id, name) VALUES ('u1', 'Ann')", [])?;
///
/// let dest = dir.path().join("app.db.bak");
/// backup_to(&conn, &dest, Duration::from_secs(5))?;
/// let copy = migrate_core::rusqlite::Connection::open(&dest)?;
/// let name: String = copy.query_row("SELECT name FROM users", [], |r| r.get(0))?;
/// assert_eq!(name, "Ann");
/// assert_eq!(migrations.current_version(&copy)?, 1);
///
/// // The file exists now: never overwritten.
/// let err = backup_to(&conn, &dest, Duration::from_secs(5)).unwrap_err();
/// assert!(matches!(err, Error::BackupFailed(_)));
/// # Ok(())
/// # }
/// ```
pub fn backup_to(conn: &Connection, dest: &Path, timeout: Duration) -> Result<(), Error> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    check_space(conn, dir)?;
    create_new(dest).map_err(|e| cannot_create(dest, &e))?;
    fill(conn, dest, timeout)
}

/// Copies the main database of `conn` to a new file in `dir` named
/// `<stem>.bak`, or `<stem>-2.bak`, `<stem>-3.bak`, … when that name is
/// taken, and returns its path. The name is claimed atomically, so processes
/// backing up at the same moment each get their own file. Never overwrites
/// a file.
///
/// The copy is written under a temporary name, `<stem>.bak.partial.<pid>.<n>`,
/// and given its name only when complete: a process killed mid-copy leaves
/// no file that looks like a good backup. Such leftovers (and their
/// journals) of processes that no longer run are removed first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_core::backup::backup_to_new;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let dir = tempfile::tempdir()?;
/// let conn = migrations.open(dir.path().join("app.db"))?;
/// let first = backup_to_new(&conn, dir.path(), "app.1", Duration::from_secs(5))?;
/// let second = backup_to_new(&conn, dir.path(), "app.1", Duration::from_secs(5))?;
/// assert_eq!(first, dir.path().join("app.1.bak"));
/// assert_eq!(second, dir.path().join("app.1-2.bak"));
/// # Ok(())
/// # }
/// ```
pub fn backup_to_new(
    conn: &Connection,
    dir: &Path,
    stem: &str,
    timeout: Duration,
) -> Result<PathBuf, Error> {
    let dir = current_if_empty(dir);
    let partial = write_partial(conn, dir, stem, timeout)?;
    claim(&partial, dir, stem)
}

/// The name of a backup of `db_name` at `version` taken now, without `.bak`:
/// `<db_name>.<version>.<UTC time>`, e.g. `chatbot.db.12.20261124T101500Z`
/// ([`backup_to_new`] adds `-2`, `-3`, … when it is taken). The time is
/// SQLite's clock, read on `conn`.
///
/// # Examples
///
/// ```
/// let conn = migrate_core::rusqlite::Connection::open_in_memory()?;
/// let stem = migrate_core::backup::stem(&conn, "chatbot.db", 12)?;
/// let stamp = stem.strip_prefix("chatbot.db.12.").unwrap();
/// assert_eq!((stamp.len(), &stamp[8..9], &stamp[15..]), (16, "T", "Z"));
/// # Ok::<(), migrate_core::Error>(())
/// ```
pub fn stem(conn: &Connection, db_name: &str, version: i64) -> Result<String, Error> {
    let stamp: String =
        conn.query_row("SELECT strftime('%Y%m%dT%H%M%SZ', 'now')", [], |r| r.get(0))?;
    Ok(format!("{db_name}.{version}.{stamp}"))
}

/// Copies the database about to be replaced by a restore (inside the hook
/// of [`restore_keeping`], which holds its write lock), next to it in
/// `dir` as a backup of `db_name` at its recorded version (read with
/// `migrations`); `None` for a database that holds nothing (no schema
/// object), which needs no copy.
pub fn keep_before_restore(
    current: &Connection,
    migrations: &crate::Migrations,
    dir: &Path,
    db_name: &str,
    timeout: Duration,
) -> Result<Option<PathBuf>, Error> {
    // One read transaction, so the version in the name is the copy's.
    let snapshot = current.unchecked_transaction()?;
    let has_data: bool =
        snapshot.query_row("SELECT count(*) > 0 FROM sqlite_master", [], |r| r.get(0))?;
    if !has_data {
        return Ok(None);
    }
    let version = migrations
        .migrator()
        .current_version(&snapshot)
        .unwrap_or(0);
    let stem = stem(&snapshot, db_name, version)?;
    backup_to_new(&snapshot, dir, &stem, timeout).map(Some)
}

/// What [`backup_rotating`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The backup that holds the database as it is now.
    pub path: PathBuf,
    /// True when the database was byte for byte the newest backup already,
    /// so `path` is that one and no new file was kept.
    pub reused: bool,
    /// Older backups of the same database removed to keep the newest `keep`.
    pub removed: Vec<PathBuf>,
}

/// The number of backups of a database [`backup_rotating`] keeps unless told
/// otherwise: enough to undo the last deploys and the retries around them,
/// while bounding the disk they take next to the database at five copies.
pub const DEFAULT_KEEP: usize = 5;

/// Backs up `conn`'s database into `dir` as `apply` does:
/// `<db_name>.<version>.<UTC time>.bak` (see [`backup_to_new`]), unless the
/// copy is byte for byte the newest backup of `db_name` there (a retry
/// after a failed migration changes nothing), in which case that one is
/// kept and the copy dropped; then removes the oldest backups of `db_name`
/// in `dir` beyond the newest `keep` (at least 1). Only files named exactly
/// like its backups are counted or removed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_core::backup::backup_rotating;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let dir = tempfile::tempdir()?;
/// let conn = migrations.open(dir.path().join("app.db"))?;
/// let t = Duration::from_secs(5);
///
/// let first = backup_rotating(&conn, dir.path(), "app.db", 1, 2, t)?;
/// assert!(!first.reused);
/// // Nothing changed: the same backup serves.
/// let again = backup_rotating(&conn, dir.path(), "app.db", 1, 2, t)?;
/// assert!(again.reused);
/// assert_eq!(again.path, first.path);
/// # Ok(())
/// # }
/// ```
pub fn backup_rotating(
    conn: &Connection,
    dir: &Path,
    db_name: &str,
    version: i64,
    keep: usize,
    timeout: Duration,
) -> Result<Rotation, Error> {
    let dir = current_if_empty(dir);
    let stem = stem(conn, db_name, version)?;
    let newest = backups_of(dir, db_name).pop();
    let partial = write_partial(conn, dir, &stem, timeout)?;
    let same = match &newest {
        Some(previous) => same_bytes(previous, &partial).unwrap_or(false),
        None => false,
    };
    let (path, reused) = match newest {
        Some(previous) if same => {
            let _ = std::fs::remove_file(&partial);
            (previous, true)
        }
        _ => (claim(&partial, dir, &stem)?, false),
    };
    let mut removed = Vec::new();
    let all = backups_of(dir, db_name);
    let excess = all.len().saturating_sub(keep.max(1));
    for old in all.into_iter().take(excess) {
        if old != path && std::fs::remove_file(&old).is_ok() {
            removed.push(old);
        }
    }
    Ok(Rotation {
        path,
        reused,
        removed,
    })
}

/// The backups of `db_name` in `dir`, oldest first: files named
/// `<db_name>.<version>.<YYYYMMDDTHHMMSSZ>.bak` or `…-<n>.bak`, ordered by
/// the time in the name, then when the file was written, then `n`.
fn backups_of(dir: &Path, db_name: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    // Within one second (several applies to one version after another),
    // the file written last is the newest.
    let mut found: Vec<((String, std::time::SystemTime, u32), PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let (stamp, n) = backup_key(name.to_str()?, db_name)?;
            let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
            Some(((stamp, modified, n), entry.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, path)| path).collect()
}

/// `(time, n)` of a backup file name of `db_name`, or `None` for any other
/// name.
fn backup_key(name: &str, db_name: &str) -> Option<(String, u32)> {
    let rest = name.strip_prefix(db_name)?.strip_prefix('.')?;
    let rest = rest.strip_suffix(".bak")?;
    let (version, rest) = rest.split_once('.')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (stamp, n) = match rest.split_once('-') {
        Some((stamp, n)) => (stamp, n.parse::<u32>().ok().filter(|&n| n >= 2)?),
        None => (rest, 1),
    };
    let b = stamp.as_bytes();
    let shaped = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    shaped.then(|| (stamp.to_owned(), n))
}

/// Whether two files hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    if std::fs::metadata(a)?.len() != std::fs::metadata(b)?.len() {
        return Ok(false);
    }
    let (mut a, mut b) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    let (mut x, mut y) = (vec![0_u8; 1 << 16], vec![0_u8; 1 << 16]);
    loop {
        let n = a.read(&mut x)?;
        if n == 0 {
            return Ok(true);
        }
        b.read_exact(&mut y[..n])?;
        if x[..n] != y[..n] {
            return Ok(false);
        }
    }
}

/// The parent of a bare file name is "": the current directory.
fn current_if_empty(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Copies `conn`'s database, after checking the space, to a new temporary
/// file in `dir` (see [`backup_to_new`]) and returns its path.
fn write_partial(
    conn: &Connection,
    dir: &Path,
    stem: &str,
    timeout: Duration,
) -> Result<PathBuf, Error> {
    // Unique within the process too, for threads backing up at once.
    static CALLS: AtomicU32 = AtomicU32::new(0);
    remove_leftovers(dir);
    check_space(conn, dir)?;
    let partial = dir.join(format!(
        "{stem}.bak.partial.{}.{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    create_new(&partial).map_err(|e| cannot_create(&partial, &e))?;
    fill(conn, &partial, timeout)?;
    Ok(partial)
}

/// Gives the complete copy `partial` its name, `<stem>.bak` or the first
/// free `<stem>-<n>.bak`, atomically and without replacing any file.
fn claim(partial: &Path, dir: &Path, stem: &str) -> Result<PathBuf, Error> {
    let mut n = 1_u32;
    loop {
        let dest = if n == 1 {
            dir.join(format!("{stem}.bak"))
        } else {
            dir.join(format!("{stem}-{n}.bak"))
        };
        // A hard link claims the name atomically and never replaces a file.
        match std::fs::hard_link(partial, &dest) {
            Ok(()) => {
                let _ = std::fs::remove_file(partial);
                return Ok(dest);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => {
                let _ = std::fs::remove_file(partial);
                return Err(cannot_create(&dest, &e));
            }
        }
    }
}

/// Removes `*.bak.partial.<pid>.<n>` files in `dir` (and their `-journal`)
/// left by processes that no longer run. Only where a process's liveness
/// can be read (`/proc`); elsewhere they stay.
fn remove_leftovers(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((_, rest)) = name.rsplit_once(".bak.partial.") else {
            continue;
        };
        let pid = rest.split('.').next().unwrap_or_default();
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Creates an empty file, failing (atomically) if `dest` exists.
fn create_new(dest: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map(drop)
}

fn cannot_create(dest: &Path, e: &std::io::Error) -> Error {
    Error::BackupFailed(format!("cannot create {}: {e}", dest.display()))
}

/// Refuses, with [`Error::ReadOnly`], a database file this process may not
/// write, or whose directory it may not write in (SQLite creates its
/// journal there): found before a backup is written or anything is run,
/// instead of as the first statement's failure. A file that does not exist
/// needs only the directory.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// migrate_core::backup::check_writable(&dir.path().join("app.db"))?;
/// # Ok(())
/// # }
/// ```
pub fn check_writable(db: &Path) -> Result<(), Error> {
    use rustix::fs::{Access, access};
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if db.exists() && access(db, Access::WRITE_OK).is_err() {
        return Err(Error::ReadOnly);
    }
    if access(dir, Access::WRITE_OK | Access::EXEC_OK).is_err() {
        return Err(Error::ReadOnly);
    }
    Ok(())
}

/// Space a backup leaves free on its disk, besides its own size: at least
/// 16 MiB, or a tenth of the copy. The database (often on the same disk)
/// still has to migrate, and the application to write, after the backup.
const HEADROOM_MIN: u64 = 16 << 20;

/// Refuses, before anything is written, a backup of `conn`'s database that
/// would not fit in `dir` with [`HEADROOM_MIN`] (or a tenth) to spare.
fn check_space(conn: &Connection, dir: &Path) -> Result<(), Error> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let need = u64::try_from(pages.saturating_mul(page_size)).unwrap_or(0);
    let headroom = (need / 10).max(HEADROOM_MIN);
    // Where the free space cannot be read, the copy itself will tell.
    let Ok(free) = fs4::available_space(dir) else {
        return Ok(());
    };
    if free < need.saturating_add(headroom) {
        let place = if dir == Path::new(".") {
            "the current directory".to_owned()
        } else {
            dir.display().to_string()
        };
        return Err(Error::BackupFailed(format!(
            "not enough free space in {place} for the backup: it takes {}, {} is free, and {} \
             must stay free for the database; free some space first (apply can also back up to \
             another disk with --backup-dir, or skip it with --no-backup)",
            megabytes(need),
            megabytes(free),
            megabytes(headroom)
        )));
    }
    Ok(())
}

/// `n` bytes as megabytes with one decimal.
fn megabytes(n: u64) -> String {
    // Sizes of files: far below 2^52, exact enough as f64.
    #[allow(clippy::cast_precision_loss)]
    let mb = n as f64 / 1_048_576.0;
    format!("{mb:.1} MB")
}

/// Copies `conn`'s database into the empty file `dest` that the caller just
/// created, removing it (and any journal of it) if the copy fails. A write
/// that fails (a full disk) is the backup's failure, named as such, not the
/// database's.
fn fill(conn: &Connection, dest: &Path, timeout: Duration) -> Result<(), Error> {
    let failed = |e: Error| match e {
        Error::Sqlite(e) => Error::BackupFailed(format!(
            "{}: {}",
            dest.display(),
            crate::error::sqlite_message(&e)
        )),
        other => other,
    };
    let result = Connection::open(dest)
        .map_err(|e| Error::from_sqlite(e, timeout))
        .and_then(|mut target| copy(conn, &mut target, timeout))
        .map_err(failed);
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
        let mut journal = dest.as_os_str().to_owned();
        journal.push("-journal");
        let _ = std::fs::remove_file(journal);
    }
    result
}

/// Replaces the main database of `conn` with the contents of the backup at
/// `source`, after checking that it is an SQLite database with a
/// `schema_migrations` table. The replacement is one write transaction on
/// `conn`'s file: other connections see the old or the new database, never
/// a mixture.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_core::backup::{backup_to, restore_from};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let dir = tempfile::tempdir()?;
/// let mut conn = migrations.open(dir.path().join("app.db"))?;
/// let backup = dir.path().join("before.bak");
/// backup_to(&conn, &backup, Duration::from_secs(5))?;
///
/// // A change to undo.
/// conn.execute("DELETE FROM schema_migrations", [])?;
/// conn.execute("DROP TABLE users", [])?;
/// assert_eq!(migrations.current_version(&conn)?, 0);
///
/// restore_from(&mut conn, &backup, Duration::from_secs(5))?;
/// assert_eq!(migrations.current_version(&conn)?, 1);
/// assert!(migrations.check(&conn)?.is_clean());
/// # Ok(())
/// # }
/// ```
pub fn restore_from(conn: &mut Connection, source: &Path, timeout: Duration) -> Result<(), Error> {
    let from = open_backup(source, timeout)?;
    wait_for_locks(conn, timeout)?;
    copy(&from, conn, timeout)
}

/// Makes `conn` wait `timeout` for a lock, as the caller asked: the backup
/// API takes the destination's lock through its busy handler, which would
/// otherwise wait as long as the connection was last told (rusqlite's 5 s).
/// The connection keeps this timeout, as [`crate::Migrator`]'s do.
fn wait_for_locks(conn: &Connection, timeout: Duration) -> Result<(), Error> {
    conn.busy_timeout(timeout)
        .map_err(|e| Error::from_sqlite(e, timeout))
}

/// Replaces the main database of `conn` with the backup at `source`, as
/// [`restore_from`] does, after `keep` has copied the database as it is:
/// both under one write lock, so that no commit of another process can fall
/// between the copy and the replacement (it lands before the copy, and so
/// in it, or after the replacement). `keep` gets a read-only connection to
/// the same file, to copy (with [`backup_to_new`]) and name the copy; it
/// returns where it wrote it, if anywhere. When `keep` fails, nothing is
/// replaced.
///
/// How: SQLite's backup API takes the destination's write lock at its first
/// step and holds it until the copy ends, so a first step of zero pages
/// locks `conn`'s file without changing it, `keep` runs, then the copy.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_core::backup::{backup_to, backup_to_new, restore_keeping};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let dir = tempfile::tempdir()?;
/// let mut conn = migrations.open(dir.path().join("app.db"))?;
/// let backup = dir.path().join("before.bak");
/// backup_to(&conn, &backup, Duration::from_secs(5))?;
/// conn.execute("INSERT INTO users (id, name) VALUES ('u1', 'Ann')", [])?;
///
/// let kept = restore_keeping(&mut conn, &backup, Duration::from_secs(5), |current| {
///     backup_to_new(current, dir.path(), "app.replaced", Duration::from_secs(5)).map(Some)
/// })?;
/// // The backup is back; the row is in the copy of what it replaced.
/// let rows: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
/// assert_eq!(rows, 0);
/// let copy = migrate_core::rusqlite::Connection::open(kept.expect("kept"))?;
/// let rows: i64 = copy.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
/// assert_eq!(rows, 1);
/// # Ok(())
/// # }
/// ```
pub fn restore_keeping(
    conn: &mut Connection,
    source: &Path,
    timeout: Duration,
    keep: impl FnOnce(&Connection) -> Result<Option<PathBuf>, Error>,
) -> Result<Option<PathBuf>, Error> {
    let from = open_backup(source, timeout)?;
    wait_for_locks(conn, timeout)?;
    let Some(path) = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from) else {
        return Err(Error::BackupFailed(
            "the database has no file to copy before restoring".to_owned(),
        ));
    };
    // SQLite's errors from here on: the restore failed, the database is as
    // it was (the copy into it is one transaction); and a copy of it that
    // `keep` already wrote is named.
    let failed = |e: Error, kept: Option<&Path>| match e {
        Error::Sqlite(e) => Error::RestoreFailed {
            reason: crate::error::sqlite_message(&e),
            kept: kept.map(Path::to_path_buf),
        },
        other => other,
    };
    let sqlite = |e| failed(Error::from_sqlite(e, timeout), None);
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(sqlite)?;
    let started = Instant::now();
    let backup = Backup::new(&from, conn).map_err(sqlite)?;
    // Lock the destination; zero pages copied.
    step_until(&backup, 0, started, timeout).map_err(|e| failed(e, None))?;
    // In WAL mode readers go on beside the write lock. In the rollback
    // journal modes the backup's lock is EXCLUSIVE, which keeps readers out;
    // but then the file holds exactly the last commit (a hot journal was
    // rolled back on locking) and nobody can change it, so it is read
    // without locking.
    let current = if journal.eq_ignore_ascii_case("wal") {
        Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    } else {
        Connection::open_with_flags(
            format!("{}?nolock=1", file_uri(&path)),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
    }
    .map_err(sqlite)?;
    current.busy_timeout(timeout).map_err(sqlite)?;
    // Dropping `backup` on failure ends it and rolls the lock back.
    let kept = keep(&current).map_err(|e| failed(e, None))?;
    drop(current);
    step_until(&backup, -1, Instant::now(), timeout).map_err(|e| failed(e, kept.as_deref()))?;
    Ok(kept)
}

/// `path` as an SQLite `file:` URI, every byte but unreserved ones and
/// `/` percent-encoded.
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// Steps `backup` by `pages` (-1: all) until it has done that much, waiting
/// while either side is locked, up to `timeout` from `started`. Zero pages
/// return once the destination is locked.
fn step_until(
    backup: &Backup<'_, '_>,
    pages: i32,
    started: Instant,
    timeout: Duration,
) -> Result<(), Error> {
    loop {
        match backup
            .step(pages)
            .map_err(|e| Error::from_sqlite(e, timeout))?
        {
            StepResult::Done => return Ok(()),
            StepResult::Busy | StepResult::Locked if started.elapsed() < timeout => {
                sleep(Duration::from_millis(20));
            }
            StepResult::Busy | StepResult::Locked => return Err(Error::Busy { timeout }),
            // More pages remain: what a partial step is for.
            _ if pages >= 0 => return Ok(()),
            _ => {}
        }
    }
}

/// Opens a backup read-only, refusing anything that is not an SQLite
/// database holding a `schema_migrations` table of the expected shape.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_core::backup::{backup_to, open_backup};
/// use migrate_core::Error;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let dir = tempfile::tempdir()?;
/// let conn = migrations.open(dir.path().join("app.db"))?;
/// let backup = dir.path().join("app.db.bak");
/// backup_to(&conn, &backup, Duration::from_secs(5))?;
///
/// // Read it (read-only) before restoring it.
/// let opened = open_backup(&backup, Duration::from_secs(5))?;
/// assert_eq!(migrations.current_version(&opened)?, 1);
///
/// // Anything else is refused.
/// let text = dir.path().join("notes.txt");
/// std::fs::write(&text, "not a database")?;
/// assert!(matches!(open_backup(&text, Duration::from_secs(5)), Err(Error::NotADatabase)));
/// let err = open_backup(&dir.path().join("missing.bak"), Duration::from_secs(5)).unwrap_err();
/// assert!(matches!(err, Error::NotABackup { .. }));
/// let empty = dir.path().join("empty.db");
/// migrate_core::rusqlite::Connection::open(&empty)?.execute_batch("CREATE TABLE t (x)")?;
/// let err = open_backup(&empty, Duration::from_secs(5)).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "not a backup of a migrated database: it has no schema_migrations table; nothing was changed",
/// );
/// # Ok(())
/// # }
/// ```
pub fn open_backup(source: &Path, timeout: Duration) -> Result<Connection, Error> {
    if !source.is_file() {
        return Err(Error::NotABackup {
            detail: if source.exists() {
                "it is not a regular file".to_owned()
            } else {
                "there is no such file".to_owned()
            },
        });
    }
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::from_sqlite(e, timeout))?;
    // A damaged file (a copy cut short) fails to read with SQLite's
    // "database disk image is malformed": it is the backup that is wrong.
    let damaged = |e: Error| match e {
        Error::Sqlite(e) => match Error::from_sqlite(e, timeout) {
            Error::Sqlite(e) => Error::NotABackup {
                detail: format!(
                    "it fails SQLite's integrity check: {}",
                    crate::error::sqlite_message(&e)
                ),
            },
            other => other,
        },
        other => other,
    };
    let shape = tracking::shape(&from).map_err(damaged)?;
    if shape.is_none() {
        return Err(Error::NotABackup {
            detail: "it has no schema_migrations table".to_owned(),
        });
    }
    let problems = quick_check(&from).map_err(|e| damaged(Error::Sqlite(e)))?;
    if let Some(first) = problems.first() {
        // One line, however much SQLite found.
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more problems)", n - 1),
        };
        return Err(Error::NotABackup {
            detail: format!("it fails SQLite's integrity check: {first}{more}"),
        });
    }
    Ok(from)
}

/// The problems `PRAGMA quick_check` finds, one per line of its report
/// (a row may hold several lines); empty when it says `ok`.
fn quick_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA quick_check")?;
    let mut rows = stmt.query([])?;
    let mut problems = Vec::new();
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        if text != "ok" {
            problems.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with("***"))
                    .map(str::to_owned),
            );
        }
    }
    Ok(problems)
}

/// Copies every page of `from` into `to` in one step, retrying while either
/// side is locked, up to `timeout`.
pub(crate) fn copy(from: &Connection, to: &mut Connection, timeout: Duration) -> Result<(), Error> {
    let started = Instant::now();
    let backup = Backup::new(from, to).map_err(|e| Error::from_sqlite(e, timeout))?;
    step_until(&backup, -1, started, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_this_databases_backups_count() {
        let key = |name| backup_key(name, "chat.db");
        assert_eq!(
            key("chat.db.12.20261124T101500Z.bak"),
            Some(("20261124T101500Z".to_owned(), 1))
        );
        assert_eq!(
            key("chat.db.12.20261124T101500Z-3.bak"),
            Some(("20261124T101500Z".to_owned(), 3))
        );
        for other in [
            "chat.db",
            "chat.db.12.20261124T101500Z.bak.partial.77.0",
            "chat.db.12.20261124T101500Z-1.bak",
            "chat.db.12.20261124T1015Z.bak",
            "chat.db.x.20261124T101500Z.bak",
            "chat.db.old.bak",
            "chat.dbx.12.20261124T101500Z.bak",
            "other.db.12.20261124T101500Z.bak",
            "chat.db.12.20261124T101500Z.bak-journal",
        ] {
            assert_eq!(key(other), None, "{other}");
        }
    }

    #[test]
    fn backups_are_ordered_by_time_then_number() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "a.db.3.20260102T000000Z.bak",
            "a.db.1.20260101T000000Z-2.bak",
            "a.db.1.20260101T000000Z.bak",
            "a.db.9.20251231T235959Z.bak",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        let names: Vec<String> = backups_of(dir.path(), "a.db")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "a.db.9.20251231T235959Z.bak",
                "a.db.1.20260101T000000Z.bak",
                "a.db.1.20260101T000000Z-2.bak",
                "a.db.3.20260102T000000Z.bak",
            ]
        );
    }
}
