//! Databases for tests: each call gives its own database at the latest
//! version (or the target), in microseconds, so that every `#[test]` can
//! start from a migrated database of its own.
//!
//! The first call in a process builds a template in memory with `apply`
//! (the fresh path, when the history allows); every call copies the
//! template's pages with SQLite's backup API, which costs about what the
//! database's size does, not what its history does. Templates are kept per
//! list (the chain of its checksums), target and `applied_by`, for the
//! life of the process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use super::Migrator;
use crate::Error;

/// One template per list, target and build.
struct Template {
    chain: [u8; 32],
    target: u32,
    applied_by: String,
    conn: Connection,
}

static TEMPLATES: Mutex<Vec<Template>> = Mutex::new(Vec::new());

/// Numbers the temporary files of this process.
static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

/// A database file at the latest version, for one test: dereferences to its
/// connection, and removes the file (and its journal) when dropped. From
/// [`Migrator::temp_file`].
#[derive(Debug)]
pub struct TempDatabase {
    conn: Option<Connection>,
    path: PathBuf,
}

impl TempDatabase {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::ops::Deref for TempDatabase {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for TempDatabase {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        drop(self.conn.take());
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

impl Migrator<'_> {
    /// A new in-memory database at the latest version (or the target), for
    /// a test: the first call in a process migrates a template, each call
    /// copies it (tens of microseconds for a schema of a hundred tables),
    /// so each `#[test]` gets a database of its own whatever the length of
    /// the history. The connection has been through [`Self::prepare`] (the
    /// functions and extensions the migrator registers). A failure to
    /// migrate the template is the error `apply` gives.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::Migrations;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let migrations = Migrations::from_toml(r#"
    ///     [[migration]]
    ///     version = 1
    ///     description = "Create users table"
    ///     sql = ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)",
    ///            "INSERT INTO users VALUES ('admin', 'Admin')"]
    /// "#, "migrations.toml")?;
    ///
    /// let conn = migrations.migrator().in_memory()?;
    /// conn.execute("INSERT INTO users VALUES ('u1', 'Ann')", [])?;
    /// let users: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
    /// assert_eq!(users, 2);
    ///
    /// // Another call, another database: the first one's row is not there.
    /// let other = migrations.migrator().in_memory()?;
    /// let users: i64 = other.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
    /// assert_eq!(users, 1);
    /// assert_eq!(migrations.current_version(&other)?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn in_memory(&self) -> Result<Connection, Error> {
        let mut conn = Connection::open_in_memory().map_err(|e| self.classify(e))?;
        self.copy_template(&mut conn)?;
        self.prepare(&conn)?;
        Ok(conn)
    }

    /// [`Self::in_memory`] on a file in the system's temporary directory,
    /// for tests that need a path (another connection, another process):
    /// the file and its journal are removed when the [`TempDatabase`] is
    /// dropped. The journal mode a migration set (WAL) is set on it too.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::Migrations;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let migrations = Migrations::from_toml(
    ///     "[[migration]]\nversion = 1\ndescription = \"Create t\"\nsql = \"CREATE TABLE t (x)\"",
    ///     "migrations.toml",
    /// )?;
    /// let db = migrations.migrator().temp_file()?;
    /// db.execute("INSERT INTO t VALUES (1)", [])?;
    /// let path = db.path().to_path_buf();
    /// let other = migrate_core::rusqlite::Connection::open(&path)?;
    /// assert_eq!(other.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0))?, 1);
    /// drop(other);
    /// drop(db);
    /// assert!(!path.exists());
    /// # Ok(())
    /// # }
    /// ```
    pub fn temp_file(&self) -> Result<TempDatabase, Error> {
        let n = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "migrate-test-{}-{n}-{nanos}.db",
            std::process::id()
        ));
        let mut db = TempDatabase {
            conn: Some(Connection::open(&path).map_err(|e| self.classify(e))?),
            path,
        };
        self.copy_template(&mut db)?;
        if let Some(target) = self.image.and_then(|i| i.at(self.target_version())) {
            super::fresh::after_commit(&db, &target).map_err(|e| self.classify(e))?;
        }
        self.prepare(&db)?;
        Ok(db)
    }

    /// The version `apply` brings a database to.
    fn target_version(&self) -> u32 {
        let latest = self.migrations.last().map_or(0, |m| m.version());
        self.target.map_or(latest, |t| t.min(latest))
    }

    /// Copies this migrator's template into `conn`, building it first if
    /// this process has none yet.
    fn copy_template(&self, conn: &mut Connection) -> Result<(), Error> {
        let target = self.target_version();
        let chain = self.chain_at(target);
        let mut templates = TEMPLATES.lock().unwrap_or_else(PoisonError::into_inner);
        let found = templates.iter().position(|t| {
            t.chain == chain && t.target == target && t.applied_by == self.applied_by
        });
        let index = match found {
            Some(index) => index,
            None => {
                let mut template = Connection::open_in_memory().map_err(|e| self.classify(e))?;
                self.prepare(&template)?;
                self.apply(&mut template)?;
                templates.push(Template {
                    chain,
                    target,
                    applied_by: self.applied_by.to_owned(),
                    conn: template,
                });
                templates.len() - 1
            }
        };
        crate::backup::copy(&templates[index].conn, conn, self.busy_timeout)
    }
}
