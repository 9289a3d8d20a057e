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

use crate::model::{Migration, Migrations};
use crate::sql::is_blank;

/// A validated `migrations.toml`: the migrations, and where each one was
/// written, for messages that point back into the file.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The validated migrations, in version order.
    pub migrations: Migrations,
    /// Where each migration's entry starts, parallel to `migrations`.
    pub locations: Vec<Location>,
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
    /// The location of byte `offset` in `text`.
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
}

/// Every problem found in one `migrations.toml`, displayed one per line as
/// `PATH:LINE:COL: message`.
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
            write!(f, "{}:{}: {}", self.path, d.location, d.message)?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    database: Option<Spanned<String>>,
    #[serde(default)]
    migration: Vec<Spanned<RawMigration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMigration {
    version: Spanned<i64>,
    description: Spanned<String>,
    sql: Spanned<RawSql>,
    transaction: Option<bool>,
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

/// Parses and validates the text of a `migrations.toml`.
///
/// Checks, each reported with its location and a fix: TOML syntax; unknown,
/// missing and mistyped keys; versions that do not start at 1 and rise by
/// exactly 1 in file order (gaps, duplicates, disorder); empty descriptions;
/// empty SQL and blank statements; an empty `database` path.
pub fn parse(text: &str) -> Result<Manifest, Vec<Diagnostic>> {
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

    check_versions(&raw.migration, &mut problems);

    let mut list = Vec::with_capacity(raw.migration.len());
    let mut locations = Vec::with_capacity(raw.migration.len());
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
        let sql: Vec<String> = match m.sql.get_ref() {
            RawSql::One(s) => {
                if is_blank(s) {
                    problems.push(
                        m.sql.span(),
                        format!(
                            "the sql of version {version} has no statement (it is empty, \
                             whitespace or comments): write the SQL the migration runs"
                        ),
                    );
                }
                vec![s.clone()]
            }
            RawSql::Many(items) => {
                if items.is_empty() {
                    problems.push(
                        m.sql.span(),
                        format!(
                            "the sql of version {version} is an empty list: give at least one \
                             statement, e.g. sql = [\"CREATE TABLE ...\"]"
                        ),
                    );
                }
                for (i, item) in items.iter().enumerate() {
                    if is_blank(item.get_ref()) {
                        problems.push(
                            item.span(),
                            format!(
                                "statement {} of version {version} has no SQL (it is empty, \
                                 whitespace or comments): remove it or write the statement",
                                i + 1
                            ),
                        );
                    }
                }
                items.iter().map(|s| s.get_ref().clone()).collect()
            }
        };
        let mut migration = Migration::new(
            u32::try_from(version).unwrap_or(0),
            description.clone(),
            sql,
        );
        if m.transaction == Some(false) {
            migration = migration.without_transaction();
        }
        list.push(migration);
        locations.push(Location::of_offset(text, entry.span().start));
    }

    if !problems.list.is_empty() {
        problems.list.sort_by_key(|d| d.span.start);
        return Err(problems.list);
    }
    Ok(Manifest {
        migrations: Migrations::from_parts(list, raw.database.map(Spanned::into_inner)),
        locations,
    })
}

struct Problems<'a> {
    text: &'a str,
    list: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn push(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.list.push(Diagnostic {
            location: Location::of_offset(self.text, span.start),
            span,
            message: message.into(),
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
    let hint = if message.starts_with("unknown field") {
        " (check the spelling: a migration takes `version`, `description`, `sql` and \
         `transaction`; the file itself takes `database` and [[migration]] entries)"
    } else if message.starts_with("missing field") {
        " (every [[migration]] needs `version`, `description` and `sql`)"
    } else if message.starts_with("invalid type") && message.ends_with("expected a sequence") {
        // Only `migration` is a sequence: typically `[migration]` for `[[migration]]`.
        " (`migration` is a list: start each migration with a [[migration]] header, \
         with double brackets)"
    } else if message.starts_with("invalid type") {
        " (`version` is a whole number, `description` a string, `sql` a string or an array \
         of strings, `transaction` true or false)"
    } else {
        " (fix the TOML syntax here)"
    };
    Diagnostic {
        location: Location::of_offset(text, span.start),
        span,
        message: format!("{message}{hint}"),
    }
}

impl Migrations {
    /// Parses and validates a `migrations.toml` at run time; `path` is only
    /// used in the error's messages. `embed_migrations!` does the same at
    /// build time.
    pub fn from_toml(text: &str, path: &str) -> Result<Migrations, ManifestError> {
        parse(text)
            .map(|m| m.migrations)
            .map_err(|diagnostics| ManifestError {
                path: path.to_owned(),
                diagnostics,
            })
    }
}
