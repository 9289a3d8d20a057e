//! `repair`: accept this build's SQL as what ran.

use rusqlite::{Connection, TransactionBehavior};

use super::Migrator;
use super::state::Problem;
use crate::Error;
use crate::tracking;

impl<'m> Migrator<'m> {
    /// Records this build's checksums for every applied version whose
    /// recorded checksum differs (`migrate repair`), after the user confirmed
    /// that the edited SQL is what should count as having run. Returns the
    /// versions whose checksum changed. Refuses while the database records
    /// versions this build does not know or skipped one.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator, Problem};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = Connection::open_in_memory()?;
    /// let original = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])];
    /// Migrator::new(&original).apply(&mut conn)?;
    ///
    /// // The SQL was edited afterwards (here, a comment added).
    /// let edited = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT) -- UUIDs"])];
    /// let migrator = Migrator::new(&edited);
    /// assert!(matches!(migrator.status(&conn)?.problems[..], [Problem::Modified { version: 1, .. }]));
    /// assert!(matches!(migrator.apply(&mut conn), Err(Error::Inconsistent { .. })));
    ///
    /// // Accept the edited SQL as what ran.
    /// assert_eq!(migrator.repair(&mut conn)?, [1]);
    /// assert!(migrator.status(&conn)?.problems.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn repair(&self, conn: &mut Connection) -> Result<Vec<u32>, Error> {
        // Its own wait for the lock, not the connection's (rusqlite's 5 s).
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.classify(e))?;
        let status = self.assess(tracking::read(&tx).map_err(|e| self.reclassify(e))?);
        let blocking: Vec<Problem> = status
            .problems
            .iter()
            .filter(|p| !matches!(p, Problem::Modified { .. }))
            .cloned()
            .collect();
        if !blocking.is_empty() {
            return Err(Error::Inconsistent { problems: blocking });
        }
        let repaired = status
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::Modified { version, .. } => Some(*version),
                _ => None,
            })
            .collect();
        tracking::ensure(&tx).map_err(|e| self.reclassify(e))?;
        let mut chain = [0; 32];
        for row in tracking::read(&tx)? {
            if let Some(m) = u32::try_from(row.version).ok().and_then(|v| self.get(v)) {
                chain = crate::checksum::chain(&chain, &m.checksum());
                tracking::set_checksum(&tx, m.version(), &m.checksum(), &chain)?;
            }
        }
        tx.commit().map_err(|e| self.classify(e))?;
        Ok(repaired)
    }
}
