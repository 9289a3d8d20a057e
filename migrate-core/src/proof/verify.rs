//! The build-time proof: every migration of a list runs, in order, against a
//! fresh in-memory SQLite through the same runner (and so the same bundled
//! SQLite, foreign-key procedure and transaction rules) that applies it in
//! production. A statement SQLite rejects becomes a build error that points
//! into the file the user edits; the schema after each version becomes a
//! fingerprint embedded beside the migrations.

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::error::sqlite_message;
use crate::functions::Calls;
use crate::manifest::{Diagnostic, Location, Manifest, ManifestError};
use crate::schema::{Fingerprint, Fingerprinter, Schema};
use crate::{Error, Function, Migration, Migrations, Migrator};

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
}

/// A migration SQLite rejected during the proof: see [`prove`].
#[derive(Debug)]
pub struct Rejection {
    /// The version being applied when it failed (0: before any).
    pub version: u32,
    /// The runner's error, as it would have been at run time.
    pub error: Error,
    /// A suggestion when the error names something close to an existing
    /// table or column (`did you mean `users`?`).
    pub hint: Option<String>,
}

/// Applies `migrations` one version at a time to a fresh in-memory database
/// and fingerprints the schema after each.
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
/// assert_eq!(rejection.error.code(), "migration_failed");
/// assert_eq!(rejection.hint.as_deref(), Some("did you mean `users`?"));
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
                error: Error::Sqlite(error),
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
    for n in 1..=migrations.len() {
        let migrator = Migrator::new(&migrations[..n]).noting_calls(Calls::clone(&noted));
        let applied = migrator.apply(&mut conn);
        let called = declared_among(functions, &crate::functions::take(&noted));
        if let Err(error) = applied {
            let hint = suggest_at_failure(&conn, &migrations[n - 1], &error, functions, &called);
            let version = migrations[n - 1].version();
            return Err(Box::new(Rejection {
                version,
                error,
                hint,
            }));
        }
        calls.push(called);
        let version = migrations[n - 1].version();
        fingerprints.push(fingerprinter.fingerprint(&conn).map_err(plain(version))?);
    }
    let latest = migrations.last().map_or(0, Migration::version);
    let schema = Schema::read(&conn).map_err(plain(latest))?;
    Ok(Proof {
        fingerprints,
        schema,
        calls,
    })
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
/// `sql_file`); `text` is the manifest's text.
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
        Ok(manifest
            .migrations
            .with_proof(&proof.fingerprints, &proof.schema, &proof.calls))
    }
}

fn diagnose(manifest: &Manifest, text: &str, rejection: &Rejection) -> Diagnostic {
    let at_entry = |version: u32, message: String| Diagnostic {
        span: 0..0,
        location: usize::try_from(version)
            .ok()
            .and_then(|v| manifest.locations.get(v.checked_sub(1)?))
            .copied()
            .unwrap_or(Location { line: 1, column: 1 }),
        message,
        file: None,
    };
    let named = |version: u32| {
        manifest
            .migrations
            .get(version)
            .map(|m| format!("version {version} ({:?})", m.description()))
            .unwrap_or_else(|| format!("version {version}"))
    };
    let hint = rejection
        .hint
        .as_deref()
        .map(|h| format!("; {h}"))
        .unwrap_or_default();
    // At the statement in the file the user edits, or at the entry when the
    // statement cannot be located.
    let at = |version: u32, item: usize, offset: usize, message: String| match at_statement(
        manifest, text, version, item, offset,
    ) {
        Some((file, location, span)) => Diagnostic {
            span,
            location,
            message,
            file,
        },
        None => at_entry(version, message),
    };
    match &rejection.error {
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
                .and_then(|(at, m)| m.sql().nth(*item).map(|s| (at, s)))
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
            let message = format!(
                "{} statement {statement} `{sql}` would end the transaction the migration runs \
                 in: remove it (each migration already commits as a whole), or set \
                 transaction = false",
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
                 {examples}: a migration must leave every foreign key satisfied (copy or fix \
                 the parent rows, or delete the orphans on purpose)",
                named(*version)
            ),
        ),
        // SQLite failed outside the migration's statements, e.g. in
        // PRAGMA foreign_key_check, after the migration at fault.
        other if rejection.version > 0 => {
            let why = if other.to_string().starts_with("foreign key mismatch") {
                ": the columns a foreign key references must exist in the parent table and \
                 be its PRIMARY KEY or have a UNIQUE constraint or index"
            } else {
                ""
            };
            at_entry(
                rejection.version,
                format!(
                    "{} cannot be applied to SQLite: {other}{why}",
                    named(rejection.version)
                ),
            )
        }
        other => at_entry(
            manifest.migrations.latest_version(),
            format!("the migrations cannot be applied to SQLite: {other}"),
        ),
    }
}

/// Where byte `offset` of item `item` of `version` is, in the file the user
/// edits: (sql_file or None for migrations.toml, location, span in the toml).
fn at_statement(
    manifest: &Manifest,
    text: &str,
    version: u32,
    item: usize,
    offset: usize,
) -> Option<(Option<String>, Location, std::ops::Range<usize>)> {
    let index = usize::try_from(version).ok()?.checked_sub(1)?;
    let origin = manifest.origins.get(index)?.get(item)?;
    let sql = manifest.migrations.get(version)?.sql().nth(item)?;
    let (file, location) = origin.locate(text, sql, offset);
    let span = match origin {
        crate::manifest::SqlOrigin::Toml { span, .. } => span.clone(),
        crate::manifest::SqlOrigin::File { .. } => 0..0,
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
    let wanted = wanted.rsplit('.').next().unwrap_or(wanted).trim();
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
