//! Which foreign keys a migration could have broken.
//!
//! `PRAGMA foreign_key_check` over the whole database reads every row of
//! every table with a foreign key: on a database with millions of child rows
//! that dwarfs a migration that only adds an index. SQLite's authorizer
//! tells, as each statement is prepared (trigger bodies included), which
//! tables it writes; only those can hold a new violation as children, and
//! only the tables referencing those can as parents. Anything the scope
//! cannot reason about (a PRAGMA, ATTACH) falls back to checking everything.
//!
//! Which table references which is read from the schema once per run (the
//! [`Graph`]) and kept up to date from what each migration created, altered
//! or dropped, so a run of many migrations does not rescan the schema for
//! each of them.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use crate::compat::HookResult as _;
use crate::functions::Calls;

/// What the statements prepared while recording wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// Tables that may have gained rows or changed values (as children).
    pub child: BTreeSet<String>,
    /// Tables that may have lost rows or keys (as parents).
    pub parent: BTreeSet<String>,
    /// Tables inserted into by a statement that cannot replace rows by its
    /// own conflict clause: parents only if their definition says
    /// `ON CONFLICT REPLACE`.
    pub inserted: BTreeSet<String>,
    /// Tables created or altered by a statement that says `REFERENCES`:
    /// their foreign keys may differ.
    pub reshaped: BTreeSet<String>,
    /// Tables dropped: they reference nothing now.
    pub dropped: BTreeSet<String>,
    /// Tables created (unless they existed already).
    pub created: BTreeSet<String>,
    /// Tables altered (renamed, or given a column).
    pub altered: BTreeSet<String>,
    /// Something the scope cannot reason about: check every table.
    pub everything: bool,
    /// The columns `UPDATE … SET` (or an upsert's `DO UPDATE SET`)
    /// assigns, as (table, column), lower-case: trigger bodies included.
    pub updated: BTreeSet<(String, String)>,
    /// Tables `DELETE FROM` deletes from, lower-case: trigger bodies
    /// included.
    pub deleted: BTreeSet<String>,
    /// The renames (`ALTER TABLE … RENAME …`), in the order they ran.
    pub renames: Vec<Rename>,
    /// A table in [`Self::created`] or [`Self::altered`] may not be a table
    /// in `main` under that name now, so only the schema can say: a
    /// statement that may rename one (its text says `rename`, or was never
    /// seen), may have created nothing (`IF NOT EXISTS`, which a view of
    /// that name also satisfies), or names another schema, or a savepoint
    /// rolled back to. Otherwise (and unless dropped too) every created
    /// table is there and every altered one still is, which spares a
    /// lookup per table after each migration.
    pub unsure: bool,
    /// Every `PRAGMA` prepared (name and value, lower-case), in order: the
    /// fresh path reproduces the settings they change, or refuses.
    pub pragmas: Vec<(String, Option<String>)>,
    /// A statement attached or detached a database.
    pub attached: bool,
    /// Virtual tables created, lower-case: they reference nothing, but the
    /// data proof gives them rows too.
    pub virtuals: BTreeSet<String>,
}

pub(crate) use crate::sql::Rename;

/// Every table a run's migrations wrote, created, altered or dropped (by
/// lower-case name), for the build-time proof, which keeps a copy of the
/// rows of each table and must know which to read again after a step
/// rather than read them all.
#[derive(Debug, Default, Clone)]
pub(crate) struct Touched {
    /// The tables, lower-case.
    pub tables: BTreeSet<String>,
    /// Something the authorizer cannot name tables for (a PRAGMA, ATTACH):
    /// any table may have changed.
    pub everything: bool,
    /// See [`Written::updated`]: the data proof lets a migration change
    /// the values it assigns on purpose.
    pub updated: BTreeSet<(String, String)>,
    /// See [`Written::deleted`]: the data proof lets a migration delete the
    /// rows it deletes on purpose.
    pub deleted: BTreeSet<String>,
    /// See [`Written::renames`]: the data proof follows a table, or a
    /// column, under its new name.
    pub renames: Vec<Rename>,
    /// See [`Written::pragmas`].
    pub pragmas: Vec<(String, Option<String>)>,
    /// See [`Written::attached`].
    pub attached: bool,
    /// See [`Written::dropped`]: a table that is gone after a step and was
    /// neither dropped nor renamed away had its name changed in a way the
    /// renames do not tell, and the copy looks at every table again.
    pub dropped: BTreeSet<String>,
    /// See [`Written::virtuals`].
    pub virtuals: BTreeSet<String>,
}

/// Where [`Scope`] collects [`Touched`] (see [`Scope::install`]).
pub(crate) type Writes = Arc<Mutex<Touched>>;

/// Takes what was noted in `writes` so far, leaving it empty.
pub(crate) fn take_writes(writes: &Writes) -> Touched {
    std::mem::take(&mut *lock(writes))
}

/// The authorizer's record, shared with the callback SQLite calls.
#[derive(Debug, Default)]
struct Watch {
    recording: AtomicBool,
    written: Mutex<Written>,
    /// What the statement being prepared does whose meaning depends on its
    /// text, until [`Scope::prepared`] sees it.
    statement: Mutex<Statement>,
}

/// See [`Watch::statement`].
#[derive(Debug, Default)]
struct Statement {
    /// Tables it inserts into directly (not from a trigger).
    inserting: BTreeSet<String>,
    /// Tables it creates or alters.
    reshaping: BTreeSet<String>,
    /// It begins, commits or rolls back a transaction (not a savepoint):
    /// SQLite's own reading of it, whatever the spelling (`ROLLBACK
    /// TRANSACTION name`, `END`, a name that starts with `to`).
    transaction: bool,
    /// It alters a table: its text says whether it renames one.
    altering: bool,
    /// It creates a table: its text says whether it may have created none
    /// (`IF NOT EXISTS`).
    creating: bool,
    /// Tables it deletes from (trigger bodies included).
    deleting: BTreeSet<String>,
    /// Tables it drops: SQLite's authorizer reports a DROP TABLE as a
    /// delete from the table too, which is no `DELETE FROM`.
    dropping: BTreeSet<String>,
}

/// The foreign-key scope of one run: the authorizer recording what each
/// migration writes, and the graph of which table references which.
#[derive(Debug)]
pub(crate) struct Scope {
    watch: Arc<Watch>,
    graph: RefCell<Option<Graph>>,
    /// Where to add what each migration wrote, when asked.
    writes: Option<Writes>,
}

impl Scope {
    /// Installs the authorizer on `conn`; remove it with [`Scope::remove`].
    /// It replaces any authorizer the caller had set, for the duration.
    /// With `calls`, it also notes there every function the migrations'
    /// statements call (the build-time proof's record of them), and with
    /// `writes`, every table they wrote.
    pub fn install(
        conn: &mut Connection,
        calls: Option<Calls>,
        writes: Option<Writes>,
    ) -> rusqlite::Result<Scope> {
        let watch = Arc::new(Watch::default());
        let seen = Arc::clone(&watch);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if seen.recording.load(Ordering::Relaxed) {
                match ctx.action {
                    // The most frequent by far (every column a statement
                    // names): nothing to note, no lock to take.
                    AuthAction::Read { .. } | AuthAction::Select => {}
                    AuthAction::Transaction { .. } => {
                        lock(&seen.statement).transaction = true;
                    }
                    AuthAction::Function { function_name } => {
                        if let Some(calls) = &calls {
                            crate::functions::note(calls, function_name);
                        }
                    }
                    // Whether a direct INSERT may replace (delete) rows
                    // depends on its text, known once it is prepared.
                    AuthAction::Insert { table_name } if ctx.accessor.is_none() => {
                        if !table_name.starts_with("sqlite_") {
                            lock(&seen.statement)
                                .inserting
                                .insert(table_name.to_lowercase());
                        }
                    }
                    action => {
                        let mut written = lock(&seen.written);
                        note(&mut written, &action);
                        // `CREATE TABLE aux.t` and `ALTER TABLE temp.t`
                        // say nothing about `main`.
                        match action {
                            AuthAction::CreateTable { .. } if ctx.database_name != Some("main") => {
                                written.unsure = true;
                            }
                            AuthAction::AlterTable { database_name, .. }
                                if database_name != "main" =>
                            {
                                written.unsure = true;
                            }
                            _ => {}
                        }
                        drop(written);
                        match action {
                            AuthAction::Delete { table_name } => {
                                lock(&seen.statement)
                                    .deleting
                                    .insert(table_name.to_lowercase());
                            }
                            AuthAction::DropTable { table_name } => {
                                lock(&seen.statement)
                                    .dropping
                                    .insert(table_name.to_lowercase());
                            }
                            _ => {}
                        }
                        // Whether a new or altered table's foreign keys
                        // changed depends on the text too.
                        if let AuthAction::CreateTable { table_name }
                        | AuthAction::AlterTable { table_name, .. } = action
                        {
                            let mut statement = lock(&seen.statement);
                            statement.reshaping.insert(table_name.to_lowercase());
                            if matches!(action, AuthAction::AlterTable { .. }) {
                                statement.altering = true;
                            } else {
                                statement.creating = true;
                            }
                        }
                    }
                }
            }
            Authorization::Allow
        }))
        .into_result()?;
        Ok(Scope {
            watch,
            graph: RefCell::new(None),
            writes,
        })
    }

    pub fn remove(conn: &mut Connection) {
        let _ = conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    }

    /// Starts recording a migration's statements; reads the graph first
    /// unless it is known, so that the tables a migration renames can be
    /// told from the ones that were there before it.
    pub fn begin(&self, conn: &Connection) -> rusqlite::Result<()> {
        if self.graph.borrow().is_none() {
            self.graph.replace(Some(Graph::read(conn)?));
        }
        *lock(&self.watch.written) = Written::default();
        *lock(&self.watch.statement) = Statement::default();
        self.watch.recording.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Tells the scope the text of the statement just prepared: the tables
    /// it inserts into are children, and parents too when it may replace
    /// rows (`INSERT OR REPLACE`, `REPLACE INTO`), which deletes the rows it
    /// conflicts with, and with them the keys other tables point to. A table
    /// it creates or alters can only have gained foreign keys if it says
    /// `REFERENCES` (dropping a column SQLite refuses for a foreign key, and
    /// renaming one keeps the tables it references). Returns whether the
    /// statement begins, commits or rolls back a transaction, as SQLite
    /// read it while preparing it.
    pub fn prepared(&self, sql: &str) -> bool {
        let statement = std::mem::take(&mut *lock(&self.watch.statement));
        let deletes: Vec<String> = deleted(&statement).collect();
        let controls_transaction = statement.transaction;
        let replaces = !statement.inserting.is_empty() && mentions(sql, b"replace");
        let mut w = lock(&self.watch.written);
        for table in statement.inserting {
            w.child.insert(table.clone());
            if replaces {
                w.parent.insert(table);
            } else {
                w.inserted.insert(table);
            }
        }
        if !statement.reshaping.is_empty() && mentions(sql, b"references") {
            w.reshaped.extend(statement.reshaping);
        }
        if statement.altering {
            w.renames.extend(crate::sql::rename(sql));
        }
        // No table is renamed without the word, and only `IF NOT EXISTS`
        // lets a `CREATE TABLE` that ran create nothing.
        if (statement.altering && mentions(sql, b"rename"))
            || (statement.creating && mentions(sql, b"exists"))
        {
            w.unsure = true;
        }
        w.deleted.extend(deletes);
        controls_transaction
    }

    /// Stops recording and returns what was written.
    pub fn end(&self) -> Written {
        self.watch.recording.store(false, Ordering::Relaxed);
        let mut w = std::mem::take(&mut *lock(&self.watch.written));
        // What a statement did whose text was never seen (prepared again
        // while running): assume the worst.
        let statement = std::mem::take(&mut *lock(&self.watch.statement));
        let deletes: Vec<String> = deleted(&statement).collect();
        for table in statement.inserting {
            w.child.insert(table.clone());
            w.parent.insert(table);
        }
        w.deleted.extend(deletes);
        w.reshaped.extend(statement.reshaping);
        w.unsure |= statement.altering || statement.creating;
        if let Some(writes) = &self.writes {
            let mut touched = lock(writes);
            touched.everything |= w.everything;
            touched.updated.extend(w.updated.iter().cloned());
            touched.deleted.extend(w.deleted.iter().cloned());
            touched.renames.extend(w.renames.iter().cloned());
            touched.pragmas.extend(w.pragmas.iter().cloned());
            touched.attached |= w.attached;
            touched.dropped.extend(w.dropped.iter().cloned());
            touched.virtuals.extend(w.virtuals.iter().cloned());
            for set in [
                &w.child,
                &w.parent,
                &w.inserted,
                &w.dropped,
                &w.created,
                &w.altered,
            ] {
                touched.tables.extend(set.iter().cloned());
            }
        }
        w
    }

    /// Forgets the graph: another connection changed the database, or
    /// changes were rolled back, since it was read.
    pub fn forget(&self) {
        self.graph.replace(None);
    }

    /// The tables whose rows `PRAGMA foreign_key_check` must look at after a
    /// migration that wrote `w`; `None` means all of them.
    pub fn tables_to_check(
        &self,
        conn: &Connection,
        w: &Written,
    ) -> rusqlite::Result<Option<BTreeSet<String>>> {
        if w.everything {
            self.forget();
            return Ok(None);
        }
        if w.child.is_empty() && w.parent.is_empty() {
            return Ok(Some(BTreeSet::new()));
        }
        let mut slot = self.graph.borrow_mut();
        let Some(graph) = &mut *slot else {
            return Ok(None);
        };
        for table in &w.dropped {
            graph.set(table, BTreeSet::new());
            graph.tables.remove(table);
        }
        // Ask the schema only about the tables the authorizer's record
        // leaves in doubt (see `Written::unsure`).
        let unsure = |table: &String| w.unsure || w.dropped.contains(table);
        for table in &w.created {
            if !unsure(table) || exists(conn, table)? {
                graph.tables.insert(table.clone());
            }
        }
        for table in &w.reshaped {
            graph.refresh(conn, table)?;
        }
        let mut check = BTreeSet::new();
        let gone: Vec<&String> = w
            .altered
            .iter()
            .filter(|t| unsure(t))
            .filter_map(|t| exists(conn, t).map(|e| (!e).then_some(t)).transpose())
            .collect::<rusqlite::Result<_>>()?;
        if !gone.is_empty() {
            // Altered, then gone: renamed (a table rebuild's `ALTER TABLE
            // new RENAME TO old`). The authorizer does not say the new name:
            // it is among the tables that are there now and were not before.
            let now = Graph::tables(conn)?;
            let appeared: Vec<String> = now.difference(&graph.tables).cloned().collect();
            if appeared.is_empty() {
                *slot = None;
                return Ok(None);
            }
            // SQLite rewrites other tables' references to a renamed table,
            // unless `legacy_alter_table` is on: then they point at a name
            // that is gone, and their rows must be checked.
            let legacy: bool = conn.query_row("PRAGMA legacy_alter_table", [], |r| r.get(0))?;
            for old in gone {
                let referrers: Vec<String> = graph.children_of(old).cloned().collect();
                graph.set(old, BTreeSet::new());
                for child in referrers.into_iter().filter(|c| now.contains(c)) {
                    graph.refresh(conn, &child)?;
                    if legacy {
                        check.insert(child);
                    }
                }
            }
            // Under its new name, the renamed table's rows are what the
            // migration wrote.
            for table in appeared {
                graph.refresh(conn, &table)?;
                if graph.is_child(&table) {
                    check.insert(table);
                }
            }
            graph.tables = now;
        }
        let mut parents: Vec<&String> = w.parent.iter().collect();
        for table in &w.inserted {
            if graph.is_parent(table) && graph.replaces(conn, table)? {
                parents.push(table);
            }
        }
        for parent in parents {
            check.extend(graph.children_of(parent).cloned());
        }
        check.extend(w.child.iter().filter(|t| graph.is_child(t)).cloned());
        Ok(Some(check))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a statement's text has `word` anywhere, in any case: a keyword
/// (`OR REPLACE`, `REFERENCES`) or also a name or literal, which only costs
/// a closer look.
fn mentions(sql: &str, word: &[u8]) -> bool {
    sql.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// The tables a statement deletes from, not counting those it drops.
fn deleted(statement: &Statement) -> impl Iterator<Item = String> + '_ {
    statement
        .deleting
        .difference(&statement.dropping)
        .filter(|t| !t.starts_with("sqlite_"))
        .cloned()
}

fn note(w: &mut Written, action: &AuthAction<'_>) {
    let mut add = |set: fn(&mut Written) -> &mut BTreeSet<String>, table: &str| {
        if !table.starts_with("sqlite_") {
            set(w).insert(table.to_lowercase());
        }
    };
    match action {
        // From a trigger's body: its conflict clause is not in the text of
        // the statement that fired it, so it may replace rows.
        AuthAction::Insert { table_name } => {
            add(|w| &mut w.child, table_name);
            add(|w| &mut w.parent, table_name);
        }
        AuthAction::CreateTable { table_name } => {
            add(|w| &mut w.child, table_name);
            add(|w| &mut w.created, table_name);
        }
        AuthAction::DropTable { table_name } => {
            add(|w| &mut w.parent, table_name);
            add(|w| &mut w.dropped, table_name);
        }
        AuthAction::Delete { table_name } => add(|w| &mut w.parent, table_name),
        AuthAction::Update {
            table_name,
            column_name,
        } => {
            add(|w| &mut w.child, table_name);
            add(|w| &mut w.parent, table_name);
            if !table_name.starts_with("sqlite_") {
                w.updated
                    .insert((table_name.to_lowercase(), column_name.to_lowercase()));
            }
        }
        // Adding, dropping or renaming a column keeps every key a child
        // points to (SQLite refuses to drop a column that is a key, and
        // rewrites references to a renamed one); a column added with a
        // REFERENCES clause and a default can break the table as a child.
        // Renaming the table is caught as "altered, then gone".
        AuthAction::AlterTable { table_name, .. } => {
            add(|w| &mut w.child, table_name);
            add(|w| &mut w.altered, table_name);
        }
        AuthAction::CreateVtable { table_name, .. } => add(|w| &mut w.virtuals, table_name),
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            w.everything = true;
            w.pragmas.push((
                pragma_name.to_lowercase(),
                pragma_value.map(str::to_lowercase),
            ));
        }
        AuthAction::Attach { .. } => {
            w.everything = true;
            w.attached = true;
        }
        AuthAction::Detach { .. } => w.attached = true,
        AuthAction::Unknown { .. } => {
            w.everything = true;
        }
        // `ROLLBACK TO` can undo a `CREATE TABLE` the record still holds.
        AuthAction::Savepoint { .. } => w.unsure = true,
        _ => {}
    }
}

/// Whether `table` is a table in schema `main`; false for a view.
fn exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    crate::compat::table_exists(conn, table)
}

/// Which table references which, by lower-case name, in schema `main`.
#[derive(Debug, Default)]
struct Graph {
    /// Every table, as far as this run knows.
    tables: HashSet<String>,
    /// Each table declaring foreign keys, with the tables they reference.
    parents: HashMap<String, BTreeSet<String>>,
    /// Each referenced table, with the tables referencing it.
    children: HashMap<String, BTreeSet<String>>,
    /// Whether a table's definition may replace rows on a conflict, as far
    /// as asked.
    replaces: HashMap<String, bool>,
}

impl Graph {
    /// Reads the whole schema: one scan for the tables, telling those that
    /// declare any foreign key, then their lists.
    fn read(conn: &Connection) -> rusqlite::Result<Graph> {
        let mut stmt = conn.prepare_cached(
            "SELECT lower(name), sql LIKE '%references%' FROM sqlite_master \
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?;
        let rows: Vec<(String, bool)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut graph = Graph::default();
        for (table, references) in rows {
            if references {
                graph.refresh(conn, &table)?;
            }
            graph.tables.insert(table);
        }
        Ok(graph)
    }

    /// The names of the tables there are now.
    fn tables(conn: &Connection) -> rusqlite::Result<HashSet<String>> {
        let mut stmt = conn.prepare_cached(
            "SELECT lower(name) FROM sqlite_master \
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?;
        stmt.query_map([], |r| r.get(0))?.collect()
    }

    /// Reads `table`'s foreign keys again.
    fn refresh(&mut self, conn: &Connection, table: &str) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT lower(\"table\") FROM pragma_foreign_key_list(?1, 'main')",
        )?;
        let parents = stmt
            .query_map([table], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        self.set(table, parents);
        Ok(())
    }

    /// Records that `table` references `parents` (and nothing else).
    fn set(&mut self, table: &str, parents: BTreeSet<String>) {
        if let Some(old) = self.parents.remove(table) {
            for parent in old {
                if let Some(children) = self.children.get_mut(&parent) {
                    children.remove(table);
                }
            }
        }
        for parent in &parents {
            self.children
                .entry(parent.clone())
                .or_default()
                .insert(table.to_owned());
        }
        if !parents.is_empty() {
            self.parents.insert(table.to_owned(), parents);
        }
        self.replaces.remove(table);
    }

    fn is_child(&self, table: &str) -> bool {
        self.parents.contains_key(table)
    }

    fn is_parent(&self, table: &str) -> bool {
        self.children.get(table).is_some_and(|c| !c.is_empty())
    }

    fn children_of(&self, table: &str) -> impl Iterator<Item = &String> {
        self.children.get(table).into_iter().flatten()
    }

    /// Whether `table`'s definition has an `ON CONFLICT REPLACE` clause
    /// (or the word anywhere in it: a default, a CHECK), which makes a plain
    /// INSERT delete the rows it conflicts with. Asked only for referenced
    /// tables, and remembered until the table is reshaped.
    fn replaces(&mut self, conn: &Connection, table: &str) -> rusqlite::Result<bool> {
        if let Some(&known) = self.replaces.get(table) {
            return Ok(known);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT coalesce(max(sql LIKE '%replace%'), 0) FROM sqlite_master \
             WHERE type = 'table' AND lower(name) = ?1",
        )?;
        let replaces: bool = stmt.query_row([table], |r| r.get(0))?;
        self.replaces.insert(table.to_owned(), replaces);
        Ok(replaces)
    }
}
