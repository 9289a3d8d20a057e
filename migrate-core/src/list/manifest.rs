//! Reading and validating `migrations.toml`.
//!
//! [`parse`] is a plain function, with no compiler in the loop, so the macro,
//! unit tests and fuzzers all exercise exactly the same checks. It reports
//! every problem it can find with the line and column it concerns, and says
//! how to fix it: these messages become build errors.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::model::{Function, Migration, Migrations};
use crate::sql::is_empty;

/// A validated `migrations.toml`: the migrations, and where each one was
/// written, for messages that point back into the file.
///
/// # Examples
///
/// ```
/// use migrate_core::manifest::{parse, Location, SqlOrigin};
///
/// let text = r#"database = "chatbot.db"
///
/// [[migration]]
/// version = 1
/// description = "Create users table"
/// sql = ["CREATE TABLE users (id TEXT PRIMARY KEY)", "CREATE INDEX i ON users(id)"]
/// "#;
/// let manifest = parse(text).unwrap();
/// assert_eq!(manifest.migrations.len(), 1);
/// assert_eq!(manifest.migrations.default_database(), Some("chatbot.db"));
/// assert_eq!(manifest.locations, [Location { line: 3, column: 1 }]);
/// assert_eq!(manifest.origins[0].len(), 2);
/// assert!(matches!(manifest.origins[0][0], SqlOrigin::Toml { .. }));
/// assert!(manifest.sql_files.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The validated migrations, in version order.
    pub migrations: Migrations,
    /// Where each migration's entry starts, parallel to `migrations`.
    pub locations: Vec<Location>,
    /// Where each `sql` item of each migration came from, parallel to
    /// `migrations` and to each migration's items.
    pub origins: Vec<Vec<SqlOrigin>>,
    /// Where each `down` item came from, as `origins` for `sql`: empty for
    /// a migration without a down.
    pub down_origins: Vec<Vec<SqlOrigin>>,
    /// Where each entry of each migration's `loses` is, parallel to
    /// `migrations` and to [`Migration::loses`](crate::Migration::loses).
    pub loses_locations: Vec<Vec<Location>>,
    /// Where each entry of each migration's `down_loses` is.
    pub down_loses_locations: Vec<Vec<Location>>,
    /// The `sql_file` and `down_file` paths read, as written, for build
    /// tools to track.
    pub sql_files: Vec<String>,
}

/// Where one `sql` item of a migration came from, so that an offset inside
/// the SQL can be shown as a line and column of the file the user edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlOrigin {
    /// A string in `migrations.toml`.
    Toml {
        /// The whole string literal.
        span: Range<usize>,
        /// Where the string's value starts in the file, when the value is the
        /// file's text verbatim (no escapes), so offsets inside map exactly.
        content: Option<usize>,
    },
    /// A file named by `sql_file`, whose whole text is the item.
    File {
        /// The path as written, relative to `migrations.toml`'s directory.
        path: String,
    },
}

impl SqlOrigin {
    /// The file (`None`: `migrations.toml` itself) and location of byte
    /// `offset` of the item's SQL text `sql`, given the manifest's `text`.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::manifest::{parse, Location};
    ///
    /// let text = "[[migration]]\nversion = 1\ndescription = \"t\"\nsql = \"CREATE TABLE t (x)\"\n";
    /// let manifest = parse(text).unwrap();
    /// let sql = manifest.migrations[0].sql().next().unwrap();
    ///
    /// // Byte 13 of the statement, the table's name, is at line 4, column 21 of the file.
    /// let (file, location) = manifest.origins[0][0].locate(text, sql, 13);
    /// assert_eq!(file, None);
    /// assert_eq!(location, Location { line: 4, column: 21 });
    /// ```
    pub fn locate(&self, text: &str, sql: &str, offset: usize) -> (Option<&str>, Location) {
        match self {
            SqlOrigin::Toml {
                content: Some(start),
                ..
            } => (
                None,
                Location::of_offset(text, start + offset.min(sql.len())),
            ),
            SqlOrigin::Toml { span, .. } => (None, Location::of_offset(text, span.start)),
            SqlOrigin::File { path } => (Some(path), Location::of_offset(sql, offset)),
        }
    }
}

/// A 1-based line and column in `migrations.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`; an offset past the end is
    /// the end. Displayed, a location is `LINE:COL`.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::manifest::Location;
    ///
    /// let text = "version = 1\ndescription = \"é\"\n";
    /// assert_eq!(Location::of_offset(text, 0), Location { line: 1, column: 1 });
    /// let end = text.len() - 1;
    /// let location = Location::of_offset(text, end); // columns count characters, not bytes
    /// assert_eq!(location, Location { line: 2, column: 18 });
    /// assert_eq!(location.to_string(), "2:18");
    /// ```
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// The line starts of a text, to turn many offsets into locations without
/// rescanning the text for each (which made parsing quadratic).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        Location {
            line,
            column: self
                .text
                .get(start..offset)
                .map_or(0, |s| s.chars().count())
                + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem found in `migrations.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range of the offending text.
    pub span: Range<usize>,
    /// Where the offending text starts.
    pub location: Location,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The `sql_file` (relative to `migrations.toml`'s directory) that the
    /// location is in; `None` when it is in `migrations.toml` itself.
    pub file: Option<String>,
}

impl Diagnostic {
    /// `PATH:LINE:COL: message`, where `manifest_path` is how to show the
    /// path of `migrations.toml`. When the problem is in an `sql_file`, the
    /// path shown is that file's, beside `manifest_path`.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::manifest::{parse, Diagnostic, Location};
    ///
    /// let text = "[[migration]]\nversion = 1\ndescription = \"\"\nsql = \"CREATE TABLE t (x)\"\n";
    /// let diagnostics = parse(text).unwrap_err();
    /// assert_eq!(
    ///     diagnostics[0].render("app/migrations.toml"),
    ///     "app/migrations.toml:3:15: the description of version 1 is empty: say what the \
    ///      migration does, e.g. description = \"Add email_verified column to users\"",
    /// );
    ///
    /// let in_file = Diagnostic {
    ///     span: 0..0,
    ///     location: Location { line: 2, column: 8 },
    ///     message: "near \"TABEL\": syntax error".to_owned(),
    ///     file: Some("sql/0002_tickets.sql".to_owned()),
    /// };
    /// # #[cfg(unix)]
    /// assert_eq!(
    ///     in_file.render("app/migrations.toml"),
    ///     "app/sql/0002_tickets.sql:2:8: near \"TABEL\": syntax error",
    /// );
    /// ```
    pub fn render(&self, manifest_path: &str) -> String {
        match &self.file {
            None => format!("{manifest_path}:{}: {}", self.location, self.message),
            Some(file) => {
                let dir = std::path::Path::new(manifest_path)
                    .parent()
                    .unwrap_or(std::path::Path::new(""));
                format!(
                    "{}:{}: {}",
                    dir.join(file).display(),
                    self.location,
                    self.message
                )
            }
        }
    }
}

/// Every problem found in one `migrations.toml`, displayed one per line as
/// `PATH:LINE:COL: message`.
///
/// # Examples
///
/// ```
/// use migrate_core::Migrations;
///
/// let text = r#"[[migration]]
/// version = 1
/// description = "Create users table"
/// sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"
///
/// [[migration]]
/// version = 3
/// descripton = "Create tickets table"
/// sql = "CREATE TABLE tickets (id INTEGER PRIMARY KEY)"
/// "#;
/// let err = Migrations::from_toml(text, "migrations.toml").unwrap_err();
/// assert_eq!(err.path, "migrations.toml");
/// // The TOML is read first: the misspelt key is reported before the numbering.
/// assert_eq!(err.diagnostics.len(), 1);
/// assert_eq!(err.diagnostics[0].location.line, 8);
/// assert!(err.to_string().starts_with("migrations.toml:8:1: unknown field `descripton`"));
///
/// // With the key fixed, the gap in the numbering.
/// let err = Migrations::from_toml(&text.replace("descripton", "description"), "migrations.toml")
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "migrations.toml:7:11: version 2 is missing: after version 1 (line 2) comes version 3; \
///      versions must rise by exactly 1, so number this migration 2",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// The path the file was read from, as it should appear in messages.
    pub path: String,
    /// The problems, in file order; never empty.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            f.write_str(&d.render(&self.path))?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    database: Option<Spanned<String>>,
    keep_backups: Option<Spanned<i64>>,
    #[serde(default)]
    migration: Vec<Spanned<RawMigration>>,
    #[serde(default)]
    function: Vec<Spanned<RawFunction>>,
    #[serde(default)]
    extension: Vec<Spanned<RawExtension>>,
}

/// `[[function]]`, or an item of an `[[extension]]`'s `functions`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunction {
    name: Spanned<String>,
    args: Spanned<i64>,
    deterministic: Option<bool>,
}

/// `[[extension]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtension {
    path: Spanned<String>,
    functions: Spanned<Vec<Spanned<RawFunction>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMigration {
    version: Spanned<i64>,
    description: Spanned<String>,
    sql: Option<Spanned<RawSql>>,
    sql_file: Option<Spanned<String>>,
    transaction: Option<bool>,
    down: Option<Spanned<RawSql>>,
    down_file: Option<Spanned<String>>,
    loses: Option<Vec<Spanned<String>>>,
    down_loses: Option<Vec<Spanned<String>>>,
}

/// `sql = "..."` or `sql = ["...", "..."]`.
enum RawSql {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for RawSql {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawSql;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of SQL or an array of SQL strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSql, E> {
                Ok(RawSql::One(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<RawSql, E> {
                Ok(RawSql::One(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawSql, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawSql::Many(items))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Parses and validates the text of a `migrations.toml`, without reading any
/// `sql_file` (an entry that has one is reported as an error); see
/// [`parse_with`].
///
/// This is the function `embed_migrations!` calls: it does not run the SQL
/// (see [`crate::verify::prove_manifest`]). It reports every problem it can
/// find, in file order, each with its location and how to fix it.
///
/// # Examples
///
/// ```
/// use migrate_core::manifest::{parse, Location};
///
/// let manifest = parse(r#"
/// [[migration]]
/// version = 1
/// description = "Create users table"
/// sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"
/// "#).unwrap();
/// assert_eq!(manifest.migrations[0].description(), "Create users table");
///
/// let diagnostics = parse(r#"
/// [[migration]]
/// version = 1
/// description = "Create users table"
/// sql = "   "
///
/// [[migration]]
/// version = 1
/// description = "Create tickets table"
/// sql = "CREATE TABLE tickets (id INTEGER PRIMARY KEY)"
/// "#).unwrap_err();
/// assert_eq!(diagnostics.len(), 2);
/// assert_eq!(diagnostics[0].location, Location { line: 5, column: 7 });
/// assert!(diagnostics[0].message.starts_with("the sql of version 1 is empty"));
/// assert_eq!(diagnostics[1].location, Location { line: 8, column: 11 });
/// assert!(diagnostics[1].message.starts_with("version 1 is used twice, here and at line 3"));
/// ```
pub fn parse(text: &str) -> Result<Manifest, Vec<Diagnostic>> {
    parse_with(text, &mut |_| {
        Err(std::io::Error::other(
            "sql_file can only be read when migrations.toml's directory is known",
        ))
    })
}

/// Parses and validates the text of a `migrations.toml`, reading each
/// `sql_file` through `read_sql_file` (given the path as written).
///
/// Checks, each reported with its location and a fix: TOML syntax; unknown,
/// missing and mistyped keys; versions that do not start at 1 and rise by
/// exactly 1 in file order (gaps, duplicates, disorder); empty descriptions;
/// empty SQL and empty statements (whitespace only: SQL that is only
/// comments is a valid no-op); unreadable or empty SQL files; the
/// placeholder `migrate new` wrote ([`PLACEHOLDER`]); an empty `database`
/// path.
///
/// # Examples
///
/// Reading `sql_file`s relative to the directory of `migrations.toml`:
///
/// ```
/// use migrate_core::manifest::{parse_with, SqlOrigin};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("sql"))?;
/// std::fs::write(dir.path().join("sql/0001_users.sql"), "CREATE TABLE users (id TEXT);\n")?;
///
/// let text = r#"
/// [[migration]]
/// version = 1
/// description = "Create users table"
/// sql_file = "sql/0001_users.sql"
/// "#;
/// let mut read = |path: &str| std::fs::read_to_string(dir.path().join(path));
/// let manifest = parse_with(text, &mut read).expect("valid");
/// assert_eq!(manifest.sql_files, ["sql/0001_users.sql"]);
/// assert_eq!(manifest.migrations[0].sql().next(), Some("CREATE TABLE users (id TEXT);\n"));
/// assert_eq!(manifest.origins[0], [SqlOrigin::File { path: "sql/0001_users.sql".to_owned() }]);
///
/// // A file that cannot be read is reported where it is named.
/// let diagnostics = parse_with(&text.replace("0001", "0009"), &mut read).unwrap_err();
/// assert_eq!(diagnostics[0].location.line, 5);
/// let message = &diagnostics[0].message;
/// assert!(message.starts_with("cannot read sql_file \"sql/0009_users.sql\" of version 1"));
/// # Ok(())
/// # }
/// ```
pub fn parse_with(
    text: &str,
    read_sql_file: &mut dyn FnMut(&str) -> std::io::Result<String>,
) -> Result<Manifest, Vec<Diagnostic>> {
    parse_checked(text, read_sql_file, Placeholders::Refuse)
}

/// The SQL `migrate new` gives a new migration. It is a statement that
/// does nothing and says what to do in its own text, so it shows in the
/// diff and in logs; the build refuses it (see [`parse_with`]) so that a
/// forgotten one cannot ship as a silent no-op.
pub const PLACEHOLDER: &str =
    "SELECT 'TODO: replace this placeholder with the SQL of this migration'";

/// Whether [`PLACEHOLDER`] is a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// The build's rule: a migration still holding it fails.
    Refuse,
    /// `migrate new`'s: it checks a file it is about to extend, where an
    /// earlier placeholder is work in progress, not an error.
    Allow,
}

/// [`parse_with`], with the placeholder rule given: `migrate new` checks
/// files with [`Placeholders::Allow`].
pub fn parse_checked(
    text: &str,
    read_sql_file: &mut dyn FnMut(&str) -> std::io::Result<String>,
    placeholders: Placeholders,
) -> Result<Manifest, Vec<Diagnostic>> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| vec![toml_diagnostic(text, &e)])?;
    let mut problems = Problems {
        text,
        list: Vec::new(),
    };

    if let Some(db) = &raw.database
        && db.get_ref().trim().is_empty()
    {
        problems.push(
            db.span(),
            "`database` is empty: give the path of the SQLite file the CLI should use, \
             e.g. database = \"chatbot.db\", or remove the key",
        );
    }

    let keep_backups = match &raw.keep_backups {
        Some(n) => match u32::try_from(*n.get_ref()) {
            Ok(k @ 1..=MAX_KEEP_BACKUPS) => Some(k),
            _ => {
                problems.push(
                    n.span(),
                    format!(
                        "`keep_backups` is {}: give how many backups of a database `apply` \
                         keeps, from 1 to {MAX_KEEP_BACKUPS}, e.g. keep_backups = 5, or remove \
                         the key to keep 5",
                        n.get_ref()
                    ),
                );
                None
            }
        },
        None => None,
    };

    check_versions(&raw.migration, &mut problems);
    let (functions, extensions) = check_functions(&raw, &mut problems);

    let lines = Lines::new(text);
    let mut list = Vec::with_capacity(raw.migration.len());
    let mut locations = Vec::with_capacity(raw.migration.len());
    let mut origins = Vec::with_capacity(raw.migration.len());
    let mut down_origins = Vec::with_capacity(raw.migration.len());
    let mut loses_locations = Vec::with_capacity(raw.migration.len());
    let mut down_loses_locations = Vec::with_capacity(raw.migration.len());
    let mut sql_files = Vec::new();
    for entry in &raw.migration {
        let m = entry.get_ref();
        let version = *m.version.get_ref();
        let description = m.description.get_ref();
        if description.trim().is_empty() {
            problems.push(
                m.description.span(),
                format!(
                    "the description of version {version} is empty: say what the migration \
                     does, e.g. description = \"Add email_verified column to users\""
                ),
            );
        }
        let mut items = Items {
            text,
            version,
            read_sql_file: &mut *read_sql_file,
            placeholders,
            problems: &mut problems,
            sql_files: &mut sql_files,
        };
        let (sql, origin) = match (&m.sql, &m.sql_file) {
            (None, None) => {
                let start = entry.span().start;
                items.problems.push(
                    start..start + header_len(text, start),
                    "missing field `sql` (every [[migration]] needs `version`, `description` \
                     and `sql`, or `sql_file` naming a file of SQL)",
                );
                (Vec::new(), Vec::new())
            }
            (inline, file) => items.read(Side::Up, inline.as_ref(), file.as_ref()),
        };
        let down = match (&m.down, &m.down_file) {
            (None, None) => None,
            (inline, file) => Some(items.read(Side::Down, inline.as_ref(), file.as_ref())),
        };
        let mut migration = Migration::new(
            u32::try_from(version).unwrap_or(0),
            description.clone(),
            sql,
        );
        if m.transaction == Some(false) {
            migration = migration.without_transaction();
        }
        let reversible = down.is_some();
        match down {
            Some((down, origin)) => {
                migration = migration.with_down(down);
                down_origins.push(origin);
            }
            None => down_origins.push(Vec::new()),
        }
        let loses = check_losses(&mut problems, version, "loses", m.loses.as_deref());
        let down_loses = check_losses(
            &mut problems,
            version,
            "down_loses",
            m.down_loses.as_deref(),
        );
        if let Some(first) = m.down_loses.as_ref().and_then(|d| d.first())
            && !reversible
        {
            problems.push(
                first.span(),
                format!(
                    "version {version} declares `down_loses` but has no `down`: add the down, \
                     or remove `down_loses`"
                ),
            );
        }
        migration = migration
            .losing(loses.iter().map(|(entry, _)| entry.clone()))
            .down_losing(down_loses.iter().map(|(entry, _)| entry.clone()));
        loses_locations.push(loses.iter().map(|(_, at)| lines.locate(at.start)).collect());
        down_loses_locations.push(
            down_loses
                .iter()
                .map(|(_, at)| lines.locate(at.start))
                .collect(),
        );
        list.push(migration);
        locations.push(lines.locate(entry.span().start));
        origins.push(origin);
    }

    if !problems.list.is_empty() {
        problems.list.sort_by_key(|d| d.span.start);
        return Err(problems.list);
    }
    Ok(Manifest {
        migrations: Migrations::from_parts(list, raw.database.map(Spanned::into_inner))
            .with_declarations(functions, extensions)
            .with_keep_backups(keep_backups),
        locations,
        origins,
        down_origins,
        loses_locations,
        down_loses_locations,
        sql_files,
    })
}

/// The most backups `keep_backups` may ask for.
const MAX_KEEP_BACKUPS: u32 = 1000;

/// The largest number of arguments a function can be declared with: SQLite's
/// default limit (SQLITE_MAX_FUNCTION_ARG), which every release this crate
/// accepts enforces.
const MAX_ARGS: i64 = 127;

/// The `[[function]]`s and `[[extension]]`s: each function named as SQL
/// calls it, with a number of arguments SQLite accepts, not one of SQLite's
/// own, and declared once; each extension with a path and at least one
/// function. Returns the declarations, the application's functions first.
fn check_functions(raw: &RawManifest, problems: &mut Problems<'_>) -> (Vec<Function>, Vec<String>) {
    let mut functions = Vec::new();
    let mut extensions = Vec::new();
    if raw.function.is_empty() && raw.extension.is_empty() {
        return (functions, extensions);
    }
    // SQLite's own functions, from the SQLite that runs the proof.
    let builtins = crate::functions::builtins().unwrap_or_default();
    // (lower-case name, args) -> where it was first declared.
    let mut seen: HashMap<(String, i64), usize> = HashMap::new();
    let mut declare = |f: &RawFunction, extension: Option<&str>, problems: &mut Problems<'_>| {
        let name = f.name.get_ref();
        let args = *f.args.get_ref();
        let table = match extension {
            None => "[[function]]".to_owned(),
            Some(path) => format!("function of the extension {path:?}"),
        };
        let mut ok = true;
        if !is_identifier(name) {
            ok = false;
            problems.push(
                f.name.span(),
                format!(
                    "the {table} name {name:?} is not a name SQL can call: use letters, digits \
                     and `_`, not starting with a digit, as the migrations write it, e.g. \
                     name = \"normalize\""
                ),
            );
        } else if builtins.contains(&name.to_ascii_lowercase()) {
            ok = false;
            problems.push(
                f.name.span(),
                format!(
                    "{name}() is one of SQLite's own functions: declare only functions SQLite \
                     does not have, which the application registers or an extension provides; \
                     remove this entry"
                ),
            );
        }
        if !(-1..=MAX_ARGS).contains(&args) {
            ok = false;
            problems.push(
                f.args.span(),
                format!(
                    "args = {args} for {name}(): give the number of arguments it takes, 0 to \
                     {MAX_ARGS}, or -1 for any number"
                ),
            );
        }
        if !ok {
            return;
        }
        let here = f.name.span().start;
        match seen.get(&(name.to_ascii_lowercase(), args)) {
            Some(&earlier) => {
                let line = Location::of_offset(problems.text, earlier).line;
                problems.push(
                    f.name.span(),
                    format!(
                        "{name}() with args = {args} is declared twice, here and at line \
                         {line}: keep one of them"
                    ),
                );
            }
            None => {
                seen.insert((name.to_ascii_lowercase(), args), here);
                let mut function = Function::new(name.clone(), i32::try_from(args).unwrap_or(-1));
                if f.deterministic == Some(true) {
                    function = function.deterministic();
                }
                if let Some(path) = extension {
                    function = function.provided_by(path.to_owned());
                }
                functions.push(function);
            }
        }
    };
    for f in &raw.function {
        declare(f.get_ref(), None, problems);
    }
    let mut paths: HashMap<&str, usize> = HashMap::new();
    for entry in &raw.extension {
        let e = entry.get_ref();
        let path = e.path.get_ref();
        if path.trim().is_empty() {
            problems.push(
                e.path.span(),
                "the `path` of an [[extension]] is empty: give the shared library SQLite loads, \
                 as the application loads it, e.g. path = \"vec0\"",
            );
            continue;
        }
        if let Some(&earlier) = paths.get(path.as_str()) {
            let line = Location::of_offset(problems.text, earlier).line;
            problems.push(
                e.path.span(),
                format!(
                    "the extension {path:?} is declared twice, here and at line {line}: list \
                     all its functions in one [[extension]]"
                ),
            );
            continue;
        }
        paths.insert(path, e.path.span().start);
        if e.functions.get_ref().is_empty() {
            problems.push(
                e.functions.span(),
                format!(
                    "the extension {path:?} lists no functions: list the SQL functions it \
                     provides that the migrations call, e.g. functions = [{{ name = \
                     \"vec_length\", args = 1, deterministic = true }}]"
                ),
            );
        }
        for f in e.functions.get_ref() {
            declare(f.get_ref(), Some(path), problems);
        }
        extensions.push(path.clone());
    }
    (functions, extensions)
}

/// Whether `name` is an identifier SQL can call unquoted: ASCII letters,
/// digits, `_` and `$`, not starting with a digit or `$`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Length of the `[[migration]]` header at `start`, to underline just it.
fn header_len(text: &str, start: usize) -> usize {
    text.get(start..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len().saturating_sub(start), |n| {
            text[start..start + n].trim_end().len()
        })
}

/// Where a string literal's value starts in `text`, when the literal holds
/// the value verbatim (no escapes); multi-line strings drop the newline
/// that follows their opening quotes.
fn content_start(text: &str, span: Range<usize>, value: &str) -> Option<usize> {
    let raw = text.get(span.clone())?;
    for delim in ["\"\"\"", "'''", "\"", "'"] {
        if raw.len() >= 2 * delim.len() && raw.starts_with(delim) && raw.ends_with(delim) {
            let mut inner = &raw[delim.len()..raw.len() - delim.len()];
            let mut start = span.start + delim.len();
            if delim.len() == 3 {
                for newline in ["\r\n", "\n"] {
                    if let Some(rest) = inner.strip_prefix(newline) {
                        inner = rest;
                        start += newline.len();
                        break;
                    }
                }
            }
            return (inner == value).then_some(start);
        }
    }
    None
}

struct Problems<'a> {
    text: &'a str,
    list: Vec<Diagnostic>,
}

/// The entries of `loses` (or `down_loses`), each `table` or
/// `table.column`, with where each is; a malformed or repeated entry is
/// reported and left out.
fn check_losses(
    problems: &mut Problems<'_>,
    version: i64,
    key: &str,
    entries: Option<&[Spanned<String>]>,
) -> Vec<(String, Range<usize>)> {
    let mut kept: Vec<(String, Range<usize>)> = Vec::new();
    for entry in entries.unwrap_or_default() {
        let text = entry.get_ref().trim();
        let mut parts = text.split('.');
        let well_formed = !text.is_empty()
            && parts.clone().count() <= 2
            && parts.all(|p| !p.trim().is_empty() && p.trim() == p);
        if !well_formed {
            problems.push(
                entry.span(),
                format!(
                    "`{key}` entry {:?} of version {version} is not a table or a table.column: \
                     write e.g. \"sessions\" (rows of sessions may go) or \
                     \"users.legacy_score\" (that column may change or go)",
                    entry.get_ref()
                ),
            );
        } else if kept.iter().any(|(k, _)| k.eq_ignore_ascii_case(text)) {
            problems.push(
                entry.span(),
                format!("`{key}` of version {version} names {text:?} twice: keep one"),
            );
        } else {
            kept.push((text.to_owned(), entry.span()));
        }
    }
    kept
}

/// Which SQL of a migration is being read: the up (`sql`, `sql_file`) or
/// the down (`down`, `down_file`), for the keys the messages name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Up,
    Down,
}

impl Side {
    /// The key of the inline SQL and of the file.
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Side::Up => ("sql", "sql_file"),
            Side::Down => ("down", "down_file"),
        }
    }
}

/// Reads one migration's SQL items (the up or the down), checking each as
/// the other: not empty, no placeholder, a readable file.
struct Items<'a, 'p> {
    text: &'a str,
    version: i64,
    read_sql_file: &'a mut dyn FnMut(&str) -> std::io::Result<String>,
    placeholders: Placeholders,
    problems: &'a mut Problems<'p>,
    sql_files: &'a mut Vec<String>,
}

impl Items<'_, '_> {
    /// The items of `inline` or `file` (one of them is given), with where
    /// each came from; empty after a reported problem.
    fn read(
        &mut self,
        side: Side,
        inline: Option<&Spanned<RawSql>>,
        file: Option<&Spanned<String>>,
    ) -> (Vec<String>, Vec<SqlOrigin>) {
        let version = self.version;
        let (key, file_key) = side.keys();
        let text = self.text;
        let toml_item = |value: &Spanned<String>| SqlOrigin::Toml {
            span: value.span(),
            content: content_start(text, value.span(), value.get_ref()),
        };
        let what = match side {
            Side::Up => "the SQL the migration runs",
            Side::Down => "the SQL that takes the database back to the previous version",
        };
        match (inline, file) {
            (None, None) => (Vec::new(), Vec::new()),
            (Some(_), Some(file)) => {
                self.problems.push(
                    file.span(),
                    format!(
                        "version {version} has both `{key}` and `{file_key}`: keep one of them"
                    ),
                );
                (Vec::new(), Vec::new())
            }
            (None, Some(file)) => {
                let path = file.get_ref();
                match (self.read_sql_file)(path) {
                    Err(e) => {
                        self.problems.push(
                            file.span(),
                            format!(
                                "cannot read {file_key} \"{path}\" of version {version}: {e}; \
                                 the path is relative to the directory of migrations.toml"
                            ),
                        );
                        (Vec::new(), Vec::new())
                    }
                    Ok(contents) => {
                        if is_empty(&contents) {
                            self.problems.push(
                                file.span(),
                                format!(
                                    "{file_key} \"{path}\" of version {version} is empty: \
                                     write {what}, or a comment saying why it does nothing"
                                ),
                            );
                        } else if contents.contains(PLACEHOLDER) {
                            self.problems
                                .placeholder(file.span(), version, self.placeholders);
                        }
                        self.sql_files.push(path.clone());
                        (vec![contents], vec![SqlOrigin::File { path: path.clone() }])
                    }
                }
            }
            (Some(sql), None) => match sql.get_ref() {
                RawSql::One(s) => {
                    if is_empty(s) {
                        self.problems.push(
                            sql.span(),
                            format!(
                                "the {key} of version {version} is empty: write {what}, or a \
                                 comment saying why it does nothing"
                            ),
                        );
                    } else if s.contains(PLACEHOLDER) {
                        self.problems
                            .placeholder(sql.span(), version, self.placeholders);
                    }
                    let value = Spanned::new(sql.span(), s.clone());
                    (vec![s.clone()], vec![toml_item(&value)])
                }
                RawSql::Many(items) => {
                    if items.is_empty() {
                        self.problems.push(
                            sql.span(),
                            format!(
                                "the {key} of version {version} is an empty list: give at least \
                                 one statement, e.g. {key} = [\"{example}\"]",
                                example = match side {
                                    Side::Up => "CREATE TABLE ...",
                                    Side::Down => "DROP TABLE ...",
                                }
                            ),
                        );
                    }
                    for (i, item) in items.iter().enumerate() {
                        if is_empty(item.get_ref()) {
                            let statement = match side {
                                Side::Up => "statement",
                                Side::Down => "down statement",
                            };
                            self.problems.push(
                                item.span(),
                                format!(
                                    "{statement} {} of version {version} is empty: remove it \
                                     or write the statement",
                                    i + 1
                                ),
                            );
                        } else if item.get_ref().contains(PLACEHOLDER) {
                            self.problems
                                .placeholder(item.span(), version, self.placeholders);
                        }
                    }
                    (
                        items.iter().map(|s| s.get_ref().clone()).collect(),
                        items.iter().map(toml_item).collect(),
                    )
                }
            },
        }
    }
}

impl Problems<'_> {
    /// Reports the placeholder `migrate new` wrote, unless it is allowed.
    fn placeholder(&mut self, span: Range<usize>, version: i64, allowed: Placeholders) {
        if allowed == Placeholders::Refuse {
            self.push(
                span,
                format!(
                    "version {version} still holds the placeholder `migrate new` wrote \
                     ({PLACEHOLDER}): replace it with the SQL of this migration"
                ),
            );
        }
    }

    fn push(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.list.push(Diagnostic {
            location: Location::of_offset(self.text, span.start),
            span,
            message: message.into(),
            file: None,
        });
    }
}

/// Versions must be exactly 1, 2, 3, … in file order. Each departure is named
/// once, by its kind, with both places involved where there are two.
fn check_versions(entries: &[Spanned<RawMigration>], problems: &mut Problems<'_>) {
    let mut first_seen: HashMap<i64, usize> = HashMap::new();
    let all: HashMap<i64, usize> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                *e.get_ref().version.get_ref(),
                e.get_ref().version.span().start,
            )
        })
        .collect();
    // The highest version listed so far and where it was written.
    let mut previous: Option<(i64, usize)> = None;
    for entry in entries {
        let version = *entry.get_ref().version.get_ref();
        let span = entry.get_ref().version.span();
        let here = span.start;
        let line_of = |offset: usize| Location::of_offset(problems.text, offset).line;
        let prev_version = previous.map_or(0, |p| p.0);

        let in_range = (1..=i64::from(u32::MAX)).contains(&version);
        if !in_range {
            problems.push(
                span,
                format!(
                    "version {version} is out of range: versions are 1, 2, 3, … in file order; \
                     this one should be {}",
                    prev_version + 1
                ),
            );
        } else if let Some(&earlier) = first_seen.get(&version) {
            let msg = format!(
                "version {version} is used twice, here and at line {}: every migration needs its \
                 own version; give this one version {} and renumber the ones after it",
                line_of(earlier),
                prev_version + 1
            );
            problems.push(span, msg);
        } else if version <= prev_version {
            let (prev, prev_at) = previous.unwrap_or((0, 0));
            let msg = format!(
                "version {version} is listed after version {prev} (line {}): list migrations in \
                 version order, moving this entry before version {prev}",
                line_of(prev_at)
            );
            problems.push(span, msg);
        } else if version > prev_version + 1 {
            // Missing versions that appear later are reported there as out of order.
            // Only the two ends are searched, each within entries.len() + 1 steps:
            // the range itself may hold billions of versions (version = 20240101).
            let missing = |v: &i64| !all.contains_key(v);
            let first = (prev_version + 1..version).find(missing);
            let last = (prev_version + 1..version).rev().find(missing);
            if let (Some(first), Some(last)) = (first, last) {
                let what = if first == last {
                    format!("version {first} is missing")
                } else {
                    format!("versions {first} to {last} are missing")
                };
                let after = match previous {
                    Some((p, at)) => format!("after version {p} (line {}) comes", line_of(at)),
                    None => "versions start at 1, but the first migration has".to_owned(),
                };
                let msg = format!(
                    "{what}: {after} version {version}; versions must rise by exactly 1, so \
                     number this migration {}",
                    prev_version + 1
                );
                problems.push(span, msg);
            }
        }
        first_seen.entry(version).or_insert(here);
        // An out-of-range version is reported above; it must not become the
        // version the next ones are compared with (nor overflow `+ 1`).
        if in_range && version > prev_version {
            previous = Some((version, here));
        }
    }
}

/// Turns a TOML or serde error into a diagnostic with a fix where one is clear.
fn toml_diagnostic(text: &str, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    // serde names the Rust type; say what to write instead.
    let message = error
        .message()
        .trim()
        .replace("expected i64", "expected a whole number");
    let key = key_at(text, span.start);
    let function_keys = ["name", "args", "deterministic"];
    let function_hint = " (a [[function]], or an item of an [[extension]]'s `functions`, \
        takes `name`, the function as SQL calls it, `args`, how many arguments it takes or -1 \
        for any, and optionally `deterministic = true`: e.g. name = \"normalize\", args = 2)";
    let extension_hint = " (an [[extension]] takes `path`, the shared library to load, and \
        `functions`, the functions it provides, e.g. path = \"vec0\" and \
        functions = [{ name = \"vec_length\", args = 1, deterministic = true }])";
    let hint = if message.starts_with("unknown field") && message.contains("`args`") {
        function_hint
    } else if message.starts_with("unknown field") && message.contains("`path`") {
        extension_hint
    } else if message.starts_with("unknown field") && message.contains("`database`") {
        " (check the spelling: the file takes `database`, `keep_backups`, and [[migration]], \
         [[function]] and [[extension]] entries)"
    } else if ["missing field `name`", "missing field `args`"]
        .iter()
        .any(|m| message.starts_with(m))
    {
        function_hint
    } else if ["missing field `path`", "missing field `functions`"]
        .iter()
        .any(|m| message.starts_with(m))
    {
        extension_hint
    } else if message.starts_with("invalid type")
        && matches!(key, Some("function" | "extension"))
        && message.ends_with("expected a sequence")
    {
        " (`function` and `extension` are lists: start each entry with a [[function]] or \
         [[extension]] header, with double brackets)"
    } else if message.starts_with("invalid type") && key == Some("functions") {
        " (`functions` is a list of tables, e.g. functions = [{ name = \"vec_length\", \
         args = 1 }])"
    } else if message.starts_with("invalid type") && key.is_some_and(|k| function_keys.contains(&k))
    {
        function_hint
    } else if message.starts_with("invalid type") && key == Some("path") {
        extension_hint
    } else if message.starts_with("unknown field") {
        " (check the spelling: a migration takes `version`, `description`, `sql` or \
         `sql_file`, `down` or `down_file`, `transaction`, `loses` and `down_loses`; \
         the file itself takes `database` and [[migration]] entries)"
    } else if message.starts_with("missing field") {
        " (every [[migration]] needs `version`, `description` and `sql`, or `sql_file` \
         naming a file of SQL)"
    } else if message.starts_with("invalid type") && message.ends_with("expected a sequence") {
        // Only `migration` is a sequence: typically `[migration]` for `[[migration]]`.
        " (`migration` is a list: start each migration with a [[migration]] header, \
         with double brackets)"
    } else if message.starts_with("invalid type") {
        " (`version` is a whole number, `description` a string, `sql` and `down` a string or \
         an array of strings, `transaction` true or false)"
    } else {
        " (fix the TOML syntax here)"
    };
    Diagnostic {
        location: Location::of_offset(text, span.start),
        span,
        message: format!("{message}{hint}"),
        file: None,
    }
}

/// The key written on the line of `offset`: the name of a `[header]` or
/// `[[header]]` (its last part), or what stands before `=`.
fn key_at(text: &str, offset: usize) -> Option<&str> {
    let offset = offset.min(text.len());
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let end = text
        .get(offset..)?
        .find('\n')
        .map_or(text.len(), |i| offset + i);
    let line = text.get(start..end)?.trim();
    let key = if let Some(header) = line.strip_prefix('[') {
        let header = header.trim_start_matches('[');
        header.split(']').next()?.rsplit('.').next()?
    } else {
        let before = text.get(start..offset)?;
        match before.rfind('=') {
            Some(eq) => before[..eq]
                .trim_end()
                .rsplit([' ', ',', '{', '.'])
                .next()?,
            None => line.split('=').next()?,
        }
    };
    Some(key.trim().trim_matches('"'))
}
