//! Running one migration's statements: foreign keys off around the
//! transactions, each statement through SQLite's parser, the foreign-key
//! check before commit, and errors that name the statement.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Batch, Connection};

use super::Migrator;
use crate::compat;
use crate::fkscope::{Scope, Written};
use crate::sql::{first_statement, one_line, skip_trivia};
use crate::{Error, Migration};

/// Longest statement text quoted in messages.
pub(super) const QUOTE_LEN: usize = 80;

/// An SQLite error met while locking or reading before a migration, as
/// [`Error::Interrupted`]: it says what stayed as it was. Other errors
/// already do.
pub(super) fn interrupted(e: Error, applied_up_to: Option<u32>) -> Error {
    match e {
        Error::Sqlite(source) => Error::Interrupted {
            source: Box::new(source),
            applied_up_to,
        },
        other => other,
    }
}

/// [`Error::ReadOnly`] for a database this process cannot write: SQLite
/// opens a file it may not write read-only, and a directory it may not
/// write in keeps it from creating the journal; said before anything runs,
/// not as the first statement's "attempt to write a readonly database".
pub(super) fn refuse_read_only(conn: &Connection) -> Result<(), Error> {
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(Error::ReadOnly);
    }
    match conn.path().filter(|p| !p.is_empty()) {
        Some(path) => crate::backup::check_writable(Path::new(path)),
        None => Ok(()),
    }
}

/// Runs a migration's statements, then checks the foreign keys they could
/// have broken, which `scope` saw them write. Returns what they wrote.
pub(super) fn run_checked(
    conn: &Connection,
    m: &Migration,
    scope: &Scope,
) -> Result<Written, Error> {
    scope.begin(conn)?;
    let ran = run_statements(conn, m, scope);
    let written = scope.end();
    ran?;
    check_foreign_keys(conn, m, scope, &written)?;
    Ok(written)
}

/// Runs a migration's statements one at a time through SQLite's own parser,
/// so triggers (`BEGIN ...; ...; END`) and literals holding `;` or `--` work,
/// and a failure names the statement.
pub(super) fn run_statements(conn: &Connection, m: &Migration, scope: &Scope) -> Result<(), Error> {
    let mut number = 0;
    for (item_index, item) in m.sql().enumerate() {
        let mut batch = Batch::new(conn, item);
        // Where the next statement starts in `item`, for pointing at it.
        let mut cursor = 0;
        // `base` is where the text SQLite was handed starts: its error
        // offsets count from there.
        let fail = |number: usize, start: usize, base: usize, sql: &str, source| {
            let error_offset = match &source {
                rusqlite::Error::SqlInputError { offset, .. } => usize::try_from(*offset)
                    .ok()
                    .map(|o| (base + o).min(item.len())),
                _ => None,
            };
            Error::MigrationFailed {
                version: m.version(),
                description: m.description().to_owned(),
                statement: number,
                sql: one_line(sql, QUOTE_LEN),
                transactional: m.is_transactional(),
                item: item_index,
                offset: start,
                error_offset,
                source: Box::new(source),
            }
        };
        loop {
            let rest = item.get(cursor..).unwrap_or("");
            let start = cursor + (rest.len() - skip_trivia(rest).len());
            let mut stmt = match compat::next_statement(&mut batch) {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                // SQLite could not prepare it, so never said where it ends.
                Err(e) => return Err(fail(number + 1, start, cursor, first_statement(rest), e)),
            };
            number += 1;
            let text = stmt.expanded_sql().unwrap_or_default();
            // SQLite's own reading, through the authorizer while it prepared
            // the statement: no spelling of ROLLBACK slips past.
            let controls_transaction = scope.prepared(&text);
            let base = cursor;
            // SQLite's text of a statement is the input's, from where it
            // starts: searching is for the rare case it is not.
            if item
                .get(start..)
                .is_some_and(|s| s.starts_with(text.as_str()))
            {
                cursor = start + text.len();
            } else if let Some(at) = rest.find(text.as_str()) {
                cursor += at + text.len();
            }
            if m.is_transactional() && controls_transaction {
                return Err(Error::TransactionControl {
                    version: m.version(),
                    description: m.description().to_owned(),
                    statement: number,
                    sql: one_line(&text, QUOTE_LEN),
                    item: item_index,
                    offset: start,
                });
            }
            // Step through any rows (PRAGMA journal_mode returns one).
            let started = Instant::now();
            let _logged = StatementLog {
                version: m.version(),
                number,
                text: &text,
                started,
            };
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(fail(number, start, base, &text, e)),
                }
            }
        }
    }
    Ok(())
}

/// Milliseconds, to the microsecond, for logs.
pub(super) fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Logs a statement with how long it took (at `debug`, for `migrate -v`),
/// when dropped: after it ran, however it ended.
pub(super) struct StatementLog<'a> {
    version: u32,
    number: usize,
    text: &'a str,
    started: Instant,
}

impl Drop for StatementLog<'_> {
    fn drop(&mut self) {
        tracing::debug!(
            version = self.version,
            statement = self.number,
            elapsed_ms = millis(self.started.elapsed()),
            "{}",
            one_line(self.text, 200)
        );
    }
}

/// Fails when any row breaks a foreign key, as sqlite.org's procedure asks,
/// looking only at the tables the migration could have affected (see
/// [`crate::fkscope`]).
pub(super) fn check_foreign_keys(
    conn: &Connection,
    m: &Migration,
    scope: &Scope,
    written: &Written,
) -> Result<(), Error> {
    let describe = |row: &rusqlite::Row<'_>| {
        let table: String = row.get(0)?;
        let rowid: Option<i64> = row.get(1)?;
        let parent: String = row.get(2)?;
        Ok(match rowid {
            Some(id) => format!("{table} rowid {id} references a missing {parent} row"),
            None => format!("a {table} row references a missing {parent} row"),
        })
    };
    let mut violations = Vec::new();
    match scope.tables_to_check(conn, written)? {
        None => {
            let mut stmt = conn.prepare_cached("PRAGMA foreign_key_check")?;
            for v in stmt.query_map([], describe)? {
                violations.push(v?);
            }
        }
        // Nothing to check, as after most migrations: not even a cache
        // lookup.
        Some(tables) if tables.is_empty() => {}
        Some(tables) => {
            let mut stmt = conn.prepare_cached("SELECT * FROM pragma_foreign_key_check(?1)")?;
            for table in tables {
                for v in stmt.query_map([table], describe)? {
                    violations.push(v?);
                }
            }
        }
    }
    if violations.is_empty() {
        return Ok(());
    }
    Err(Error::ForeignKeyViolation {
        version: m.version(),
        description: m.description().to_owned(),
        count: violations.len(),
        examples: violations
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        transactional: m.is_transactional(),
    })
}

impl<'m> Migrator<'m> {
    /// Runs `work` with foreign-key enforcement off, and puts it back as it
    /// was however `work` ends. PRAGMA foreign_keys is a no-op inside a
    /// transaction, so this must wrap the transactions, not run inside them.
    /// `work` also gets the authorizer's record of what each migration
    /// writes, to check only the foreign keys it could have broken.
    pub(super) fn without_foreign_keys<T>(
        &self,
        conn: &mut Connection,
        work: impl FnOnce(&mut Connection, &Scope) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let enforced: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(|e| interrupted(self.classify(e), None))?;
        if enforced {
            conn.pragma_update(None, "foreign_keys", false)
                .map_err(|e| interrupted(self.classify(e), None))?;
        }
        let result = match Scope::install(conn, self.calls.clone(), self.writes.clone()) {
            Ok(scope) => {
                let result = work(conn, &scope);
                Scope::remove(conn);
                result
            }
            Err(e) => Err(interrupted(self.classify(e), None)),
        };
        if enforced {
            let restored = conn.pragma_update(None, "foreign_keys", true);
            if let (Ok(_), Err(e)) = (&result, restored) {
                return Err(self.classify(e));
            }
        }
        result
    }

    /// An error recording or committing `m`, after its statements ran: a
    /// busy database stays busy; anything else from SQLite (a full disk)
    /// names the migration.
    pub(super) fn not_committed(&self, m: &Migration, e: Error) -> Error {
        match self.reclassify(e) {
            Error::Sqlite(source) => Error::CommitFailed {
                version: m.version(),
                description: m.description().to_owned(),
                source: Box::new(source),
            },
            other => other,
        }
    }
}
