//! The `schema_migrations` table: the record of what has been applied.
//!
//! Its definition is exactly the original Python tool's, so databases that
//! tool migrated are continued where they stand, and their rows are read but
//! never rewritten.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use crate::Error;

/// The seed's table, unchanged.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT,
    applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)";

/// One row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The version recorded.
    pub version: i64,
    /// The description recorded (the Python tool allowed NULL).
    pub description: Option<String>,
    /// When it was applied, as stored (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub applied_at: Option<String>,
}

/// Whether the table exists; an error if the name is taken by something that
/// is not a table, or if its columns are not the ones this tool writes.
pub(crate) fn exists(conn: &Connection) -> Result<bool, Error> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'schema_migrations'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    match kind.as_deref() {
        None => Ok(false),
        Some("table") => check_shape(conn).map(|()| true),
        Some(other) => Err(Error::UnexpectedTrackingTable {
            detail: format!("it is a {other}, not a table"),
        }),
    }
}

fn check_shape(conn: &Connection) -> Result<(), Error> {
    struct Column {
        name: String,
        decl: String,
        required: bool,
        pk: i64,
    }
    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\" AND dflt_value IS NULL, pk \
         FROM pragma_table_info('schema_migrations')",
    )?;
    let columns = stmt
        .query_map([], |row| {
            Ok(Column {
                name: row.get(0)?,
                decl: row.get(1)?,
                required: row.get(2)?,
                pk: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let names = || {
        columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let find = |name: &str| columns.iter().find(|c| c.name.eq_ignore_ascii_case(name));
    for needed in ["version", "description", "applied_at"] {
        if find(needed).is_none() {
            return Err(Error::UnexpectedTrackingTable {
                detail: format!("it has no `{needed}` column (its columns: {})", names()),
            });
        }
    }
    if let Some(version) = find("version")
        && !(version.decl.eq_ignore_ascii_case("INTEGER") && version.pk == 1)
    {
        return Err(Error::UnexpectedTrackingTable {
            detail: format!(
                "its `version` column is `{}`{}, not INTEGER PRIMARY KEY",
                version.decl,
                if version.pk == 0 {
                    " without a key"
                } else {
                    ""
                }
            ),
        });
    }
    if columns.iter().filter(|c| c.pk > 0).count() > 1 {
        return Err(Error::UnexpectedTrackingTable {
            detail: "its primary key spans several columns".to_owned(),
        });
    }
    if let Some(extra) = columns.iter().find(|c| {
        c.required
            && !["version", "applied_at"]
                .iter()
                .any(|n| c.name.eq_ignore_ascii_case(n))
    }) {
        return Err(Error::UnexpectedTrackingTable {
            detail: format!(
                "it has a column `{}` that must be filled and that this tool does not know",
                extra.name
            ),
        });
    }
    Ok(())
}

/// Creates the table if it is missing (inside the caller's transaction).
pub(crate) fn ensure(conn: &Connection) -> Result<(), Error> {
    if !exists(conn)? {
        conn.execute_batch(CREATE)?;
    }
    Ok(())
}

/// Every row, in version order; empty when the table does not exist.
pub(crate) fn read(conn: &Connection) -> Result<Vec<AppliedMigration>, Error> {
    if !exists(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT version, description, applied_at FROM schema_migrations ORDER BY version",
    )?;
    let rows = stmt
        .query_map([], |row| {
            Ok(AppliedMigration {
                version: row.get(0)?,
                description: as_text(row.get_ref(1)?),
                applied_at: as_text(row.get_ref(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// `(count, min, max)` of the recorded versions, all 0 without the table:
/// enough to tell, without reading every row, that exactly `1..=max` is
/// recorded (versions are unique integers, so `count == max && min == 1`).
pub(crate) fn summary(conn: &Connection) -> Result<(i64, i64, i64), Error> {
    if !exists(conn)? {
        return Ok((0, 0, 0));
    }
    Ok(conn.query_row(
        "SELECT count(*), coalesce(min(version), 0), coalesce(max(version), 0) \
         FROM schema_migrations",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Whether `version` is recorded.
pub(crate) fn is_recorded(conn: &Connection, version: u32) -> Result<bool, Error> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM schema_migrations WHERE version = ?1",
            [version],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Records a migration as applied, at the current UTC time.
pub(crate) fn record(conn: &Connection, version: u32, description: &str) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO schema_migrations (version, description) VALUES (?1, ?2)",
        rusqlite::params![version, description],
    )?;
    Ok(())
}

/// Old rows may hold any type in any column: show them as text, never fail.
fn as_text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}
