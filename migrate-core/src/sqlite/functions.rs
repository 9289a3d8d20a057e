//! Declared functions: the build-time proof's stand-ins for them, and the
//! run-time check that a connection has them.
//!
//! A stand-in returns NULL, whatever its arguments. The proof runs on an
//! empty database, so it must show that the statements prepare and run, not
//! what the real function computes, and the stand-in cannot know the real
//! result's type. NULL is SQL's "unknown": every constraint but `NOT NULL`
//! accepts it (a `CHECK` is satisfied, a `UNIQUE` index sees distinct
//! values, a `STRICT` column of any type takes it, a foreign key is not
//! checked), where returning the first argument would pretend to know the
//! result (a `vec_length(blob)` giving a blob fails `CHECK (vec_length(v) =
//! 3)` and a `STRICT` `INTEGER` column, on a value the real function never
//! returns). A `NOT NULL` column filled from a declared function in the
//! migration's own seed rows is the one case a stand-in fails, and the
//! build's message then says why.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

use crate::Function;

/// Names of the functions the statements of a migration called, lower-case:
/// filled by the authorizer as statements are prepared and by the stand-ins
/// as they run.
pub(crate) type Calls = Arc<Mutex<BTreeSet<String>>>;

/// Notes a call of `name` in `calls`.
pub(crate) fn note(calls: &Calls, name: &str) {
    let mut set = calls.lock().unwrap_or_else(PoisonError::into_inner);
    if !set.contains(name) {
        set.insert(name.to_ascii_lowercase());
    }
}

/// The calls noted so far, emptied.
pub(crate) fn take(calls: &Calls) -> BTreeSet<String> {
    std::mem::take(&mut *calls.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Registers on `conn` a stand-in for each of `functions`, with its number
/// of arguments and its determinism (so SQLite refuses a non-deterministic
/// one in an index as it will in production), returning NULL and noting
/// each call in `calls`.
pub(crate) fn register_stand_ins(
    conn: &Connection,
    functions: &[Function],
    calls: Option<&Calls>,
) -> rusqlite::Result<()> {
    for f in functions {
        let mut flags = FunctionFlags::SQLITE_UTF8;
        if f.is_deterministic() {
            flags |= FunctionFlags::SQLITE_DETERMINISTIC;
        }
        let calls = calls.cloned();
        let name = f.name().to_ascii_lowercase();
        conn.create_scalar_function(f.name(), f.args(), flags, move |_| {
            if let Some(calls) = &calls {
                note(calls, &name);
            }
            Ok(rusqlite::types::Null)
        })?;
    }
    Ok(())
}

/// Whether `conn` has `f`: a function of that name (SQLite ignores case)
/// registered with its number of arguments, or with any number (-1); for a
/// function declared with any number, any registration of the name.
pub(crate) fn is_registered(conn: &Connection, f: &Function) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM pragma_function_list WHERE name = ?1 COLLATE NOCASE \
         AND (?2 < 0 OR narg = ?2 OR narg = -1)",
    )?;
    stmt.exists(rusqlite::params![f.name(), f.args()])
}

/// The names of SQLite's own functions (built in, or added by the
/// compile-time options of the bundled SQLite), lower-case.
pub(crate) fn builtins() -> rusqlite::Result<BTreeSet<String>> {
    let conn = Connection::open_in_memory()?;
    let mut stmt = conn.prepare("SELECT DISTINCT lower(name) FROM pragma_function_list")?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_list_sees_registrations_by_name_and_arity() {
        let conn = Connection::open_in_memory().unwrap();
        let two = Function::new("Normalize", 2);
        let any = Function::new("normalize", -1);
        let one = Function::new("normalize", 1);
        assert!(!is_registered(&conn, &two).unwrap());
        assert!(!is_registered(&conn, &any).unwrap());
        conn.create_scalar_function("normalize", 2, FunctionFlags::SQLITE_UTF8, |_| {
            Ok(rusqlite::types::Null)
        })
        .unwrap();
        assert!(is_registered(&conn, &two).unwrap());
        assert!(is_registered(&conn, &any).unwrap());
        assert!(!is_registered(&conn, &one).unwrap());
        // A registration for any number of arguments serves every count.
        conn.create_scalar_function("normalize", -1, FunctionFlags::SQLITE_UTF8, |_| {
            Ok(rusqlite::types::Null)
        })
        .unwrap();
        assert!(is_registered(&conn, &one).unwrap());
        // Built-in functions are listed too, which is why declaring one is
        // refused.
        assert!(builtins().unwrap().contains("lower"));
        assert!(!builtins().unwrap().contains("normalize"));
    }

    #[test]
    fn stand_ins_return_null_and_note_their_calls() {
        let conn = Connection::open_in_memory().unwrap();
        let calls = Calls::default();
        let declared = [Function::new("Base64_Encode", 1).deterministic()];
        register_stand_ins(&conn, &declared, Some(&calls)).unwrap();
        let value: Option<String> = conn
            .query_row("SELECT base64_encode('x')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(value, None);
        assert_eq!(take(&calls), BTreeSet::from(["base64_encode".to_owned()]));
        assert!(take(&calls).is_empty());
        // Deterministic, so an index may use it.
        conn.execute_batch("CREATE TABLE t (x); CREATE INDEX i ON t(base64_encode(x))")
            .unwrap();
    }
}
