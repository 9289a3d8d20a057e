//! The `schema_migrations` table: the record of what has been applied.
//!
//! Its first three columns are exactly the original Python tool's, so
//! databases that tool migrated are continued where they stand. This tool
//! adds six nullable columns (checksum, chain, duration, build, and the
//! down SQL with its checksum) with `ALTER TABLE ... ADD COLUMN` the first
//! time it writes to such a database; old rows keep their version,
//! description and time, and get a checksum only when adopted.
//!
//! The down of each migration is stored with its row (`down_sql`, a JSON
//! array of the down's SQL items exactly as written, and `down_checksum`,
//! the hex of [`Migration::down_checksum`](crate::Migration::down_checksum)
//! over them) so that an older build, which does not have the migrations a
//! newer build applied, can still roll them back.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use crate::Error;

/// The seed's table, plus this tool's columns.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT,
    applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    checksum TEXT,
    chain TEXT,
    duration_ms REAL,
    applied_by TEXT,
    down_sql TEXT,
    down_checksum TEXT
)";

/// The columns this tool adds to the seed's table, with their types.
const EXTRA: [(&str, &str); 6] = [
    ("checksum", "TEXT"),
    ("chain", "TEXT"),
    ("duration_ms", "REAL"),
    ("applied_by", "TEXT"),
    ("down_sql", "TEXT"),
    ("down_checksum", "TEXT"),
];

/// Where the down columns are in [`EXTRA`].
const DOWN_SQL: usize = 4;
const DOWN_CHECKSUM: usize = 5;

/// One row of `schema_migrations`, as [`Migrator::history`] and
/// [`Status::applied`] return it.
///
/// [`Migrator::history`]: crate::Migrator::history
/// [`Status::applied`]: crate::Status::applied
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Migration, Migrator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [
///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]),
///     Migration::new(2, "Create tickets table", ["CREATE TABLE tickets (id INTEGER)"]),
/// ];
/// // Version 1 recorded by the original Python tool, which had no checksums.
/// let mut conn = Connection::open_in_memory()?;
/// conn.execute_batch(
///     "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT,
///          applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
///      CREATE TABLE users (id TEXT);
///      INSERT INTO schema_migrations (version, description) VALUES (1, 'Create users table');",
/// )?;
/// let migrator = Migrator::new(&list).applied_by("chatbot 1.4.0");
/// let old = &migrator.history(&conn)?[0];
/// assert_eq!((old.version, old.checksum.as_deref()), (1, None));
///
/// migrator.apply(&mut conn)?;
/// let history = migrator.history(&conn)?;
/// // Version 1 was adopted: it has a checksum now, and kept its description and time.
/// assert!(history[0].checksum.is_some());
/// assert_eq!(history[0].applied_at, old.applied_at);
/// assert_eq!(history[0].applied_by, None);
/// // Version 2 was applied by this build.
/// assert_eq!(history[1].applied_by.as_deref(), Some("chatbot 1.4.0"));
/// assert!(history[1].duration_ms.is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppliedMigration {
    /// The version recorded.
    pub version: i64,
    /// The description recorded (the Python tool allowed NULL).
    pub description: Option<String>,
    /// When it was applied, as stored (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub applied_at: Option<String>,
    /// SHA-256 (hex) of the migration's normalised SQL when it was applied;
    /// `None` for rows written by the original Python tool, until adopted.
    pub checksum: Option<String>,
    /// Hash (hex) chained over the checksums of every version up to this one.
    pub chain: Option<String>,
    /// How long the migration took, in milliseconds.
    pub duration_ms: Option<f64>,
    /// The build that applied it (`crate version`), or how it was recorded.
    pub applied_by: Option<String>,
}

/// Which of this tool's columns the table has (older tables lack them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Shape {
    extra: [bool; 6],
}

impl Shape {
    fn complete(&self) -> bool {
        self.extra.iter().all(|&b| b)
    }

    fn column(&self, i: usize) -> &'static str {
        if self.extra[i] { EXTRA[i].0 } else { "NULL" }
    }
}

/// The table's shape if it exists; an error if the name is taken by
/// something that is not a table, or if its columns are not the ones this
/// tool (or the original Python tool) writes.
pub(crate) fn shape(conn: &Connection) -> Result<Option<Shape>, Error> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'schema_migrations'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    match kind.as_deref() {
        None => Ok(None),
        Some("table") => check_shape(conn).map(Some),
        Some(other) => Err(Error::UnexpectedTrackingTable {
            detail: format!("it is a {other}, not a table"),
        }),
    }
}

fn check_shape(conn: &Connection) -> Result<Shape, Error> {
    struct Column {
        name: String,
        decl: String,
        required: bool,
        pk: i64,
    }
    let mut stmt = conn.prepare_cached(
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
    let mut shape = Shape::default();
    for (i, (name, _)) in EXTRA.iter().enumerate() {
        shape.extra[i] = find(name).is_some();
    }
    Ok(shape)
}

/// Creates the table if it is missing, or adds this tool's columns to an
/// older one (inside the caller's write transaction).
pub(crate) fn ensure(conn: &Connection) -> Result<(), Error> {
    match shape(conn)? {
        None => conn.execute_batch(CREATE)?,
        Some(shape) if !shape.complete() => {
            for (i, (name, decl)) in EXTRA.iter().enumerate() {
                if !shape.extra[i] {
                    conn.execute_batch(&format!(
                        "ALTER TABLE schema_migrations ADD COLUMN {name} {decl}"
                    ))?;
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

/// Every row, in version order; empty when the table does not exist.
pub(crate) fn read(conn: &Connection) -> Result<Vec<AppliedMigration>, Error> {
    let Some(shape) = shape(conn)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT version, description, applied_at, {}, {}, {}, {} \
         FROM schema_migrations ORDER BY version",
        shape.column(0),
        shape.column(1),
        shape.column(2),
        shape.column(3),
    ))?;
    let rows = stmt
        .query_map([], |row| {
            Ok(AppliedMigration {
                version: row.get(0)?,
                description: as_text(row.get_ref(1)?),
                applied_at: as_text(row.get_ref(2)?),
                checksum: as_text(row.get_ref(3)?),
                chain: as_text(row.get_ref(4)?),
                duration_ms: match row.get_ref(5)? {
                    ValueRef::Integer(i) => Some(i as f64),
                    ValueRef::Real(f) => Some(f),
                    _ => None,
                },
                applied_by: as_text(row.get_ref(6)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// What one aggregate read tells about the record, without reading every row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Summary {
    pub count: i64,
    pub min: i64,
    pub max: i64,
    /// The chain stored with the newest row.
    pub newest_chain: Option<String>,
}

/// `count`, `min` and `max` of the recorded versions and the newest row's
/// chain; all empty without the table. Versions are unique integers, so
/// `count == max && min == 1` means exactly `1..=max` is recorded.
pub(crate) fn summary(conn: &Connection) -> Result<Summary, Error> {
    let Some(shape) = shape(conn)? else {
        return Ok(Summary::default());
    };
    let (count, min, max): (i64, i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(min(version), 0), coalesce(max(version), 0) \
         FROM schema_migrations",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let newest_chain = if shape.extra[1] && count > 0 {
        conn.query_row(
            "SELECT chain FROM schema_migrations WHERE version = ?1",
            [max],
            |r| Ok(as_text(r.get_ref(0)?)),
        )?
    } else {
        None
    };
    Ok(Summary {
        count,
        min,
        max,
        newest_chain,
    })
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

/// Deletes the row of `version` (a down ran): only the newest row is ever
/// deleted, so the chain of the rows that stay is still right.
pub(crate) fn forget(conn: &Connection, version: u32) -> Result<(), Error> {
    conn.prepare_cached("DELETE FROM schema_migrations WHERE version = ?1")?
        .execute([version])?;
    Ok(())
}

/// A row to write.
pub(crate) struct Record<'a> {
    pub version: u32,
    pub description: &'a str,
    pub checksum: &'a [u8; 32],
    pub chain: &'a [u8; 32],
    pub duration_ms: Option<f64>,
    pub applied_by: &'a str,
    /// The migration's down, to store with it (see [`encode_items`]).
    pub down: Option<(String, [u8; 32])>,
}

/// Records a migration as applied, at the current UTC time (the table must
/// have this tool's columns: see [`ensure`]).
pub(crate) fn record(conn: &Connection, r: &Record<'_>) -> Result<(), Error> {
    let checksum = Hex64::new(r.checksum);
    let chain = Hex64::new(r.chain);
    let (version, description, duration_ms, applied_by) =
        (r.version, r.description, r.duration_ms, r.applied_by);
    // Without a down, the statement leaves its columns to their NULL
    // default: each migration's schema change makes SQLite compile the
    // INSERT again, and fewer columns compile faster.
    match &r.down {
        Some((sql, sum)) => conn
            .prepare_cached(
                "INSERT INTO schema_migrations \
                 (version, description, checksum, chain, duration_ms, applied_by, down_sql, \
                 down_checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(rusqlite::params![
                version,
                description,
                checksum.as_str(),
                chain.as_str(),
                duration_ms,
                applied_by,
                sql,
                Hex64::new(sum).as_str(),
            ])?,
        None => conn
            .prepare_cached(
                "INSERT INTO schema_migrations \
                 (version, description, checksum, chain, duration_ms, applied_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(rusqlite::params![
                version,
                description,
                checksum.as_str(),
                chain.as_str(),
                duration_ms,
                applied_by,
            ])?,
    };
    Ok(())
}

/// The down of `m` as [`record`] stores it: its items encoded, and its
/// checksum; `None` for an irreversible migration.
pub(crate) fn down_of(m: &crate::Migration) -> Option<(String, [u8; 32])> {
    Some((encode_items(m.down()?), m.down_checksum()?))
}

/// A down stored with its row, as read back (any column may be missing:
/// NULL, or the table predates the down columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredDown {
    pub version: i64,
    pub description: Option<String>,
    /// `down_sql` as stored: a JSON array of strings, unless edited.
    pub sql: Option<String>,
    /// `down_checksum` as stored: hex.
    pub checksum: Option<String>,
}

/// The stored downs of the versions in `above + 1..=upto`, newest first
/// (only the rows that exist).
pub(crate) fn stored_downs(
    conn: &Connection,
    above: i64,
    upto: i64,
) -> Result<Vec<StoredDown>, Error> {
    let Some(shape) = shape(conn)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT version, description, {}, {} FROM schema_migrations \
         WHERE version > ?1 AND version <= ?2 ORDER BY version DESC",
        shape.column(DOWN_SQL),
        shape.column(DOWN_CHECKSUM),
    ))?;
    let rows = stmt
        .query_map([above, upto], |row| {
            Ok(StoredDown {
                version: row.get(0)?,
                description: as_text(row.get_ref(1)?),
                sql: as_text(row.get_ref(2)?),
                checksum: as_text(row.get_ref(3)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// SQL items as a JSON array of strings, losslessly: every character kept
/// as written (the checksum is over the items, and SQLite runs them).
pub(crate) fn encode_items<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    // Serialising strings cannot fail.
    serde_json::to_string(&items).unwrap_or_default()
}

/// The items of a JSON array of strings; `None` when `text` is anything
/// else (edited by hand, or written by another tool).
pub(crate) fn decode_items(text: &str) -> Option<Vec<String>> {
    serde_json::from_str(text).ok()
}

/// Sets the checksum and chain of a recorded version, leaving the rest of
/// the row (its description and time) as it was.
pub(crate) fn set_checksum(
    conn: &Connection,
    version: u32,
    checksum: &[u8; 32],
    chain: &[u8; 32],
) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE schema_migrations SET checksum = ?2, chain = ?3 WHERE version = ?1",
    )?
    .execute(rusqlite::params![version, hex(checksum), hex(chain)])?;
    Ok(())
}

/// Lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The lower-case hexadecimal of a checksum or chain, on the stack: the
/// start-up check compares one chain this way, and [`record`] binds two
/// per migration, without allocating.
struct Hex64([u8; 64]);

impl Hex64 {
    fn new(bytes: &[u8; 32]) -> Hex64 {
        let mut text = [b'0'; 64];
        // 32 bytes always fill 64 digits: it cannot fail.
        let _ = hex::encode_to_slice(bytes, &mut text);
        Hex64(text)
    }

    fn as_str(&self) -> &str {
        // Hexadecimal digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Whether `text` is the lower-case hexadecimal of `bytes`, without
/// allocating.
pub(crate) fn is_hex_of(text: &str, bytes: &[u8; 32]) -> bool {
    text == Hex64::new(bytes).as_str()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_survive_encoding_exactly() {
        let items = [
            "CREATE TABLE t (\r\n  a TEXT DEFAULT 'x\"y\\z'\t)  \n",
            "",
            "INSERT INTO t VALUES ('\u{1}\u{1f}é漢🦀')",
            "-- /* \" */ ;",
        ];
        let text = encode_items(items);
        assert_eq!(
            decode_items(&text).as_deref(),
            Some(&items.map(String::from)[..])
        );
        assert_eq!(encode_items([]), "[]");
        assert_eq!(decode_items("[]"), Some(vec![]));
    }

    #[test]
    fn any_json_spelling_of_strings_is_read() {
        assert_eq!(
            decode_items(" [ \"a\\u00e9\\ud83e\\udd80\\/\" , \"\\b\\f\" ] "),
            Some(vec!["aé🦀/".to_owned(), "\u{8}\u{c}".to_owned()])
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "DROP TABLE t",
            "[",
            "[\"a\"",
            "[\"a\",]",
            "[\"a\"] x",
            "[1]",
            "[\"\\x\"]",
            "[\"\\ud800\"]",
            "[\"\\udc00\"]",
            "[\"a\nb\"]",
            "{\"a\": 1}",
        ] {
            assert_eq!(decode_items(text), None, "{text:?}");
        }
    }
}
