//! `baseline`: record versions as applied without running them.

use rusqlite::{Connection, TransactionBehavior};

use super::Migrator;
use crate::Error;
use crate::tracking::{self, Record};

impl<'m> Migrator<'m> {
    /// Records versions 1..=`version` as applied without running them
    /// (`migrate baseline`), for a database whose schema was made before it
    /// used this tool. Refuses when anything is recorded already. The caller
    /// checks the schema first (see [`crate::Migrations::baseline`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// // A database whose users table was made before it used migrations.
    /// let mut conn = Connection::open_in_memory()?;
    /// conn.execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)")?;
    ///
    /// let migrator = Migrator::new(&list);
    /// migrator.baseline(&mut conn, 1)?;
    /// assert_eq!(migrator.current_version(&conn)?, 1);
    /// assert_eq!(migrator.apply(&mut conn)?.applied.len(), 1);
    ///
    /// let err = migrator.baseline(&mut conn, 1).unwrap_err();
    /// assert!(matches!(err, Error::AlreadyTracked { version: 2 }));
    ///
    /// // A version this build does not have is refused.
    /// let mut other = Connection::open_in_memory()?;
    /// let err = migrator.baseline(&mut other, 3).unwrap_err();
    /// assert!(matches!(err, Error::NoSuchVersion { version: 3, latest: 2 }));
    /// assert_eq!(migrator.current_version(&other)?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn baseline(&self, conn: &mut Connection, version: u32) -> Result<(), Error> {
        self.known_version(version)?;
        // Its own wait for the lock, not the connection's (rusqlite's 5 s).
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.classify(e))?;
        tracking::ensure(&tx).map_err(|e| self.reclassify(e))?;
        let summary = tracking::summary(&tx).map_err(|e| self.reclassify(e))?;
        if summary.count > 0 {
            return Err(Error::AlreadyTracked {
                version: summary.max,
            });
        }
        let by = format!("baseline by {}", self.applied_by);
        for m in self
            .migrations
            .iter()
            .take_while(|m| m.version() <= version)
        {
            tracking::record(
                &tx,
                &Record {
                    version: m.version(),
                    description: m.description(),
                    checksum: &m.checksum(),
                    chain: &self.chain_at(m.version()),
                    duration_ms: None,
                    applied_by: &by,
                    down: tracking::down_of(m),
                },
            )
            .map_err(|e| self.reclassify(e))?;
        }
        tx.commit().map_err(|e| self.classify(e))?;
        Ok(())
    }

    /// Refuses a version this build does not have ([`Error::NoSuchVersion`]).
    pub(crate) fn known_version(&self, version: u32) -> Result<(), Error> {
        let latest = self.migrations.last().map_or(0, crate::Migration::version);
        if version == 0 || version > latest {
            return Err(Error::NoSuchVersion { version, latest });
        }
        Ok(())
    }
}
