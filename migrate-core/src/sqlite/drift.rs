//! Drift: a live schema that is not the schema its version should have (a
//! column added by hand, an index dropped, a table changed outside the
//! migrations), and `baseline`, which must not record a version whose schema
//! the database does not have.
//!
//! The build embedded the fingerprint of the schema after every version, so
//! the normal case costs one read of `sqlite_master`. Only when fingerprints
//! differ is the expected schema rebuilt, by applying the migrations to an
//! in-memory database, to name every difference.

use std::collections::BTreeMap;
use std::fmt;

use rusqlite::Connection;

use crate::schema::{Schema, SchemaObject, normalize_sql};
use crate::sql::one_line;
use crate::{Error, Function, Migration, Migrations, Migrator, Problem, Status};

/// One way a live schema differs from the schema of its version.
///
/// Displayed, it says what differs in a sentence, as `migrate check` prints
/// it.
///
/// # Examples
///
/// ```
/// use migrate_core::{Change, Difference};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// #
/// # [[migration]]
/// # version = 2
/// # description = "Index users by name"
/// # sql = "CREATE INDEX idx_users_name ON users(name)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
/// migrations.apply(&mut conn)?;
///
/// // Someone adds a column by hand.
/// conn.execute_batch("ALTER TABLE users ADD COLUMN email TEXT")?;
///
/// let differences = migrations.schema_differences(&conn, 2)?;
/// assert_eq!(differences, [Difference {
///     kind: "column".to_owned(),
///     name: "users.email".to_owned(),
///     change: Change::Added,
/// }]);
/// assert_eq!(
///     differences[0].to_string(),
///     "column `users.email` is not made by any migration (added by hand?)",
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `table`, `column`, `index`, `view` or `trigger`.
    pub kind: String,
    /// Its name (`table.column` for a column).
    pub name: String,
    /// What happened to it.
    pub change: Change,
}

/// What differs about one object.
///
/// # Examples
///
/// ```
/// use migrate_core::Change;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// #
/// # [[migration]]
/// # version = 2
/// # description = "Index users by name"
/// # sql = "CREATE INDEX idx_users_name ON users(name)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
/// migrations.apply(&mut conn)?;
/// conn.execute_batch(
///     "DROP INDEX idx_users_name; CREATE INDEX idx_users_name ON users(name DESC)",
/// )?;
///
/// let differences = migrations.schema_differences(&conn, 2)?;
/// assert_eq!(differences.len(), 1);
/// assert_eq!(differences[0].kind, "index");
/// match &differences[0].change {
///     Change::Changed { expected, found } => {
///         assert_eq!(expected, "CREATE INDEX idx_users_name ON users(name)");
///         assert_eq!(found, "CREATE INDEX idx_users_name ON users(name DESC)");
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// In the database, made by no migration (added by hand).
    Added,
    /// Made by a migration, missing from the database (dropped).
    Missing,
    /// In both, defined differently.
    Changed {
        /// The definition the migrations produce.
        expected: String,
        /// The definition in the database.
        found: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Difference { kind, name, change } = self;
        match change {
            Change::Added => write!(
                f,
                "{kind} `{name}` is not made by any migration (added by hand?)"
            ),
            Change::Missing => write!(f, "{kind} `{name}` is missing (dropped by hand?)"),
            Change::Changed { expected, found } => write!(
                f,
                "{kind} `{name}` differs: the migrations make `{expected}`, the database has \
                 `{found}`"
            ),
        }
    }
}

/// What `migrate check` found: see [`Migrations::check`].
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const TEXT: &str = r#"
/// # [[migration]]
/// # version = 1
/// # description = "Create users table"
/// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
/// #
/// # [[migration]]
/// # version = 2
/// # description = "Index users by name"
/// # sql = "CREATE INDEX idx_users_name ON users(name)"
/// # "#;
/// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
/// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
///
/// // Pending migrations make a check fail.
/// let report = migrations.check(&conn)?;
/// assert_eq!(report.status.pending, [1, 2]);
/// assert!(!report.is_clean());
///
/// migrations.apply(&mut conn)?;
/// let report = migrations.check(&conn)?;
/// assert!(report.is_clean());
/// assert!(report.differences.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// Where the database stands (pending, unknown, skipped or modified
    /// migrations are failures of the check).
    pub status: Status,
    /// How the live schema differs from its version's; empty when it agrees,
    /// and when the version is unknown to this build (then `status` says so).
    pub differences: Vec<Difference>,
}

impl CheckReport {
    /// True only when nothing is pending, nothing is wrong with the record
    /// and the schema is exactly its version's: fit to deploy or serve.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    /// migrations.apply(&mut conn)?;
    /// assert!(migrations.check(&conn)?.is_clean());
    ///
    /// conn.execute_batch("DROP INDEX idx_users_name")?;
    /// assert!(!migrations.check(&conn)?.is_clean());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_clean(&self) -> bool {
        self.status.pending.is_empty()
            && self.status.problems.is_empty()
            && self.differences.is_empty()
    }
}

impl Migrations {
    /// Why the database on `conn` (a backup about to be restored) does not
    /// hold this build's history, or `None` when it does: every recorded
    /// version known with its description and checksum, none skipped, and
    /// the schema exactly its version's. A backup at an older version than
    /// the build (migrations pending) is this application's. Reads only.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    /// assert_eq!(migrations.foreign_history(&conn)?, None, "an empty one is at version 0");
    /// migrations.apply(&mut conn)?;
    /// assert_eq!(migrations.foreign_history(&conn)?, None);
    ///
    /// conn.execute("UPDATE schema_migrations SET description = 'Create carts table'", [])?;
    /// assert_eq!(
    ///     migrations.foreign_history(&conn)?.as_deref(),
    ///     Some("it records version 1 as \"Create carts table\", this build as \"Create users table\""),
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn foreign_history(&self, conn: &Connection) -> Result<Option<String>, Error> {
        let report = self.check(conn)?;
        if let Some(problem) = report.status.problems.first() {
            return Ok(Some(problem.to_string()));
        }
        for row in self.migrator().history(conn)? {
            let known = u32::try_from(row.version).ok().and_then(|v| self.get(v));
            if let (Some(m), Some(recorded)) = (known, &row.description)
                && recorded.trim() != m.description().trim()
            {
                return Ok(Some(format!(
                    "it records version {} as {recorded:?}, this build as {:?}",
                    m.version(),
                    m.description()
                )));
            }
        }
        if let Some(first) = report.differences.first() {
            return Ok(Some(format!(
                "its schema is not version {}'s: {first}{}",
                report.status.current_version,
                match report.differences.len() {
                    1 => String::new(),
                    n => format!(" (and {} more differences)", n - 1),
                }
            )));
        }
        Ok(None)
    }

    /// Compares the database with this build: its record (see
    /// [`Migrations::status`]) and its schema with the fingerprint of its
    /// version. Reads only.
    ///
    /// When the record says the database is at a version this build knows,
    /// the live schema is compared with that version's; the report lists
    /// both kinds of finding, and [`CheckReport::is_clean`] says whether
    /// there is any. For the record and the schema of one moment, call it
    /// inside a read transaction ([`crate::snapshot`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::{Change, Problem};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    /// migrations.apply(&mut conn)?;
    /// assert!(migrations.check(&conn)?.is_clean());
    ///
    /// // An index dropped by hand, and a row of the record deleted by hand.
    /// conn.execute_batch(
    ///     "DROP INDEX idx_users_name; DELETE FROM schema_migrations WHERE version = 1",
    /// )?;
    /// let report = migrations.check(&conn)?;
    /// assert!(!report.is_clean());
    /// assert!(matches!(report.status.problems[..], [Problem::NeverApplied { version: 1, .. }]));
    /// assert_eq!(report.differences.len(), 1);
    /// assert_eq!(report.differences[0].name, "idx_users_name");
    /// assert_eq!(report.differences[0].change, Change::Missing);
    /// # Ok(())
    /// # }
    /// ```
    pub fn check(&self, conn: &Connection) -> Result<CheckReport, Error> {
        let status = self.status(conn)?;
        let unknown = status
            .problems
            .iter()
            .any(|p| matches!(p, Problem::UnknownVersion { .. }));
        let differences = match u32::try_from(status.current_version) {
            Ok(version) if !unknown => self.schema_differences(conn, version)?,
            _ => Vec::new(),
        };
        Ok(CheckReport {
            status,
            differences,
        })
    }

    /// How the schema of `conn` differs from the schema after `version`;
    /// empty when they agree. Reads only.
    ///
    /// The normal case, a schema that agrees, costs one read of
    /// `sqlite_master`: its fingerprint is compared with the one the build
    /// embedded ([`Migrations::expected_schema`]). Only when they differ are
    /// the migrations applied to an in-memory database, to name each
    /// difference (column by column for a table).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::Change;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    /// migrations.apply(&mut conn)?;
    /// assert!(migrations.schema_differences(&conn, 2)?.is_empty());
    ///
    /// // At version 2, the database has an index version 1 does not make.
    /// let differences = migrations.schema_differences(&conn, 1)?;
    /// assert_eq!(differences.len(), 1);
    /// assert_eq!(differences[0].kind, "index");
    /// assert_eq!(differences[0].name, "idx_users_name");
    /// assert_eq!(differences[0].change, Change::Added);
    /// # Ok(())
    /// # }
    /// ```
    pub fn schema_differences(
        &self,
        conn: &Connection,
        version: u32,
    ) -> Result<Vec<Difference>, Error> {
        let live =
            Schema::read(conn).map_err(|e| Error::from_sqlite(e, crate::DEFAULT_BUSY_TIMEOUT))?;
        if self.expected_schema(version) == Some(live.fingerprint()) {
            return Ok(Vec::new());
        }
        let upto = usize::try_from(version)
            .unwrap_or(usize::MAX)
            .min(self.len());
        differences_from(&self[..upto], self.functions(), conn, &live)
    }

    /// Records versions 1..=`version` as applied without running them, for
    /// a database whose schema was made before it used this tool (e.g. by
    /// hand, or by the migrations of another tool). Refuses when the schema
    /// is not the one of `version` (unless `force`) or when anything is
    /// recorded already.
    ///
    /// The later migrations are then applied as usual. With `force`, the
    /// schema is not compared: use it only when you know the differences
    /// are harmless, since the migrations recorded will never run.
    ///
    /// # Errors
    ///
    /// [`Error::BaselineMismatch`] when the schema differs from `version`'s,
    /// [`Error::AlreadyTracked`] when the database records migrations (the
    /// schema is compared first, so a tracked database at another version
    /// gets the former).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::Error;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// // A database made by hand, with the schema of version 1.
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    /// conn.execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)")?;
    ///
    /// // It is not at version 2: refused, nothing recorded.
    /// let err = migrations.baseline(&mut conn, 2, false).unwrap_err();
    /// assert!(matches!(err, Error::BaselineMismatch { version: 2, .. }));
    /// assert_eq!(migrations.current_version(&conn)?, 0);
    ///
    /// // It is at version 1: recorded without running it; the rest applies.
    /// migrations.baseline(&mut conn, 1, false)?;
    /// assert_eq!(migrations.current_version(&conn)?, 1);
    /// let history = migrations.migrator().history(&conn)?;
    /// assert!(history[0].applied_by.as_deref().unwrap().starts_with("baseline by "));
    /// assert_eq!(migrations.apply(&mut conn)?.applied.len(), 1);
    ///
    /// // Only once.
    /// let err = migrations.baseline(&mut conn, 2, false).unwrap_err();
    /// assert!(matches!(err, Error::AlreadyTracked { version: 2 }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn baseline(&self, conn: &mut Connection, version: u32, force: bool) -> Result<(), Error> {
        self.migrator().known_version(version)?;
        if !force {
            let differences = self.schema_differences(conn, version)?;
            if !differences.is_empty() {
                let shown: Vec<String> =
                    differences.iter().take(5).map(|d| d.to_string()).collect();
                let more = differences.len().saturating_sub(shown.len());
                return Err(Error::BaselineMismatch {
                    version,
                    differences: format!(
                        "{}{}",
                        shown.join("; "),
                        if more > 0 {
                            format!("; and {more} more")
                        } else {
                            String::new()
                        }
                    ),
                });
            }
        }
        self.migrator().baseline(conn, version)
    }
}

/// How the schema of `conn` (`live`, read from it) differs from the one
/// `migrations` make, applied in order to an in-memory database with the
/// build's stand-ins for the declared `functions`, as in its proof; empty
/// when they agree. The drift check and the proof's round trip of a down
/// (whose schema must be the previous version's) say what differs in the
/// same terms.
pub(crate) fn differences_from(
    migrations: &[Migration],
    functions: &[Function],
    conn: &Connection,
    live: &Schema,
) -> Result<Vec<Difference>, Error> {
    let mut expected_db = Connection::open_in_memory()?;
    crate::functions::register_stand_ins(&expected_db, functions, None)?;
    Migrator::new(migrations).apply(&mut expected_db)?;
    let expected = Schema::read(&expected_db)?;
    compare(&expected_db, &expected, conn, live)
}

fn compare(
    expected_db: &Connection,
    expected: &Schema,
    live_db: &Connection,
    live: &Schema,
) -> Result<Vec<Difference>, Error> {
    let index = |s: &Schema| -> BTreeMap<(String, String), SchemaObject> {
        s.objects
            .iter()
            .map(|o| ((o.kind.clone(), o.name.clone()), o.clone()))
            .collect()
    };
    let (want, have) = (index(expected), index(live));
    let mut out = Vec::new();
    for ((kind, name), o) in &want {
        match have.get(&(kind.clone(), name.clone())) {
            None => out.push(Difference {
                kind: kind.clone(),
                name: name.clone(),
                change: Change::Missing,
            }),
            Some(found) => {
                let (a, b) = (
                    normalize_sql(o.sql.as_deref().unwrap_or("")),
                    normalize_sql(found.sql.as_deref().unwrap_or("")),
                );
                if a == b {
                    continue;
                }
                let columns = if kind == "table" {
                    column_differences(name, expected_db, live_db)?
                } else {
                    Vec::new()
                };
                if columns.is_empty() {
                    out.push(Difference {
                        kind: kind.clone(),
                        name: name.clone(),
                        // Compared normalised, shown as written (on one line).
                        change: Change::Changed {
                            expected: one_line(o.sql.as_deref().unwrap_or(""), 500),
                            found: one_line(found.sql.as_deref().unwrap_or(""), 500),
                        },
                    });
                } else {
                    out.extend(columns);
                }
            }
        }
    }
    for (kind, name) in have.keys() {
        if !want.contains_key(&(kind.clone(), name.clone())) {
            out.push(Difference {
                kind: kind.clone(),
                name: name.clone(),
                change: Change::Added,
            });
        }
    }
    Ok(out)
}

/// Column by column: added, missing, or with another type, NOT NULL,
/// default or key.
fn column_differences(
    table: &str,
    expected_db: &Connection,
    live_db: &Connection,
) -> Result<Vec<Difference>, Error> {
    let columns = |conn: &Connection| -> rusqlite::Result<Vec<(String, String)>> {
        let mut stmt = conn.prepare(
            "SELECT name, trim(type || CASE WHEN \"notnull\" THEN ' NOT NULL' ELSE '' END \
             || CASE WHEN dflt_value IS NOT NULL THEN ' DEFAULT ' || dflt_value ELSE '' END \
             || CASE WHEN pk THEN ' PRIMARY KEY' ELSE '' END) \
             FROM pragma_table_info(?1) ORDER BY cid",
        )?;
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    };
    let want = columns(expected_db)?;
    let have = columns(live_db)?;
    let mut out = Vec::new();
    let column = |name: &str, change| Difference {
        kind: "column".to_owned(),
        name: format!("{table}.{name}"),
        change,
    };
    for (name, decl) in &want {
        match have.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            None => out.push(column(name, Change::Missing)),
            Some((_, found)) if found != decl => out.push(column(
                name,
                Change::Changed {
                    expected: decl.clone(),
                    found: found.clone(),
                },
            )),
            Some(_) => {}
        }
    }
    for (name, _) in &have {
        if !want.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            out.push(column(name, Change::Added));
        }
    }
    Ok(out)
}
