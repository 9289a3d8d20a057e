//! `migrate new`: appends a migration to migrations.toml.
//!
//! The file is edited by appending text only: the new `[[migration]]` entry
//! (rendered by `toml_edit`, which quotes and escapes the description) goes
//! after the last byte of the file, so every existing comment, blank line and
//! piece of formatting stays byte-identical. Nothing is written unless the
//! current file is valid and the new one is too (both checked with
//! `migrate_core::manifest::parse_checked`); the new file replaces the old one
//! by a rename, so a reader never sees half of it.
//!
//! The SQL of the new migration is a placeholder, [`PLACEHOLDER`]: a
//! statement that does nothing and says what to do in its own text, so that
//! it shows in the diff and wherever the statement is printed. The build
//! refuses it, naming it as the placeholder `new` wrote, so a forgotten one
//! cannot ship as a silent no-op; `new` itself accepts files that still
//! hold one (work in progress).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use migrate_core::Migrations;

use crate::edit::{Current, Failure, finish, locate, read, render, replace, validate};

/// Arguments of `migrate new`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct NewArgs {
    /// What the migration does
    pub description: String,
    /// Put the SQL in a new file sql/NNNN_slug.sql and reference it with sql_file
    #[arg(long)]
    pub sql_file: bool,
    /// Also write a `down` (the SQL that takes the database back), as a placeholder to replace
    #[arg(long)]
    pub down: bool,
    /// The migrations.toml to edit [default: the one this program was built from, else ./migrations.toml]
    #[arg(long, value_name = "PATH", env = "MIGRATE_MANIFEST")]
    pub manifest: Option<PathBuf>,
}

/// The SQL a new migration starts with: harmless if it ran, and refused by
/// the build until it is replaced (see [`manifest::PLACEHOLDER`]).
pub use migrate_core::manifest::PLACEHOLDER;

/// Longest slug of a `--sql-file` name, in characters.
const SLUG_MAX: usize = 50;

/// Runs `migrate new`; the exit code.
pub fn run(args: &NewArgs, migrations: &Migrations) -> u8 {
    finish(add(args, migrations).map(|added| vec![added.summary()]))
}

/// What `migrate new` wrote.
#[derive(Debug)]
struct Added {
    version: u32,
    description: String,
    /// migrations.toml, as shown to the user.
    manifest: PathBuf,
    /// The line of the new entry's `[[migration]]` header.
    line: usize,
    /// The SQL file created, as shown to the user.
    sql_file: Option<PathBuf>,
}

impl Added {
    fn summary(&self) -> String {
        let Added {
            version,
            description,
            manifest,
            line,
            sql_file,
        } = self;
        let manifest = manifest.display();
        match sql_file {
            None => format!(
                "Added version {version} \"{description}\" to {manifest} (line {line}); \
                 write its SQL there, then rebuild."
            ),
            Some(file) => format!(
                "Added version {version} \"{description}\" to {manifest} (line {line}) with its \
                 SQL in {}; write its SQL there, then rebuild.",
                file.display()
            ),
        }
    }
}

/// Checks the description (trimmed) on its own, before any file is read.
fn check_description(description: &str) -> Result<String, Failure> {
    let description = description.trim();
    if description.is_empty() {
        return Err(Failure::usage(
            "the description is empty: say what the migration does, e.g. \
             migrate new \"Add email_verified column to users\""
                .to_owned(),
        ));
    }
    if description.chars().any(char::is_control) {
        return Err(Failure::usage(
            "the description holds a line break or another control character: \
             write it on one line"
                .to_owned(),
        ));
    }
    Ok(description.to_owned())
}

fn add(args: &NewArgs, migrations: &Migrations) -> Result<Added, Failure> {
    let description = check_description(&args.description)?;
    let (path, explicit) = locate(args.manifest.as_ref(), migrations);
    let current = read(path, migrations, explicit)?;
    let shown = current.shown.display();

    let manifest = validate(&current.text, &current.dir, None).map_err(|diagnostics| {
        Failure::invalid(format!(
            "{shown}: is invalid, so no migration was added; fix {} first:\n{}",
            if diagnostics.len() == 1 {
                "this problem"
            } else {
                "these problems"
            },
            render(&diagnostics, &current.shown)
        ))
    })?;
    // `[[migration]]` appended at the end only extends a list written as
    // such tables; a list written inline (`migration = [...]`) cannot be.
    if let Ok(doc) = current.text.parse::<toml_edit::DocumentMut>()
        && doc
            .get("migration")
            .is_some_and(|m| !m.is_array_of_tables())
    {
        return Err(Failure::invalid(format!(
            "{shown}: its migrations are an inline array (migration = [...]); migrate new \
             can only append [[migration]] tables"
        )));
    }

    let list = &manifest.migrations;
    if let Some(last) = list.last()
        && last.description().trim().to_lowercase() == description.to_lowercase()
    {
        return Err(Failure::usage(format!(
            "{shown}: version {} already has the description \"{}\": describe what the new \
             migration does differently",
            last.version(),
            last.description().trim()
        )));
    }
    let version = list.latest_version().checked_add(1).ok_or_else(|| {
        Failure::invalid(format!(
            "{shown}: version {} is the last possible one",
            list.latest_version()
        ))
    })?;

    let sql_file = args
        .sql_file
        .then(|| format!("sql/{version:04}_{}.sql", slug(&description)));
    let sql_contents = sql_file
        .as_ref()
        .map(|_| sql_file_contents(version, &description));
    let new_text = append(
        &current.text,
        &entry(version, &description, sql_file.as_deref(), args.down),
    );

    // The result must be exactly the old list and the new entry.
    let extra = sql_file.as_deref().zip(sql_contents.as_deref());
    let written = validate(&new_text, &current.dir, extra).map_err(|diagnostics| {
        Failure::invalid(format!(
            "{shown}: adding version {version} would make the file invalid, so nothing was \
             written:\n{}",
            render(&diagnostics, &current.shown)
        ))
    })?;
    let added_last = written.migrations.last();
    if written.migrations.len() != list.len() + 1
        || added_last.map(|m| (m.version(), m.description())) != Some((version, &description))
    {
        return Err(Failure::invalid(format!(
            "{shown}: the entry appended at the end would not be read as version {version}; \
             nothing was written"
        )));
    }
    let line = written.locations.last().map_or(0, |l| l.line);

    let shown_dir = current
        .shown
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let shown_sql_file = sql_file.as_ref().map(|name| shown_dir.join(name));

    // The SQL file first, never over an existing one; taken back if
    // migrations.toml cannot be written.
    let created = match (&sql_file, &shown_sql_file, &sql_contents) {
        (Some(name), Some(shown), Some(contents)) => {
            Some(create_sql_file(&current, name, shown, contents)?)
        }
        _ => None,
    };
    if let Err(e) = replace(&current, &new_text) {
        if let Some(created) = &created {
            created.undo();
        }
        return Err(Failure::path(format!("{shown}: cannot write: {e}")));
    }

    Ok(Added {
        version,
        description,
        manifest: current.shown.clone(),
        line,
        sql_file: shown_sql_file,
    })
}

/// The `[[migration]]` entry, rendered by toml_edit (which quotes and
/// escapes the description), ending with a newline.
fn entry(version: u32, description: &str, sql_file: Option<&str>, down: bool) -> String {
    let mut table = toml_edit::Table::new();
    table.insert("version", toml_edit::value(i64::from(version)));
    table.insert("description", toml_edit::value(description));
    match sql_file {
        Some(path) => table.insert("sql_file", toml_edit::value(path)),
        None => table.insert(
            "sql",
            toml_edit::value(toml_edit::Array::from_iter([PLACEHOLDER])),
        ),
    };
    if down {
        // The same placeholder: the build refuses it in a down too.
        table.insert(
            "down",
            toml_edit::value(toml_edit::Array::from_iter([PLACEHOLDER])),
        );
    }
    let mut list = toml_edit::ArrayOfTables::new();
    list.push(table);
    let mut doc = toml_edit::DocumentMut::new();
    doc.insert("migration", toml_edit::Item::ArrayOfTables(list));
    doc.to_string()
}

/// `text` followed by `entry`: a line break if the last line has none, one
/// blank line unless the file already ends with one (or is empty), then the
/// entry, in the file's line endings.
fn append(text: &str, entry: &str) -> String {
    let crlf = text.contains("\r\n");
    let newline = if crlf { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + entry.len() + 4);
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push_str(newline);
    }
    // The last line, without its line break.
    let body = text.strip_suffix('\n').unwrap_or(text);
    let last_line = body.rsplit('\n').next().unwrap_or("");
    let ends_blank = text.is_empty() || last_line.trim().is_empty();
    if !ends_blank {
        out.push_str(newline);
    }
    if crlf {
        out.push_str(&entry.replace('\n', "\r\n"));
    } else {
        out.push_str(entry);
    }
    out
}

/// The contents of a new `--sql-file`.
fn sql_file_contents(version: u32, description: &str) -> String {
    format!(
        "-- Version {version}: {description}\n\
         -- TODO: replace the placeholder below with the SQL of this migration, then rebuild.\n\
         {PLACEHOLDER};\n"
    )
}

/// The lowercase ASCII letters and digits of `description`, every run of
/// anything else as one `_`, at most [`SLUG_MAX`] characters (cut at a word
/// boundary when there is one); `migration` when nothing is left.
pub(crate) fn slug(description: &str) -> String {
    let mut slug = String::new();
    let mut gap = false;
    for c in description.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('_');
            }
            gap = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    if slug.len() > SLUG_MAX {
        // ASCII only, so byte indices are character boundaries.
        let cut_mid_word = slug.as_bytes().get(SLUG_MAX) != Some(&b'_');
        slug.truncate(SLUG_MAX);
        if cut_mid_word && let Some(boundary) = slug.rfind('_') {
            slug.truncate(boundary);
        }
    }
    let slug = slug.trim_matches('_');
    if slug.is_empty() {
        "migration".to_owned()
    } else {
        slug.to_owned()
    }
}

/// A file this command created, and the directory too if it made it.
struct Created {
    file: PathBuf,
    dir: Option<PathBuf>,
}

impl Created {
    /// Removes what was created (best effort: this runs after a failure).
    fn undo(&self) {
        let _ = fs::remove_file(&self.file);
        if let Some(dir) = &self.dir {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Creates `name` (relative to migrations.toml's directory) holding
/// `contents`, and `sql/` if needed; `shown` is the path shown in messages.
fn create_sql_file(
    current: &Current,
    name: &str,
    shown: &Path,
    contents: &str,
) -> Result<Created, Failure> {
    let file = current.dir.join(name);
    let shown = shown.display();
    let Some(dir) = file.parent() else {
        return Err(Failure::path(format!("{shown}: no parent directory")));
    };
    let made_dir = !dir.exists();
    fs::create_dir_all(dir)
        .map_err(|e| Failure::path(format!("{}: cannot create: {e}", dir.display())))?;
    let created = Created {
        file: file.clone(),
        dir: made_dir.then(|| dir.to_path_buf()),
    };
    let mut out = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
    {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Failure::path(format!(
                "{shown}: already exists and is left as it is; nothing was written (move it \
                 away, or add the migration without --sql-file)"
            )));
        }
        Err(e) => {
            if let Some(dir) = &created.dir {
                let _ = fs::remove_dir(dir);
            }
            return Err(Failure::path(format!("{shown}: cannot create: {e}")));
        }
    };
    if let Err(e) = out
        .write_all(contents.as_bytes())
        .and_then(|()| out.sync_all())
    {
        created.undo();
        return Err(Failure::path(format!("{shown}: cannot write: {e}")));
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_core::manifest;

    #[test]
    fn slug_lowercases_and_collapses() {
        assert_eq!(
            slug("Add email_verified column to users"),
            "add_email_verified_column_to_users"
        );
        assert_eq!(
            slug("  Backfill: user's -- time zones!  "),
            "backfill_user_s_time_zones"
        );
        assert_eq!(slug("Créer la table «users»"), "cr_er_la_table_users");
        assert_eq!(slug("!!!"), "migration");
        assert_eq!(slug("ユーザー"), "migration");
    }

    #[test]
    fn slug_is_at_most_50_characters_cut_between_words() {
        let long = "Create the user_preferences table with a default row for every existing user";
        let s = slug(long);
        assert!(s.len() <= SLUG_MAX, "{s}");
        assert_eq!(s, "create_the_user_preferences_table_with_a_default");
        let one_word = "x".repeat(80);
        assert_eq!(slug(&one_word), "x".repeat(SLUG_MAX));
    }

    #[test]
    fn append_keeps_the_text_and_adds_one_blank_line() {
        let entry = entry(2, "Two", None, false);
        assert_eq!(
            append("[[migration]]\nversion = 1\n", &entry),
            format!("[[migration]]\nversion = 1\n\n{entry}")
        );
        assert_eq!(
            append("# no newline", &entry),
            format!("# no newline\n\n{entry}")
        );
        assert_eq!(append("x = 1\n\n", &entry), format!("x = 1\n\n{entry}"));
        assert_eq!(append("", &entry), entry);
        assert_eq!(
            append("x = 1\r\n", "a\nb\n"),
            "x = 1\r\n\r\na\r\nb\r\n".to_owned()
        );
    }

    #[test]
    fn entry_is_formatted_like_the_readme() {
        assert_eq!(
            entry(16, "Add \"quoted\" column", None, false),
            format!(
                "[[migration]]\nversion = 16\ndescription = 'Add \"quoted\" column'\n\
                 sql = [\"{PLACEHOLDER}\"]\n"
            )
        );
        assert_eq!(
            entry(3, "Backfill", Some("sql/0003_backfill.sql"), false),
            "[[migration]]\nversion = 3\ndescription = \"Backfill\"\n\
             sql_file = \"sql/0003_backfill.sql\"\n"
        );
    }

    #[test]
    fn placeholder_fails_the_build_and_says_so() {
        let text = entry(1, "One", None, false);
        let diagnostics = manifest::parse(&text).expect_err("the build refuses the placeholder");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            diagnostics[0].message,
            format!(
                "version 1 still holds the placeholder `migrate new` wrote ({PLACEHOLDER}): \
                 replace it with the SQL of this migration"
            )
        );
        // `new` itself accepts it, and so a second `new` before filling it in.
        let mut read = |_: &str| Err(io::Error::other("no files"));
        let parsed = manifest::parse_checked(&text, &mut read, manifest::Placeholders::Allow)
            .expect("new accepts its own placeholder");
        assert_eq!(parsed.migrations.latest_version(), 1);
    }
}
