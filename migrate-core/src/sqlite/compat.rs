//! The few places where rusqlite's API differs across the range this crate
//! accepts (see `rusqlite` in the workspace's Cargo.toml).
//!
//! An application picks the rusqlite release its other SQLite crates allow
//! (sqlx, diesel, a pool): Cargo links one SQLite per program, so this
//! crate must compile against every release from 0.32 to 0.43. Everything
//! release-specific lives here, so the rest of the crate reads as plain
//! rusqlite.

use rusqlite::{Batch, Connection, Statement};

/// The next statement of `batch`, or `None` at its end.
///
/// rusqlite up to 0.33 gives [`Batch`] an inherent `next`; later releases
/// implement [`fallible_iterator::FallibleIterator`] instead. Method lookup
/// prefers the inherent method where it exists, so one call serves both.
pub(crate) fn next_statement<'conn>(
    batch: &mut Batch<'conn, '_>,
) -> rusqlite::Result<Option<Statement<'conn>>> {
    #[allow(unused_imports)]
    use fallible_iterator::FallibleIterator as _;
    batch.next()
}

/// What a hook setter returned, as a `Result`: rusqlite up to 0.3x returned
/// `()` from [`Connection::authorizer`], later releases a `Result`.
pub(crate) trait HookResult {
    /// The setter's outcome.
    fn into_result(self) -> rusqlite::Result<()>;
}

impl HookResult for () {
    fn into_result(self) -> rusqlite::Result<()> {
        Ok(())
    }
}

impl HookResult for rusqlite::Result<()> {
    fn into_result(self) -> rusqlite::Result<()> {
        self
    }
}

/// Whether `table` is a table (not a view) in schema `main`, ignoring case
/// as SQLite does. rusqlite's `table_exists` needs SQLite's column metadata,
/// which its older releases cannot enable, so this asks the schema table
/// through a cached statement.
pub(crate) fn table_exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
    )?;
    stmt.exists([table])
}
