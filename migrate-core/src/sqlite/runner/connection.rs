//! What a connection needs before migrations run on it: the extensions
//! and functions the list declares.

#[cfg(feature = "load_extension")]
use std::path::Path;

use rusqlite::Connection;

use super::Migrator;
use crate::Error;

/// Whether `path` names a file (it has a directory part) that exists, as
/// given or with the platform's suffix for shared libraries, which SQLite
/// adds when the name as given cannot be loaded. A bare name is left to the
/// system's search for libraries.
#[cfg(feature = "load_extension")]
pub(super) fn check_extension_path(path: &Path) -> Result<(), Error> {
    let has_dir = path.parent().is_some_and(|p| !p.as_os_str().is_empty());
    if !has_dir || path.exists() {
        return Ok(());
    }
    let mut suffixed = path.as_os_str().to_owned();
    suffixed.push(std::env::consts::DLL_SUFFIX);
    if Path::new(&suffixed).exists() {
        return Ok(());
    }
    Err(Error::ExtensionLoadFailed {
        path: path.to_owned(),
        reason: "no such file".to_owned(),
    })
}

/// Loads the extension at `path` on `conn`; see [`Migrator::load_extension`].
#[cfg(feature = "load_extension")]
pub(super) fn load_extension(conn: &Connection, path: &Path) -> Result<(), Error> {
    check_extension_path(path)?;
    let failed = |e: rusqlite::Error| {
        let mut reason = crate::error::sqlite_message(&e)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // SQLite tries the name with the platform's suffix added last, and
        // reports that try: for a file that exists, say what it is not.
        let mut suffixed = path.as_os_str().to_owned();
        suffixed.push(std::env::consts::DLL_SUFFIX);
        if path.is_file() && reason.contains(&*Path::new(&suffixed).to_string_lossy()) {
            reason = "the file is not a shared library this program can load (not an SQLite \
                      extension, or built for another platform)"
                .to_owned();
        }
        Error::ExtensionLoadFailed {
            path: path.to_owned(),
            reason,
        }
    };
    // SAFETY: the library is one the program named (see
    // `Migrator::load_extension`); extension loading is on only while the
    // guard lives, and no SQL runs meanwhile.
    unsafe {
        let _guard = rusqlite::LoadExtensionGuard::new(conn).map_err(failed)?;
        conn.load_extension(path, None::<&str>).map_err(failed)
    }
}

impl<'m> Migrator<'m> {
    /// Loads the extensions of [`Self::load_extension`] on `conn`, then runs
    /// the hooks of [`Self::on_open`] on it: what [`Self::open`] and
    /// [`Self::apply_to_path`] do to the connection they open, for a
    /// connection you opened yourself. Run it once per connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::{Connection, functions::FunctionFlags};
    /// use migrate_core::{Function, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Seed", ["CREATE TABLE t (x)", "INSERT INTO t VALUES (twice(21))"])
    ///     .calling([Function::new("twice", 1)])];
    /// let migrator = Migrator::new(&list).on_open(|conn| {
    ///     conn.create_scalar_function("twice", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
    ///         Ok(2 * ctx.get::<i64>(0)?)
    ///     })
    /// });
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.prepare(&conn)?;
    /// migrator.apply(&mut conn)?;
    /// assert_eq!(conn.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0))?, 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn prepare(&self, conn: &Connection) -> Result<(), Error> {
        #[cfg(feature = "load_extension")]
        for path in &self.extensions {
            load_extension(conn, path)?;
        }
        for hook in &self.on_open {
            hook(conn).map_err(|e| self.classify(e))?;
        }
        Ok(())
    }

    /// Fails, before a database is opened, when an extension to load names
    /// a file that does not exist.
    pub(super) fn check_extensions(&self) -> Result<(), Error> {
        #[cfg(feature = "load_extension")]
        for path in &self.extensions {
            check_extension_path(path)?;
        }
        Ok(())
    }

    /// Fails with [`Error::FunctionNotRegistered`] when a pending migration
    /// (up to the target) calls a function declared in `migrations.toml`
    /// that `conn` does not have: the check [`Self::apply`] and
    /// [`Self::trial`] make before they run anything, for a caller that
    /// wants to know before doing anything else (the CLI, before its
    /// backup). Reads only.
    ///
    /// A function counts as registered when SQLite's `pragma_function_list`
    /// lists its name with its number of arguments, or with any number.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::{Connection, functions::FunctionFlags};
    /// use migrate_core::{Function, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Seed", ["CREATE TABLE t (x)", "INSERT INTO t VALUES (twice(2))"])
    ///     .calling([Function::new("twice", 1)])];
    /// let migrator = Migrator::new(&list);
    /// let conn = Connection::open_in_memory()?;
    /// let err = migrator.check_functions(&conn).unwrap_err();
    /// assert_eq!(err.code(), "function_not_registered");
    ///
    /// conn.create_scalar_function("twice", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
    ///     Ok(2 * ctx.get::<i64>(0)?)
    /// })?;
    /// migrator.check_functions(&conn)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_functions(&self, conn: &Connection) -> Result<(), Error> {
        if self.migrations.iter().all(|m| m.functions().is_empty()) {
            return Ok(());
        }
        let version = self.current_version(conn)?;
        self.check_functions_after(conn, version)
    }

    /// Refuses, before anything runs, when a migration after `version` (up
    /// to the target) calls a declared function that `conn` does not have.
    pub(super) fn check_functions_after(
        &self,
        conn: &Connection,
        version: i64,
    ) -> Result<(), Error> {
        let mut checked: Vec<&crate::Function> = Vec::new();
        for m in self.pending_after(version) {
            for f in m.functions() {
                if checked.contains(&f) {
                    continue;
                }
                if !crate::functions::is_registered(conn, f).map_err(|e| self.classify(e))? {
                    return Err(Error::FunctionNotRegistered {
                        version: m.version(),
                        description: m.description().to_owned(),
                        function: f.name().to_owned(),
                        args: f.args(),
                        extension: f.extension().map(str::to_owned),
                    });
                }
                checked.push(f);
            }
        }
        Ok(())
    }
}
