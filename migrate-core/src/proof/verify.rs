//! The build-time proof: every migration of a list runs, in order, against a
//! fresh in-memory SQLite through the same runner (and so the same bundled
//! SQLite, foreign-key procedure and transaction rules) that applies it in
//! production. A statement SQLite rejects becomes a build error that points
//! into the file the user edits; the schema after each version becomes a
//! fingerprint embedded beside the migrations. A migration with a down is
//! also taken back and applied again (the round trip, `roundtrip.rs`): its
//! down must give the previous version's schema and rows.

use std::collections::BTreeSet;

use rusqlite::Connection;

use super::fresh::Recorder;
use super::roundtrip::{Start, Trip};
use super::rows::Rows;
use crate::error::sqlite_message;
use crate::fkscope::{Writes, take_writes};
use crate::functions::Calls;
use crate::list::fresh::FreshImage;
use crate::manifest::{Diagnostic, Location, Manifest, ManifestError, SqlOrigin};
use crate::schema::{Fingerprint, Fingerprinter, Schema};
use crate::{Error, Function, Migration, Migrations, Migrator};

pub use super::data::{NeededLosses, needed_losses};
pub use super::roundtrip::Mismatch;
pub use super::rows::RowDifference;

/// What the proof produced: see [`prove`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The schema's fingerprint after each version: index 0 is version 1.
    pub fingerprints: Vec<Fingerprint>,
    /// The schema after the last migration.
    pub schema: Schema,
    /// For each version (index 0 is version 1), the declared functions its
    /// statements call, as declared, in alphabetical order (see
    /// [`prove_with_functions`]).
    pub calls: Vec<Vec<String>>,
    /// What the build should warn about: the migrations that fail on the
    /// data proof's generated rows, but not on the empty database (see
    /// [`prove_manifest`]); empty from [`prove`] and
    /// [`prove_with_functions`], which run no data proof.
    pub warnings: Vec<Diagnostic>,
    /// What a fresh database at each version needs (see
    /// [`Proof::fresh_image`]).
    pub(crate) fresh: FreshImage,
}

impl Proof {
    /// What a fresh database at each version needs, as the proof's
    /// database showed it after each version (schema objects, the rows of
    /// the tables migrations wrote, settings), encoded as
    /// `embed_migrations!` embeds it; `apply` builds an empty database from
    /// it in one transaction. Not a stable format.
    pub fn fresh_image(&self) -> String {
        self.fresh.encode()
    }
}

/// A migration SQLite rejected during the proof, or whose down does not
/// take the database back to the previous version: see [`prove`].
#[derive(Debug)]
pub struct Rejection {
    /// The version being applied, or taken back, when it failed (0: before
    /// any).
    pub version: u32,
    /// What failed.
    pub failure: Failure,
    /// A suggestion when the error names something close to an existing
    /// table or column (`did you mean `users`?`).
    pub hint: Option<String>,
}

impl Rejection {
    /// The runner's error, as it would have been at run time; `None` for a
    /// down that ran but left another schema or other rows.
    pub fn error(&self) -> Option<&Error> {
        match &self.failure {
            Failure::Up(e) | Failure::Down(e) | Failure::UpAgain(e) => Some(e),
            Failure::NotReversed(_) => None,
        }
    }
}

/// What failed in the proof of one version.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// Applying the migration: the runner's error.
    Up(Error),
    /// Its down, run after it: the runner's error, [`Error::DownFailed`]
    /// for the down's own statements and checks.
    Down(Error),
    /// Applying the migration again after its down.
    UpAgain(Error),
    /// The down ran, but the database is not what it should be.
    NotReversed(Mismatch),
}

/// Applies `migrations` one version at a time to a fresh in-memory database
/// and fingerprints the schema after each. After a migration with a down,
/// runs the down and requires the previous version's schema and rows, then
/// applies the migration again and requires its schema
/// ([`Failure::Down`], [`Failure::NotReversed`], [`Failure::UpAgain`]).
///
/// This is what `embed_migrations!` and [`Migrations::from_toml`] run; the
/// fingerprints become [`Migrations::expected_schema`] and the schema
/// [`Migrations::final_schema`].
///
/// [`Migrations::from_toml`]: crate::Migrations::from_toml
/// [`Migrations::expected_schema`]: crate::Migrations::expected_schema
/// [`Migrations::final_schema`]: crate::Migrations::final_schema
///
/// # Examples
///
/// ```
/// use migrate_core::verify::prove;
/// use migrate_core::Migration;
///
/// let users = Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY)"]);
/// let list = [
///     users.clone(),
///     Migration::new(2, "Add the admin", ["INSERT INTO users VALUES ('admin')"]),
///     Migration::new(3, "Index users", ["CREATE INDEX idx_users_id ON users(id)"]),
/// ];
/// let proof = prove(&list).unwrap();
/// assert_eq!(proof.fingerprints.len(), 3);
/// assert_eq!(proof.fingerprints[0], proof.fingerprints[1]); // data only: same schema
/// assert_ne!(proof.fingerprints[1], proof.fingerprints[2]);
/// assert_eq!(
///     proof.schema.to_sql(),
///     "CREATE TABLE users (id TEXT PRIMARY KEY);\nCREATE INDEX idx_users_id ON users(id);\n",
/// );
///
/// // A statement SQLite rejects, with a suggestion for the typo.
/// let list = [users, Migration::new(2, "Index users", ["CREATE INDEX idx_users_id ON userz(id)"])];
/// let rejection = prove(&list).unwrap_err();
/// assert_eq!(rejection.version, 2);
/// assert_eq!(rejection.error().map(|e| e.code()), Some("migration_failed"));
/// assert_eq!(rejection.hint.as_deref(), Some("did you mean `users`?"));
///
/// // A down that leaves the index its migration made.
/// let users = Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT, name TEXT)"]);
/// let list = [
///     users.clone(),
///     Migration::new(2, "Index users", ["CREATE INDEX i ON users(name)"]).with_down(["SELECT 1"]),
/// ];
/// let rejection = prove(&list).unwrap_err();
/// assert_eq!(rejection.version, 2);
/// assert!(matches!(
///     rejection.failure,
///     migrate_core::verify::Failure::NotReversed(migrate_core::verify::Mismatch::Schema(_))
/// ));
/// let list = [users, list[1].clone().with_down(["DROP INDEX i"])];
/// assert_eq!(prove(&list).unwrap().fingerprints.len(), 2);
/// ```
pub fn prove(migrations: &[Migration]) -> Result<Proof, Box<Rejection>> {
    prove_with_functions(migrations, &[])
}

/// [`prove`] for migrations that call `functions`, the functions
/// `migrations.toml` declares: each gets a stand-in that returns NULL (see
/// the README's section on functions for why NULL), and [`Proof::calls`]
/// says which migrations call which.
///
/// A call is seen through SQLite's authorizer, which reports every function
/// a statement calls as it is prepared (the bodies of the triggers it fires
/// included), and through the stand-ins, which note each call as it runs.
///
/// # Examples
///
/// ```
/// use migrate_core::verify::prove_with_functions;
/// use migrate_core::{Function, Migration};
///
/// let list = [
///     Migration::new(1, "Create users table", ["CREATE TABLE users (name TEXT)"]),
///     Migration::new(2, "Normalize names", ["UPDATE users SET name = normalize(name, 'NFC')"]),
/// ];
/// let declared = [Function::new("normalize", 2).deterministic()];
/// let proof = prove_with_functions(&list, &declared).unwrap();
/// assert_eq!(proof.calls, [vec![], vec!["normalize".to_owned()]]);
///
/// // Undeclared, SQLite does not know it, and the hint says how to declare it.
/// let rejection = prove_with_functions(&list, &[]).unwrap_err();
/// assert_eq!(rejection.version, 2);
/// let hint = rejection.hint.unwrap();
/// assert!(hint.contains("[[function]]\nname = \"normalize\"\nargs = 2\n"), "{hint}");
/// ```
pub fn prove_with_functions(
    migrations: &[Migration],
    functions: &[Function],
) -> Result<Proof, Box<Rejection>> {
    let plain = |version: u32| {
        move |error: rusqlite::Error| {
            Box::new(Rejection {
                version,
                failure: Failure::Up(Error::Sqlite(error)),
                hint: None,
            })
        }
    };
    let mut conn = Connection::open_in_memory().map_err(plain(0))?;
    let noted = Calls::default();
    crate::functions::register_stand_ins(&conn, functions, Some(&noted)).map_err(plain(0))?;
    let mut fingerprints = Vec::with_capacity(migrations.len());
    let mut calls = Vec::with_capacity(migrations.len());
    let mut fingerprinter = Fingerprinter::default();
    // The rows are followed only from the version before the first down to
    // the last down: a list without downs costs what it did before them.
    let last_down = migrations.iter().rposition(Migration::is_reversible);
    let mut rows: Option<Rows> = None;
    let writes = Writes::default();
    let mut recorder = Recorder::default();
    for n in 1..=migrations.len() {
        let m = &migrations[n - 1];
        let version = m.version();
        let start = if m.is_reversible() {
            if rows.is_none() {
                rows = Some(Rows::read(&conn).map_err(plain(version))?);
            }
            Some(Start::read(&conn).map_err(plain(version))?)
        } else {
            None
        };
        // What the statements write is noted for every version: the fresh
        // image reads again the tables a version wrote.
        let migrator = Migrator::new(&migrations[..n])
            .noting_calls(Calls::clone(&noted))
            .noting_writes(Writes::clone(&writes));
        let applied = migrator.apply(&mut conn);
        let every_call = crate::functions::take(&noted);
        let touched = take_writes(&writes);
        let called = declared_among(functions, &every_call);
        if let Err(error) = applied {
            let hint = suggest_at_failure(&conn, m, &error, functions, &called);
            return Err(Box::new(Rejection {
                version,
                failure: Failure::Up(error),
                hint,
            }));
        }
        calls.push(called);
        fingerprints.push(fingerprinter.fingerprint(&conn).map_err(plain(version))?);
        if let Some(followed) = &mut rows {
            let before = followed
                .sync(&conn, touched.clone())
                .map_err(plain(version))?;
            if let Some(start) = start {
                let trip = Trip {
                    conn: &mut conn,
                    migrations: &migrations[..n],
                    functions,
                    fingerprinter: &mut fingerprinter,
                    fingerprints: &fingerprints,
                    rows: followed,
                    writes: &writes,
                };
                let result = trip.run(&start, before);
                // The down's calls, and the second up's, are not the
                // version's: they were noted when it was first applied.
                let called = declared_among(functions, &crate::functions::take(&noted));
                if let Err(failure) = result {
                    let hint = suggest_in_round_trip(&conn, m, &failure, functions, &called);
                    return Err(Box::new(Rejection {
                        version,
                        failure,
                        hint,
                    }));
                }
            }
        }
        if last_down.is_some_and(|last| n > last) {
            rows = None;
        }
        recorder
            .after(&conn, m, &every_call, &touched, functions)
            .map_err(plain(version))?;
    }
    let latest = migrations.last().map_or(0, Migration::version);
    let schema = Schema::read(&conn).map_err(plain(latest))?;
    Ok(Proof {
        fingerprints,
        schema,
        calls,
        warnings: Vec::new(),
        fresh: recorder.finish(),
    })
}

/// [`suggest_at_failure`] for a round trip that failed in the down (among
/// the down's statements) or in applying the migration again.
fn suggest_in_round_trip(
    conn: &Connection,
    m: &Migration,
    failure: &Failure,
    functions: &[Function],
    called: &[String],
) -> Option<String> {
    match failure {
        Failure::Down(Error::DownFailed { source, .. }) => {
            suggest_at_failure(conn, &m.down_step()?, source, functions, called)
        }
        Failure::UpAgain(error) => suggest_at_failure(conn, m, error, functions, called),
        _ => None,
    }
}

/// The names, as declared, of the declared functions among `noted` (the
/// lower-case names of every function called), sorted, each once.
fn declared_among(functions: &[Function], noted: &BTreeSet<String>) -> Vec<String> {
    let mut names: Vec<String> = functions
        .iter()
        .filter(|f| noted.contains(&f.name().to_ascii_lowercase()))
        .map(|f| f.name().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// [`prove`] for a parsed manifest, with a rejection turned into a
/// diagnostic that points at the statement in `migrations.toml` (or in its
/// `sql_file`); `text` is the manifest's text. Then, on a second database
/// whose tables hold generated rows before each migration, the data proof:
/// every migration must keep every row and value, unless it declares the
/// loss (`loses`, `down_loses`) or makes it on purpose (its own `UPDATE …
/// SET` and `DELETE FROM`), and every declared loss must happen (see the
/// `data` module's documentation). A migration that fails on the generated
/// rows only becomes one of [`Proof::warnings`].
///
/// # Examples
///
/// ```
/// use migrate_core::manifest::{parse, Location};
/// use migrate_core::verify::prove_manifest;
///
/// let text = r#"[[migration]]
/// version = 1
/// description = "Create users table"
/// sql = """
/// CREATE TABLE users (
///     id TEXT PRIMARY KEY,
///     name TEXT,,
///     email TEXT
/// )"""
/// "#;
/// let manifest = parse(text).unwrap(); // valid TOML, valid list
/// let diagnostic = prove_manifest(&manifest, text).unwrap_err();
/// assert_eq!(diagnostic.location, Location { line: 7, column: 15 });
/// assert_eq!(
///     diagnostic.render("migrations.toml"),
///     "migrations.toml:7:15: version 1 (\"Create users table\") fails at statement 1 \
///      `CREATE TABLE users ( id TEXT PRIMARY KEY, name TEXT,, email TEXT )` \
///      (line 3 of the statement): near \",\": syntax error",
/// );
///
/// let fixed = text.replace(",,", ",");
/// let proof = prove_manifest(&parse(&fixed).unwrap(), &fixed).unwrap();
/// assert_eq!(proof.fingerprints.len(), 1);
/// ```
pub fn prove_manifest(manifest: &Manifest, text: &str) -> Result<Proof, Diagnostic> {
    let mut proof = prove_manifest_empty(manifest, text)?;
    proof.warnings = super::data::prove(manifest, text)?;
    Ok(proof)
}

/// The empty-database proof of [`prove_manifest`], without the data proof.
pub(super) fn prove_manifest_empty(manifest: &Manifest, text: &str) -> Result<Proof, Diagnostic> {
    prove_with_functions(&manifest.migrations, manifest.migrations.functions())
        .map_err(|r| diagnose(manifest, text, &r))
}

impl Migrations {
    /// Parses, validates and proves a `migrations.toml` at run time, exactly
    /// as `embed_migrations!` does at build time (every migration is applied
    /// to an in-memory database); `path` is only used in the messages.
    /// `sql_file` entries are refused: they need a directory to be read from.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::Migrations;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let text = r#"
    /// [[migration]]
    /// version = 1
    /// description = "Create users table"
    /// sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"
    ///
    /// [[migration]]
    /// version = 2
    /// description = "Index users"
    /// sql = "CREATE INDEX idx_users_id ON userz(id)"
    /// "#;
    ///
    /// // The list is valid TOML, but SQLite rejects version 2.
    /// let err = Migrations::from_toml(text, "migrations.toml").unwrap_err();
    /// assert_eq!(err.diagnostics[0].location.line, 10);
    /// assert!(err.to_string().contains("no such table: main.userz; did you mean `users`?"));
    ///
    /// let migrations = Migrations::from_toml(&text.replace("userz", "users"), "migrations.toml")?;
    /// assert_eq!(migrations.latest_version(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_toml(text: &str, path: &str) -> Result<Migrations, ManifestError> {
        let error = |diagnostics| ManifestError {
            path: path.to_owned(),
            diagnostics,
        };
        let manifest = crate::manifest::parse(text).map_err(error)?;
        let proof = prove_manifest(&manifest, text).map_err(|d| error(vec![d]))?;
        Ok(manifest.migrations.with_proof(
            &proof.fingerprints,
            &proof.schema,
            &proof.calls,
            &proof.fresh,
        ))
    }
}

fn diagnose(manifest: &Manifest, text: &str, rejection: &Rejection) -> Diagnostic {
    let version = rejection.version;
    let hint = rejection.hint.as_deref();
    match &rejection.failure {
        Failure::Up(error) => diagnose_error(manifest, text, Side::Up, version, error, hint),
        Failure::UpAgain(error) => {
            diagnose_error(manifest, text, Side::UpAgain, version, error, hint)
        }
        // The down's own error, located among the down's statements.
        Failure::Down(Error::DownFailed { source, .. }) => {
            diagnose_error(manifest, text, Side::Down, version, source, hint)
        }
        Failure::Down(error) => diagnose_error(manifest, text, Side::Down, version, error, hint),
        Failure::NotReversed(mismatch) => {
            super::roundtrip::diagnose(manifest, text, version, mismatch)
        }
    }
}

/// Which SQL of a migration the proof was running when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// Its `sql`, the first time.
    Up,
    /// Its `down`, right after.
    Down,
    /// Its `sql` again, after the down.
    UpAgain,
}

impl Side {
    /// Where each item of each migration's SQL on this side came from.
    fn origins(self, manifest: &Manifest) -> &[Vec<SqlOrigin>] {
        match self {
            Side::Up | Side::UpAgain => &manifest.origins,
            Side::Down => &manifest.down_origins,
        }
    }

    /// Item `item` of `m`'s SQL on this side.
    fn item(self, m: &Migration, item: usize) -> Option<&str> {
        match self {
            Side::Up | Side::UpAgain => m.sql().nth(item),
            Side::Down => m.down()?.nth(item),
        }
    }

    /// How a message names what ran: `version 3 ("Seed settings")`, `down
    /// of version 3 (…)`, `version 3 (…) applied again after its down`.
    fn name(self, manifest: &Manifest, version: u32) -> String {
        let description = manifest
            .migrations
            .get(version)
            .map(|m| format!(" ({:?})", m.description()))
            .unwrap_or_default();
        match self {
            Side::Up => format!("version {version}{description}"),
            Side::Down => format!("down of version {version}{description}"),
            Side::UpAgain => format!("version {version}{description} applied again after its down"),
        }
    }
}

/// The diagnostic for a runner error met running one side of `version`:
/// at the statement in the file the user edits, or at the migration's entry
/// (its `down`, for the down) when the statement cannot be located.
fn diagnose_error(
    manifest: &Manifest,
    text: &str,
    side: Side,
    version: u32,
    error: &Error,
    hint: Option<&str>,
) -> Diagnostic {
    let at_entry = |version: u32, message: String| {
        let down = (side == Side::Down)
            .then(|| at_statement(manifest, text, Side::Down, version, 0, 0))
            .flatten();
        if let Some((file, location, span)) = down {
            return Diagnostic {
                span,
                location,
                message,
                file,
            };
        }
        Diagnostic {
            span: 0..0,
            location: usize::try_from(version)
                .ok()
                .and_then(|v| manifest.locations.get(v.checked_sub(1)?))
                .copied()
                .unwrap_or(Location { line: 1, column: 1 }),
            message,
            file: None,
        }
    };
    let named = |version: u32| side.name(manifest, version);
    let hint = hint.map(|h| format!("; {h}")).unwrap_or_default();
    // At the statement in the file the user edits, or at the entry when the
    // statement cannot be located.
    let at = |version: u32, item: usize, offset: usize, message: String| match at_statement(
        manifest, text, side, version, item, offset,
    ) {
        Some((file, location, span)) => Diagnostic {
            span,
            location,
            message,
            file,
        },
        None => at_entry(version, message),
    };
    let (what, ends) = match side {
        Side::Down => (
            "a down",
            "remove it (a down always runs in one transaction and commits as a whole)",
        ),
        Side::Up | Side::UpAgain => (
            "a migration",
            "remove it (each migration already commits as a whole), or set transaction = false",
        ),
    };
    match error {
        Error::MigrationFailed {
            version,
            statement,
            sql,
            item,
            offset,
            error_offset,
            source,
            ..
        } => {
            let within = error_offset
                .zip(manifest.migrations.get(*version))
                .and_then(|(at, m)| side.item(m, *item).map(|s| (at, s)))
                .map(|(at, s)| line_within(s, *offset, at))
                .filter(|&line| line > 1)
                .map(|line| format!(" (line {line} of the statement)"))
                .unwrap_or_default();
            let message = format!(
                "{} fails at statement {statement} `{sql}`{within}: {}{hint}",
                named(*version),
                sqlite_message(source)
            );
            at(*version, *item, error_offset.unwrap_or(*offset), message)
        }
        Error::TransactionControl {
            version,
            statement,
            sql,
            item,
            offset,
            ..
        } => {
            let runs_in = match side {
                Side::Down => "the down",
                Side::Up | Side::UpAgain => "the migration",
            };
            let message = format!(
                "{} statement {statement} `{sql}` would end the transaction {runs_in} runs in: \
                 {ends}",
                named(*version)
            );
            at(*version, *item, *offset, message)
        }
        Error::ForeignKeyViolation {
            version,
            count,
            examples,
            ..
        } => at_entry(
            *version,
            format!(
                "{} leaves {count} foreign-key violation(s) on the build's database, e.g. \
                 {examples}: {what} must leave every foreign key satisfied (copy or fix \
                 the parent rows, or delete the orphans on purpose)",
                named(*version)
            ),
        ),
        // SQLite failed outside the migration's statements, e.g. in
        // PRAGMA foreign_key_check, after the migration at fault.
        other if version > 0 => {
            let why = if other.to_string().starts_with("foreign key mismatch") {
                ": the columns a foreign key references must exist in the parent table and \
                 be its PRIMARY KEY or have a UNIQUE constraint or index"
            } else {
                ""
            };
            let verb = match side {
                Side::Down => "cannot be run on SQLite",
                Side::Up | Side::UpAgain => "cannot be applied to SQLite",
            };
            at_entry(version, format!("{} {verb}: {other}{why}", named(version)))
        }
        other => at_entry(
            manifest.migrations.latest_version(),
            format!("the migrations cannot be applied to SQLite: {other}"),
        ),
    }
}

/// Where byte `offset` of item `item` of `side` of `version` is, in the
/// file the user edits: (sql_file or down_file, or None for
/// migrations.toml; location; span in the toml).
pub(super) fn at_statement(
    manifest: &Manifest,
    text: &str,
    side: Side,
    version: u32,
    item: usize,
    offset: usize,
) -> Option<(Option<String>, Location, std::ops::Range<usize>)> {
    let index = usize::try_from(version).ok()?.checked_sub(1)?;
    let origin = side.origins(manifest).get(index)?.get(item)?;
    let sql = side.item(manifest.migrations.get(version)?, item)?;
    let (file, location) = origin.locate(text, sql, offset);
    let span = match origin {
        SqlOrigin::Toml { span, .. } => span.clone(),
        SqlOrigin::File { .. } => 0..0,
    };
    Some((file.map(str::to_owned), location, span))
}

/// 1-based line, within the statement starting at `start`, of byte `at`.
fn line_within(sql: &str, start: usize, at: usize) -> usize {
    sql.get(start.min(at)..at)
        .map_or(1, |s| s.matches('\n').count() + 1)
}

/// [`suggest`], among the names that existed when the failing statement ran:
/// a transactional migration was rolled back, taking with it what its
/// earlier statements created (`CREATE TABLE t …; CREATE INDEX … ON t(typo)`),
/// so those statements are run again, and rolled back again, to look.
fn suggest_at_failure(
    conn: &Connection,
    m: &Migration,
    error: &Error,
    functions: &[Function],
    called: &[String],
) -> Option<String> {
    let Error::MigrationFailed { statement, .. } = error else {
        return None;
    };
    if let Some(hint) = suggest_function(conn, m, error, functions, called) {
        return Some(hint);
    }
    if !m.is_transactional() {
        // Its earlier statements stayed.
        return suggest(conn, error);
    }
    let Ok(tx) = conn.unchecked_transaction() else {
        return suggest(conn, error);
    };
    let mut before = statement.saturating_sub(1);
    'replay: for item in m.sql() {
        let mut batch = rusqlite::Batch::new(&tx, item);
        while before > 0 {
            let Ok(Some(mut stmt)) = crate::compat::next_statement(&mut batch) else {
                // The item's end, or (it ran before) nothing to replay further.
                continue 'replay;
            };
            before -= 1;
            let mut rows = stmt.raw_query();
            while let Ok(Some(_)) = rows.next() {}
        }
        break;
    }
    suggest(&tx, error)
    // Dropping `tx` rolls the replay back.
}

/// What to do about a function the proof met: an unknown one is a typo of
/// a function SQLite has ("did you mean `length`?"), or one to declare
/// (the exact TOML to add); a declared one called with another number of
/// arguments, or whose stand-in's NULL broke a `NOT NULL` column, is said so.
fn suggest_function(
    conn: &Connection,
    m: &Migration,
    error: &Error,
    functions: &[Function],
    called: &[String],
) -> Option<String> {
    let Error::MigrationFailed {
        source,
        item,
        error_offset,
        ..
    } = error
    else {
        return None;
    };
    let message = sqlite_message(source);
    if let Some(name) = message.strip_prefix("no such function: ") {
        let name = name.trim();
        let known = names(
            conn,
            "SELECT DISTINCT name FROM pragma_function_list ORDER BY name",
        );
        if let Some(close) = closest(&known, name) {
            return Some(format!("did you mean `{close}`?"));
        }
        let args = m
            .sql()
            .nth(*item)
            .and_then(|sql| count_arguments(sql, name, *error_offset));
        let args = args.map_or_else(
            || "-1  # the number of arguments it takes; -1 for any".to_owned(),
            |n| n.to_string(),
        );
        return Some(format!(
            "if the application registers {name}() on its connection, declare it in \
             migrations.toml:\n\n[[function]]\nname = \"{name}\"\nargs = {args}\n\
             deterministic = true  # false if the same arguments can give another result\n\n\
             (or, if a loadable extension provides it, add it to the `functions` of that \
             [[extension]])"
        ));
    }
    if let Some(rest) = message.strip_prefix("wrong number of arguments to function ") {
        let name = rest.trim().trim_end_matches("()");
        let declared: Vec<String> = functions
            .iter()
            .filter(|f| f.name().eq_ignore_ascii_case(name))
            .map(|f| f.args().to_string())
            .collect();
        if !declared.is_empty() {
            return Some(format!(
                "migrations.toml declares {name}() with args = {}: make args the number of \
                 arguments the statement passes, or -1 for any number",
                declared.join(" and args = ")
            ));
        }
    }
    if message.starts_with("non-deterministic functions prohibited") {
        let loose: Vec<String> = functions
            .iter()
            .filter(|f| !f.is_deterministic() && called.iter().any(|c| c == f.name()))
            .map(|f| format!("{}()", f.name()))
            .collect();
        if !loose.is_empty() {
            return Some(format!(
                "migrations.toml declares {} without deterministic = true: if the same \
                 arguments always give the same result, add deterministic = true (and register \
                 it with FunctionFlags::SQLITE_DETERMINISTIC)",
                loose.join(", ")
            ));
        }
    }
    if message.starts_with("NOT NULL constraint failed") && !called.is_empty() {
        return Some(format!(
            "the build's proof stands in for {} with a function that returns NULL (the real \
             one is not available while compiling): fill the column with a default or \
             COALESCE(…), or seed the rows at run time",
            called
                .iter()
                .map(|c| format!("{c}()"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    None
}

/// The number of arguments of the call of `name` in `sql`: the one at
/// `offset` (where SQLite located the error), else the first.
fn count_arguments(sql: &str, name: &str, offset: Option<usize>) -> Option<usize> {
    let lower = sql.to_ascii_lowercase();
    let wanted = name.to_ascii_lowercase();
    let at = offset
        .filter(|&o| lower.get(o..).is_some_and(|rest| rest.starts_with(&wanted)))
        .or_else(|| {
            lower.match_indices(&wanted).map(|(i, _)| i).find(|&i| {
                let before = lower[..i].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && lower[i + wanted.len()..].trim_start().starts_with('(')
            })
        })?;
    let rest = sql.get(at + wanted.len()..)?.trim_start();
    let inner = rest.strip_prefix('(')?;
    let mut depth = 0usize;
    let mut commas = 0;
    let mut quote: Option<char> = None;
    let mut empty = true;
    for c in inner.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    empty = false;
                }
                '[' => {
                    quote = Some(']');
                    empty = false;
                }
                '(' => {
                    depth += 1;
                    empty = false;
                }
                ')' if depth == 0 => return Some(if empty { 0 } else { commas + 1 }),
                ')' => depth -= 1,
                ',' if depth == 0 => commas += 1,
                c if c.is_whitespace() => {}
                '*' if depth == 0 && empty => {}
                _ => empty = false,
            },
        }
    }
    None
}

/// The candidate a small typo away from `wanted`, if any (ignoring case).
fn closest<'c>(candidates: &'c [String], wanted: &str) -> Option<&'c str> {
    let wanted = wanted.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(1);
    candidates
        .iter()
        .filter(|c| !c.eq_ignore_ascii_case(&wanted))
        .map(|c| (strsim::damerau_levenshtein(&c.to_lowercase(), &wanted), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.as_str())
}

/// "did you mean `users`?" when SQLite names an unknown table or column that
/// is a small typo away from one that exists at that point of the history.
fn suggest(conn: &Connection, error: &Error) -> Option<String> {
    let Error::MigrationFailed { source, .. } = error else {
        return None;
    };
    let message = sqlite_message(source);
    let (wanted, candidates) = if let Some(name) = message.strip_prefix("no such table: ") {
        (
            name,
            names(
                conn,
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')",
            ),
        )
    } else if let Some(name) = message.strip_prefix("no such column: ") {
        (name, columns(conn))
    } else if let Some((_, name)) = message.split_once(" has no column named ") {
        (name, columns(conn))
    } else if let Some(name) = message.strip_prefix("no such index: ") {
        (
            name,
            names(conn, "SELECT name FROM sqlite_master WHERE type = 'index'"),
        )
    } else {
        return None;
    };
    // `no such column: "nik"`, as ALTER TABLE … DROP COLUMN says it.
    let wanted = wanted
        .rsplit('.')
        .next()
        .unwrap_or(wanted)
        .trim()
        .trim_matches('"');
    let limit = (wanted.chars().count() / 3).max(1);
    candidates
        .iter()
        .filter(|c| !c.eq_ignore_ascii_case(wanted))
        .map(|c| {
            let d = strsim::damerau_levenshtein(&c.to_lowercase(), &wanted.to_lowercase());
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

fn names(conn: &Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql)
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default()
}

fn columns(conn: &Connection) -> Vec<String> {
    let mut all = names(
        conn,
        "SELECT DISTINCT p.name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type IN ('table', 'view')",
    );
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prove_text(text: &str) -> Result<Proof, Diagnostic> {
        let manifest = crate::manifest::parse(text).expect("valid manifest");
        prove_manifest(&manifest, text)
    }

    #[test]
    fn a_typo_in_a_table_name_points_at_it_and_suggests_the_table() {
        let text = "[[migration]]\nversion = 1\ndescription = \"users\"\n\
                    sql = \"CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)\"\n\n\
                    [[migration]]\nversion = 2\ndescription = \"index\"\n\
                    sql = [\"\"\"\nCREATE INDEX idx_email\n    ON userz(email)\"\"\"]\n";
        let d = prove_text(text).unwrap_err();
        assert_eq!(
            d.location,
            Location {
                line: 10,
                column: 1
            },
            "{d:?}"
        );
        assert!(
            d.message.contains("no such table: main.userz"),
            "{}",
            d.message
        );
        assert!(d.message.contains("did you mean `users`?"), "{}", d.message);
        assert!(d.message.contains("version 2 (\"index\")"), "{}", d.message);
    }

    #[test]
    fn a_syntax_error_points_at_the_token_inside_a_multi_line_statement() {
        let text = "[[migration]]\nversion = 1\ndescription = \"users\"\n\
                    sql = \"\"\"\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n\
                    CREATE TABLE t (\n  a TEXT,\n  b TEXT,,\n  c TEXT\n)\"\"\"\n";
        let d = prove_text(text).unwrap_err();
        assert_eq!(
            d.location,
            Location {
                line: 8,
                column: 10
            },
            "{d:?}"
        );
        assert!(d.message.contains("statement 2"), "{}", d.message);
        assert!(
            d.message.contains("line 3 of the statement"),
            "{}",
            d.message
        );
        assert!(
            d.message.contains("near \",\": syntax error"),
            "{}",
            d.message
        );
    }

    #[test]
    fn names_created_earlier_in_the_failing_migration_are_suggested() {
        let text = "[[migration]]\nversion = 1\ndescription = \"a\"\nsql = \"CREATE TABLE a (x)\"\n\
                    [[migration]]\nversion = 2\ndescription = \"rebuild\"\nsql = [\
                    \"CREATE TABLE users_new (id, email)\", \"PRAGMA user_version = 2\", \
                    \"INSERT INTO user_new SELECT 1, 2; CREATE INDEX i ON users_new(emial)\"]\n";
        let d = prove_text(text).unwrap_err();
        assert!(d.message.contains("statement 3"), "{}", d.message);
        assert!(
            d.message.contains("did you mean `users_new`?"),
            "{}",
            d.message
        );
        let fixed = text.replace("INTO user_new", "INTO users_new");
        let d = prove_text(&fixed).unwrap_err();
        assert!(d.message.contains("statement 4"), "{}", d.message);
        assert!(
            d.message
                .contains("no such column: emial; did you mean `email`?"),
            "{}",
            d.message
        );
        // The replay to look for names was rolled back too.
        let fixed = fixed.replace("(emial)", "(email)");
        let proof = prove_text(&fixed).unwrap();
        assert!(
            proof
                .schema
                .to_sql()
                .contains("CREATE INDEX i ON users_new(email)")
        );
    }

    #[test]
    fn a_foreign_key_sqlite_cannot_check_is_blamed_on_its_migration() {
        let text = "[[migration]]\nversion = 1\ndescription = \"a\"\nsql = \"CREATE TABLE a (x)\"\n\
                    [[migration]]\nversion = 2\ndescription = \"b\"\n\
                    sql = \"CREATE TABLE b (y REFERENCES a(x))\"\n\
                    [[migration]]\nversion = 3\ndescription = \"c\"\nsql = \"CREATE TABLE c (z)\"\n";
        let d = prove_text(text).unwrap_err();
        assert_eq!(d.location, Location { line: 5, column: 1 }, "{d:?}");
        assert!(
            d.message.starts_with(
                "version 2 (\"b\") cannot be applied to SQLite: foreign key mismatch - \"b\" \
                 referencing \"a\": the columns a foreign key references must exist"
            ),
            "{}",
            d.message
        );
    }

    #[test]
    fn a_statement_sqlite_cannot_prepare_is_quoted_alone() {
        let text = "[[migration]]\nversion = 1\ndescription = \"a\"\nsql = \"\"\"\n\
                    CREATE TABLE a (x);\nCREAT INDEX i ON a(x);\nCREATE TABLE b (y);\"\"\"\n";
        let d = prove_text(text).unwrap_err();
        assert!(
            d.message
                .contains("statement 2 `CREAT INDEX i ON a(x);`: near \"CREAT\": syntax error"),
            "{}",
            d.message
        );
    }

    #[test]
    fn fingerprints_follow_each_version() {
        let text = "[[migration]]\nversion = 1\ndescription = \"a\"\nsql = \"CREATE TABLE a (x)\"\n\
                    [[migration]]\nversion = 2\ndescription = \"data\"\nsql = \"INSERT INTO a VALUES (1)\"\n\
                    [[migration]]\nversion = 3\ndescription = \"b\"\nsql = \"CREATE TABLE b (y)\"\n";
        let proof = prove_text(text).unwrap();
        assert_eq!(proof.fingerprints.len(), 3);
        assert_eq!(proof.fingerprints[0], proof.fingerprints[1]);
        assert_ne!(proof.fingerprints[1], proof.fingerprints[2]);
        assert_eq!(
            proof.schema.to_sql(),
            "CREATE TABLE a (x);\nCREATE TABLE b (y);\n"
        );
    }
}
