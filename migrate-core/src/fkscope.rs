//! Which foreign keys a migration could have broken.
//!
//! `PRAGMA foreign_key_check` over the whole database reads every row of
//! every table with a foreign key: on a database with millions of child rows
//! that dwarfs a migration that only adds an index. SQLite's authorizer
//! tells, as each statement is prepared (trigger bodies included), which
//! tables it writes; only those can hold a new violation as children, and
//! only the children of those can as parents. Anything the scope cannot
//! reason about (a PRAGMA, ATTACH) falls back to checking everything.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// What the statements prepared while recording wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// Tables that may have gained rows or changed values (as children).
    pub child: BTreeSet<String>,
    /// Tables that may have lost rows or keys (as parents).
    pub parent: BTreeSet<String>,
    /// Tables altered (renamed, or given a column).
    pub altered: BTreeSet<String>,
    /// Something the scope cannot reason about: check every table.
    pub everything: bool,
}

/// The authorizer's record, shared with the callback SQLite calls.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    recording: AtomicBool,
    written: Mutex<Written>,
}

impl Watch {
    /// Installs the authorizer on `conn`; remove it with [`Watch::remove`].
    /// It replaces any authorizer the caller had set, for the duration.
    pub fn install(conn: &mut Connection) -> rusqlite::Result<Arc<Watch>> {
        let watch = Arc::new(Watch::default());
        let seen = Arc::clone(&watch);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if seen.recording.load(Ordering::Relaxed) {
                let mut w = seen.written.lock().unwrap_or_else(PoisonError::into_inner);
                note(&mut w, &ctx.action);
            }
            Authorization::Allow
        }))?;
        Ok(watch)
    }

    pub fn remove(conn: &mut Connection) {
        let _ = conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    }

    /// Starts recording a migration's statements.
    pub fn begin(&self) {
        *self.written.lock().unwrap_or_else(PoisonError::into_inner) = Written::default();
        self.recording.store(true, Ordering::Relaxed);
    }

    /// Stops recording and returns what was written.
    pub fn end(&self) -> Written {
        self.recording.store(false, Ordering::Relaxed);
        std::mem::take(&mut *self.written.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn note(w: &mut Written, action: &AuthAction<'_>) {
    let mut add = |set: fn(&mut Written) -> &mut BTreeSet<String>, table: &str| {
        if !table.starts_with("sqlite_") {
            set(w).insert(table.to_lowercase());
        }
    };
    match action {
        // A new table has no rows, but checking it is free and catches a
        // foreign key SQLite cannot check at all (a "foreign key mismatch").
        AuthAction::Insert { table_name } | AuthAction::CreateTable { table_name } => {
            add(|w| &mut w.child, table_name)
        }
        AuthAction::Delete { table_name } | AuthAction::DropTable { table_name } => {
            add(|w| &mut w.parent, table_name)
        }
        AuthAction::Update { table_name, .. } => {
            add(|w| &mut w.child, table_name);
            add(|w| &mut w.parent, table_name);
        }
        AuthAction::AlterTable { table_name, .. } => {
            add(|w| &mut w.child, table_name);
            add(|w| &mut w.parent, table_name);
            add(|w| &mut w.altered, table_name);
        }
        AuthAction::Pragma { .. } | AuthAction::Attach { .. } | AuthAction::Unknown { .. } => {
            w.everything = true;
        }
        _ => {}
    }
}

/// The tables whose rows `PRAGMA foreign_key_check` must look at after a
/// migration that wrote `w`; `None` means all of them.
pub(crate) fn tables_to_check(
    conn: &Connection,
    w: &Written,
) -> rusqlite::Result<Option<BTreeSet<String>>> {
    if w.everything {
        return Ok(None);
    }
    let mut check = BTreeSet::new();
    // Looked up by name (a hash lookup in SQLite), not by scanning the schema.
    let mut exists = conn.prepare_cached(
        "SELECT name FROM pragma_table_list(?1) WHERE schema = 'main' AND type = 'table'",
    )?;
    for table in &w.child {
        match exists
            .query_map([table], |r| r.get::<_, String>(0))?
            .next()
            .transpose()?
        {
            Some(name) => {
                check.insert(name);
            }
            // Written, then gone: dropped, or renamed (a table rebuild's
            // `ALTER TABLE new RENAME TO old`), and the authorizer does not
            // say the new name; its rows must be checked under that name.
            None if w.altered.contains(table) => return Ok(None),
            None => {}
        }
    }
    if w.parent.is_empty() {
        return Ok(Some(check));
    }
    // Children of a changed parent: among the tables that declare any
    // foreign key (one text scan of the schema for all parents), those whose
    // foreign-key list names one of them.
    let mut with_keys = conn.prepare_cached(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%references%'",
    )?;
    let candidates: Vec<String> = with_keys
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut parents_of =
        conn.prepare_cached("SELECT DISTINCT lower(\"table\") FROM pragma_foreign_key_list(?1)")?;
    for child in candidates {
        let parents: Vec<String> = parents_of
            .query_map([&child], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if parents.iter().any(|p| w.parent.contains(p)) {
            check.insert(child);
        }
    }
    Ok(Some(check))
}
