//! `redo`: the latest version rolled back and applied again.

use rusqlite::Connection;

use super::Migrator;
use super::apply::{ApplyReport, Progress};
use super::down::DownReport;
use super::execute::interrupted;
use crate::Error;

impl<'m> Migrator<'m> {
    /// Rolls back the latest applied version and applies it again (`migrate
    /// redo`): for developing a migration and its down together, to see
    /// that the down undoes the up and the up runs again after it. Only
    /// that version is applied again, not what is pending after it. Refuses
    /// with [`Error::Irreversible`], changing nothing, when it has no down
    /// in this build, and with [`Error::Inconsistent`] when the database is
    /// at a version this build does not have (it could not apply it
    /// again). The [`before_changes`](Self::before_changes) hook runs once,
    /// before the down. If the up fails, the down stays committed: the
    /// database is at the version before, and the error says why.
    ///
    /// At version 0 there is nothing to redo: both reports are empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]),
    ///     Migration::new(2, "Add email", ["ALTER TABLE users ADD COLUMN email TEXT"])
    ///         .with_down(["ALTER TABLE users DROP COLUMN email"]),
    /// ];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    ///
    /// let (down, up) = migrator.redo(&mut conn)?;
    /// assert_eq!((down.reverted[0].0, down.version), (2, 1));
    /// assert_eq!((up.applied[0].0, up.version), (2, 2));
    ///
    /// // Version 1 has no down.
    /// migrator.down(&mut conn, 1)?;
    /// let err = migrator.redo(&mut conn).unwrap_err();
    /// assert!(matches!(err, Error::Irreversible { target: 0, .. }));
    /// assert_eq!(migrator.current_version(&conn)?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn redo(&self, conn: &mut Connection) -> Result<(DownReport, ApplyReport), Error> {
        self.redo_with(conn, |_| {}, |_| {})
    }

    /// [`Self::redo`], telling `down_progress` as the down starts and
    /// finishes and `up_progress` as the up does.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator, Progress};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])
    ///     .with_down(["DROP TABLE users"])];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    /// let mut seen = Vec::new();
    /// let mut down_seen = Vec::new();
    /// migrator.redo_with(
    ///     &mut conn,
    ///     |p| if let Progress::Started(m) = p { down_seen.push(m.version()) },
    ///     |p| if let Progress::Started(m) = p { seen.push(m.version()) },
    /// )?;
    /// assert_eq!((down_seen, seen), (vec![1], vec![1]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn redo_with(
        &self,
        conn: &mut Connection,
        down_progress: impl FnMut(Progress<'_>),
        up_progress: impl FnMut(Progress<'_>),
    ) -> Result<(DownReport, ApplyReport), Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let state = self
            .read_consistently(conn, |c| self.locked_state(c))
            .map_err(|e| interrupted(e, None))?;
        let Some(m) = u32::try_from(state.version)
            .ok()
            .filter(|&v| v > 0)
            .and_then(|v| self.get(v))
        else {
            return Ok((
                DownReport {
                    version: state.version,
                    ..DownReport::default()
                },
                ApplyReport {
                    version: state.version,
                    ..ApplyReport::default()
                },
            ));
        };
        let latest = m.version();
        if !m.is_reversible() {
            return Err(Error::Irreversible {
                target: latest - 1,
                versions: vec![(latest, m.description().to_owned())],
            });
        }
        let down = self.down_with(conn, latest - 1, down_progress)?;
        // One backup for the redo: the hook ran before the down.
        let mut up = self.clone().target(Some(latest));
        up.before_changes = None;
        let applied = up.apply_with(conn, up_progress)?;
        Ok((down, applied))
    }
}
