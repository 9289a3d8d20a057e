//! Small lexical helpers over SQL text. Statements themselves are always
//! split and parsed by SQLite; these only look at what surrounds them.

/// The text with leading whitespace, `;` and SQL comments removed.
pub(crate) fn skip_trivia(mut s: &str) -> &str {
    loop {
        let trimmed = s.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(rest) = trimmed.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = trimmed.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return trimmed;
        }
    }
}

/// True when `sql` holds no statement: only whitespace, `;` and comments.
///
/// # Examples
///
/// ```
/// use migrate_core::sql::is_blank;
///
/// assert!(is_blank("  -- nothing yet\n /* later */ ;"));
/// assert!(!is_blank("-- users\nCREATE TABLE users (id)"));
/// ```
pub fn is_blank(sql: &str) -> bool {
    skip_trivia(sql).is_empty()
}

/// True when `sql` holds nothing at all: only whitespace and `;`, not even
/// a comment. Such SQL is a mistake; SQL that is only comments is a
/// deliberate no-op (projects keep them so that version numbers stay
/// aligned across database engines) and is applied and recorded as one.
///
/// # Examples
///
/// ```
/// use migrate_core::sql::is_empty;
///
/// assert!(is_empty(" \n ; "));
/// assert!(!is_empty("-- version 7 only changes the PostgreSQL schema"));
/// ```
pub fn is_empty(sql: &str) -> bool {
    sql.trim_matches(|c: char| c.is_whitespace() || c == ';')
        .is_empty()
}

/// The first statement of `sql`, with any trivia before it: the text up to
/// and including the `;` that ends it, or all of `sql` when none does. Asks
/// SQLite's own `sqlite3_complete()` at each `;`, so a `CREATE TRIGGER` ends
/// only at `END;` and a `;` inside quotes or comments ends nothing. For
/// quoting a statement SQLite could not prepare, whose end it does not report.
pub(crate) fn first_statement(sql: &str) -> &str {
    for (i, _) in sql.match_indices(';') {
        let candidate = &sql[..=i];
        if is_blank(candidate) {
            // Empty statements (`;;`) are skipped by SQLite's parser too.
            continue;
        }
        let Ok(text) = std::ffi::CString::new(candidate) else {
            break;
        };
        // SAFETY: `text` is a valid NUL-terminated string that outlives the
        // call; sqlite3_complete only reads it.
        if unsafe { rusqlite::ffi::sqlite3_complete(text.as_ptr()) } != 0 {
            return candidate;
        }
    }
    sql
}

/// A statement shortened to one line for messages: comments and runs of
/// whitespace collapsed, cut at `max` characters.
///
/// # Examples
///
/// ```
/// use migrate_core::sql::one_line;
///
/// assert_eq!(one_line("-- users\nCREATE TABLE users (\n    id TEXT\n)", 80), "CREATE TABLE users ( id TEXT )");
/// assert_eq!(one_line("SELECT 123456789", 8), "SELECT …");
/// ```
pub fn one_line(sql: &str, max: usize) -> String {
    let collapsed = skip_trivia(sql)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else if max == 0 {
        String::new()
    } else {
        let cut: String = collapsed.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// What an `ALTER TABLE … RENAME` statement renames: names as written,
/// unquoted, lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rename {
    /// `ALTER TABLE from RENAME TO to`.
    Table { from: String, to: String },
    /// `ALTER TABLE table RENAME [COLUMN] from TO to`.
    Column {
        table: String,
        from: String,
        to: String,
    },
}

/// The rename `sql` (one statement, as SQLite prepared it) makes, if it is
/// an `ALTER TABLE … RENAME`; `None` for anything else (`ADD COLUMN`, `DROP
/// COLUMN`, or text this reading does not follow). SQLite's authorizer says
/// which table an `ALTER TABLE` alters, not the new name, so the data proof
/// reads it here to follow the table's rows.
pub(crate) fn rename(sql: &str) -> Option<Rename> {
    let mut words = Words(sql);
    let keyword = |words: &mut Words<'_>, kw: &str| matches!(words.next(), Some(Word::Bare(w)) if w.eq_ignore_ascii_case(kw));
    if !keyword(&mut words, "alter") || !keyword(&mut words, "table") {
        return None;
    }
    let mut table = words.next()?.name();
    if words.peek_dot() {
        table = words.next()?.name();
    }
    if !keyword(&mut words, "rename") {
        return None;
    }
    let next = words.next()?;
    match next {
        Word::Bare(w) if w.eq_ignore_ascii_case("to") => Some(Rename::Table {
            from: table,
            to: words.next()?.name(),
        }),
        first => {
            let from = match first {
                Word::Bare(w) if w.eq_ignore_ascii_case("column") => words.next()?.name(),
                other => other.name(),
            };
            if !keyword(&mut words, "to") {
                return None;
            }
            Some(Rename::Column {
                table,
                from,
                to: words.next()?.name(),
            })
        }
    }
}

/// A word of SQL text: a bare word, or a quoted name with its quotes
/// removed.
enum Word<'a> {
    Bare(&'a str),
    Quoted(String),
}

impl Word<'_> {
    fn name(self) -> String {
        match self {
            Word::Bare(w) => w.to_lowercase(),
            Word::Quoted(w) => w.to_lowercase(),
        }
    }
}

/// The words of SQL text, skipping comments and whitespace (enough of
/// SQLite's tokenizer for `ALTER TABLE` statements).
struct Words<'a>(&'a str);

impl<'a> Words<'a> {
    /// Skips a `.` (a schema's name before the table's), if there is one.
    fn peek_dot(&mut self) -> bool {
        let rest = skip_trivia(self.0);
        match rest.strip_prefix('.') {
            Some(after) => {
                self.0 = after;
                true
            }
            None => false,
        }
    }

    fn next(&mut self) -> Option<Word<'a>> {
        let rest = skip_trivia(self.0);
        let mut chars = rest.char_indices();
        let (_, first) = chars.next()?;
        let close = match first {
            '"' => '"',
            '`' => '`',
            '[' => ']',
            '\'' => '\'',
            c if c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii() => {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()))
                    .unwrap_or(rest.len());
                self.0 = &rest[end..];
                return Some(Word::Bare(&rest[..end]));
            }
            _ => return None,
        };
        let mut name = String::new();
        let mut iter = rest[1..].char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if c == close {
                // A doubled quote stands for one (not for `]`).
                if close != ']' && iter.peek().is_some_and(|&(_, n)| n == close) {
                    iter.next();
                    name.push(c);
                    continue;
                }
                self.0 = &rest[1 + i + c.len_utf8()..];
                return Some(Word::Quoted(name));
            }
            name.push(c);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_are_read_from_alter_table() {
        let table = |from: &str, to: &str| Rename::Table {
            from: from.into(),
            to: to.into(),
        };
        assert_eq!(
            rename("ALTER TABLE users_new RENAME TO users"),
            Some(table("users_new", "users"))
        );
        assert_eq!(
            rename("alter table main.\"Odd \"\"x\"\"\" /* c */ rename to [Users]"),
            Some(table("odd \"x\"", "users"))
        );
        assert_eq!(
            rename("ALTER TABLE t RENAME COLUMN a TO `b`"),
            Some(Rename::Column {
                table: "t".into(),
                from: "a".into(),
                to: "b".into()
            })
        );
        assert_eq!(
            rename("ALTER TABLE t RENAME a TO b"),
            Some(Rename::Column {
                table: "t".into(),
                from: "a".into(),
                to: "b".into()
            })
        );
        assert_eq!(rename("ALTER TABLE t ADD COLUMN rename_to TEXT"), None);
        assert_eq!(rename("ALTER TABLE t DROP COLUMN x"), None);
    }

    #[test]
    fn blank_means_no_statement() {
        assert!(is_blank(""));
        assert!(is_blank("  \n\t "));
        assert!(is_blank("-- only a comment\n /* and another */ ;"));
        assert!(!is_blank("-- comment\nSELECT 1"));
        assert!(!is_blank("/* c */ VACUUM"));
    }

    #[test]
    fn empty_means_not_even_a_comment() {
        assert!(is_empty(""));
        assert!(is_empty("  \n\t ;; "));
        assert!(!is_empty("-- only a comment"));
        assert!(!is_empty("/* c */"));
        assert!(!is_empty("SELECT 1"));
    }

    #[test]
    fn first_statement_ends_where_sqlite_would() {
        assert_eq!(first_statement("SELECT 1; SELECT 2"), "SELECT 1;");
        assert_eq!(
            first_statement("\n-- a; comment\n;; CREATE INDX i ON t(a);\nDROP TABLE t;"),
            "\n-- a; comment\n;; CREATE INDX i ON t(a);"
        );
        assert_eq!(
            first_statement("INSERT INTO t VALUES ('a;b', \"c;\", [d;], `e;`) /* ; */; X"),
            "INSERT INTO t VALUES ('a;b', \"c;\", [d;], `e;`) /* ; */;"
        );
        let trigger = "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n  \
                       UPDATE t SET a = CASE WHEN a THEN 1 ELSE 2 END;\n  SELECT 1;\nEND;";
        assert_eq!(first_statement(&format!("{trigger} SELECT 3;")), trigger);
        assert_eq!(
            first_statement("CREATE TABLE end (x); SELECT 1"),
            "CREATE TABLE end (x);"
        );
        assert_eq!(
            first_statement("SELECT 'unterminated; x"),
            "SELECT 'unterminated; x"
        );
        assert_eq!(first_statement("SELECT 'é;' ; é"), "SELECT 'é;' ;");
        assert_eq!(first_statement(""), "");
    }

    #[test]
    fn one_line_collapses_and_cuts() {
        assert_eq!(
            one_line("  CREATE TABLE t (\n   a INT\n)", 80),
            "CREATE TABLE t ( a INT )"
        );
        assert_eq!(one_line("SELECT 123456789", 8), "SELECT …");
        assert_eq!(one_line("T", 0), "", "never over the limit, even 0");
    }
}
