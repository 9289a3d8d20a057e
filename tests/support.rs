//! Helpers shared by the integration tests: running a `migrate` binary and
//! looking into the SQLite files it leaves behind.
//!
//! The tests name their binaries with `env!("CARGO_BIN_EXE_fixture-…")`, which
//! only integration tests see, so helpers here take the binary's path.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub use migrate_core::rusqlite;
use migrate_core::rusqlite::{Connection, OpenFlags};

/// The repository's migrations.toml, as the binaries embed it.
pub const REPO_MIGRATIONS: &str = include_str!("../migrations.toml");

/// A `migrate` command for `bin` that does not inherit the caller's
/// `MIGRATE_DATABASE`, so only what a test passes chooses the database.
pub fn command(bin: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_remove("MIGRATE_DATABASE");
    cmd
}

/// What a finished `migrate` process did, with its output as text.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `bin --database db ARGS…` to completion.
pub fn migrate(bin: &str, db: &Path, args: &[&str]) -> Run {
    let out = command(bin)
        .arg("--database")
        .arg(db)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    Run::from(out)
}

impl Run {
    /// Asserts the exit code, showing the whole run when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code:\n{self}");
        self
    }

    /// Asserts success with nothing on stderr.
    #[track_caller]
    pub fn expect_success(&self) -> &Self {
        self.expect_code(0);
        assert_eq!(
            self.stderr, "",
            "success should be quiet on stderr:\n{self}"
        );
        self
    }

    /// Asserts a failure reported the way the CLI promises: exit `code`,
    /// exactly one line on stderr, `migrate: error: DB: …`, no panic, and
    /// every one of `words` in it. Returns the message after the path.
    #[track_caller]
    pub fn expect_error(&self, code: i32, db: &Path, words: &[&str]) -> &str {
        self.expect_code(code);
        assert!(
            !self.stderr.contains("panicked"),
            "the process panicked:\n{self}"
        );
        assert!(
            self.stderr.ends_with('\n') && self.stderr.lines().count() == 1,
            "stderr should be exactly one line:\n{self}"
        );
        let prefix = format!("migrate: error: {}: ", db.display());
        let message = self
            .stderr
            .trim_end()
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("stderr should start with {prefix:?}:\n{self}"));
        for word in words {
            assert!(
                message.contains(word),
                "stderr should mention {word:?}:\n{self}"
            );
        }
        message
    }
}

/// Opens an existing database read-write (never creates one).
pub fn open(db: &Path) -> Connection {
    Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("cannot open {}: {e}", db.display()))
}

/// The rows of `schema_migrations`: version, description, applied_at.
pub fn recorded(db: &Path) -> Vec<(i64, Option<String>, Option<String>)> {
    let conn = open(db);
    let mut stmt = conn
        .prepare("SELECT version, description, applied_at FROM schema_migrations ORDER BY version")
        .expect("schema_migrations should be readable");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query schema_migrations")
        .collect::<Result<_, _>>()
        .expect("read schema_migrations")
}

/// The recorded versions, in order.
pub fn versions(db: &Path) -> Vec<i64> {
    recorded(db).into_iter().map(|(v, _, _)| v).collect()
}

/// Names of the objects of one type (`table`, `index`, `trigger`) that the
/// schema holds, sorted, without SQLite's own (`sqlite_…`, automatic indexes).
pub fn objects(db: &Path, kind: &str) -> Vec<String> {
    let conn = open(db);
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = ?1 AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .expect("prepare sqlite_master query");
    stmt.query_map([kind], |r| r.get(0))
        .expect("query sqlite_master")
        .collect::<Result<_, _>>()
        .expect("read sqlite_master")
}

/// The tables of the database, sorted, without SQLite's own.
pub fn tables(db: &Path) -> Vec<String> {
    objects(db, "table")
}

/// A table's columns as `(name, declared type)`, in order.
pub fn columns(db: &Path, table: &str) -> Vec<(String, String)> {
    let conn = open(db);
    let mut stmt = conn
        .prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
        .expect("prepare table_info");
    stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query table_info")
        .collect::<Result<_, _>>()
        .expect("read table_info")
}

/// The names of a table's columns, in order.
pub fn column_names(db: &Path, table: &str) -> Vec<String> {
    columns(db, table).into_iter().map(|(n, _)| n).collect()
}

/// The single integer a query returns.
pub fn count(db: &Path, sql: &str) -> i64 {
    open(db)
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of a query, each column shown as text (NULL as "NULL").
pub fn rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    use migrate_core::rusqlite::types::ValueRef;
    let conn = open(db);
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => "NULL".to_owned(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Real(v) => v.to_string(),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
            })
            .collect()
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .collect::<Result<_, _>>()
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `PRAGMA foreign_key_check` over the whole database: one line per
/// violation, empty when every foreign key holds.
pub fn foreign_key_violations(db: &Path) -> Vec<Vec<String>> {
    rows(db, "PRAGMA foreign_key_check")
}

/// `PRAGMA integrity_check`'s answer, "ok" when the file is sound.
pub fn integrity(db: &Path) -> String {
    open(db)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// The file's bytes, to show that a command changed nothing; `None` when
/// the file does not exist.
pub fn bytes(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// The names in a directory, sorted: to show nothing else was created.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Whether `text` looks like SQLite's `CURRENT_TIMESTAMP`: `YYYY-MM-DD HH:MM:SS`.
pub fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Runs `bin --database db ARGS…` on a pseudo-terminal through util-linux
/// `script`, typing `input`; `None` (and a note) where there is no `script`,
/// except under `CI`, where that fails the test.
/// Everything the process writes arrives on stdout, the terminal's echo too.
pub fn migrate_on_terminal(bin: &str, db: &Path, args: &[&str], input: &str) -> Option<Run> {
    let script = Path::new("/usr/bin/script");
    if !script.exists() {
        // CI must test it: there, a missing `script` is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI has no /usr/bin/script (util-linux) to run `migrate` on a terminal"
        );
        eprintln!("note: no /usr/bin/script to run `migrate` on a terminal; not tested here");
        return None;
    }
    let line = format!("'{bin}' --database '{}' {}", db.display(), args.join(" "));
    let mut child = command(script.to_str().expect("utf-8 path"))
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    Some(Run::from(
        child.wait_with_output().expect("wait for script"),
    ))
}
