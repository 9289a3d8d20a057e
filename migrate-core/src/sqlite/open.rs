//! Opening a database file only to read it, and reading it as of one moment.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ffi};

use crate::Error;

/// Opens an existing database to read it: read-only, unless a process died
/// in the middle of a write (a migration killed half-way) and left a hot
/// rollback journal. A read-only connection can then read nothing
/// (SQLITE_READONLY_ROLLBACK, which would be reported as a permissions
/// problem); a writable one rolls the journal back on its first read, as
/// every opener of the file does, restoring the last committed state.
///
/// The connection waits for no lock (busy timeout zero): set the wait the
/// command should make.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.db");
/// migrate_core::rusqlite::Connection::open(&path)?.execute_batch("CREATE TABLE t (x)")?;
/// let conn = migrate_core::open_for_reading(&path)?;
/// assert!(conn.is_readonly(migrate_core::rusqlite::MAIN_DB)?);
/// # Ok(())
/// # }
/// ```
pub fn open_for_reading(path: &Path) -> Result<Connection, Error> {
    let read_only = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(opening)?;
    // Not the default 5 s wait when the file is locked: the command itself
    // waits, for --busy-timeout.
    read_only.busy_timeout(Duration::ZERO).map_err(opening)?;
    let probe = read_only.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()));
    let hot_journal = probe
        .as_ref()
        .err()
        .and_then(|e| e.sqlite_error())
        .is_some_and(|e| e.extended_code == ffi::SQLITE_READONLY_ROLLBACK);
    if !hot_journal {
        // Any other error (busy, not a database) is met again, and reported,
        // by the command itself.
        return Ok(read_only);
    }
    drop(read_only);
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(opening)
}

/// A read transaction on `conn` whose lock is taken now, waiting up to
/// `timeout` for a writer ([`Error::Busy`] after that): every read inside
/// it sees the database as of one moment, e.g. the record and the schema
/// that [`crate::Migrations::check`] compares.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"
/// # "#;
/// use std::time::Duration;
///
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let dir = tempfile::tempdir()?;
/// let conn = migrations.open(dir.path().join("app.db"))?;
/// let snapshot = migrate_core::snapshot(&conn, Duration::from_secs(5))?;
/// assert!(migrations.check(&snapshot)?.is_clean());
/// snapshot.commit()?;
/// # Ok(())
/// # }
/// ```
pub fn snapshot(conn: &Connection, timeout: Duration) -> Result<rusqlite::Transaction<'_>, Error> {
    let classify = |e| Error::from_sqlite(e, timeout);
    conn.busy_timeout(timeout).map_err(classify)?;
    let snapshot = conn.unchecked_transaction().map_err(classify)?;
    // The first read takes the lock; the reads after it need none.
    snapshot
        .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(classify)?;
    Ok(snapshot)
}

fn opening(e: rusqlite::Error) -> Error {
    Error::from_sqlite(e, Duration::ZERO)
}
