//! Shared by every application in compat/, each of which includes it with
//! `#[path = "../../common.rs"] mod common;`: the temporary database, the
//! rows every driver writes and reads back, and the checks, one printed line
//! each. The driver-specific part of each application is its own main.rs.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use migrate_toml::ApplyReport;

use crate::MIGRATIONS;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

pub const USER_NAME: &str = "Ada Lovelace";
pub const USER_EMAIL: &str = "ada@example.org";
/// Goes in `users.bio`, the column migration 4 added.
pub const USER_BIO: &str = "Wrote the first published program.";
pub const POST_TITLE: &str = "Notes on the Analytical Engine";
pub const POST_BODY: &str = "It weaves algebraical patterns.";

/// The post read back joined to its author through `posts.user_id`:
/// (author's name, email, bio, post's title, body).
pub type Row = (String, String, Option<String>, String, String);

pub fn expected_row() -> Row {
    (
        USER_NAME.to_owned(),
        USER_EMAIL.to_owned(),
        Some(USER_BIO.to_owned()),
        POST_TITLE.to_owned(),
        POST_BODY.to_owned(),
    )
}

/// The query the drivers without a query builder run to read the row back.
#[allow(dead_code)] // not by diesel's nor SeaORM's applications
pub const SELECT_ROW: &str = "SELECT u.name, u.email, u.bio, p.title, p.body \
                              FROM posts p JOIN users u ON u.id = p.user_id";

/// What `schema_migrations` holds: (number of rows, highest version).
#[allow(dead_code)] // diesel's application builds it with its query builder
pub const SELECT_MIGRATIONS: &str = "SELECT count(*), max(version) FROM schema_migrations";

/// A new directory under the system's temporary directory, removed on drop,
/// with the path of a database file that does not exist yet.
pub struct TempDb {
    dir: PathBuf,
    path: PathBuf,
}

impl TempDb {
    pub fn new(app: &str) -> Result<Self> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "migrate-toml-compat-{app}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let path = dir.join("app.db");
        Ok(Self { dir, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shared library SQLite was loaded from, if the program links the
/// system's SQLite rather than one compiled in.
pub fn system_sqlite() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|file| file.contains("libsqlite3.so"))
        .map(str::to_owned)
}

pub struct Checks {
    app: &'static str,
    failed: Vec<String>,
}

impl Checks {
    /// Prints what the application tests and the versions it was built with:
    /// rusqlite and libsqlite3-sys as its Cargo.lock resolved them (read by
    /// compat/build.rs), SQLite as the linked library reports it.
    pub fn new(app: &'static str, driver: &str) -> Self {
        println!("{app}: migrate-toml beside {driver}");
        println!(
            "{app}: rusqlite {}, libsqlite3-sys {} (Cargo.lock); SQLite {} ({})",
            env!("COMPAT_RUSQLITE"),
            env!("COMPAT_LIBSQLITE3_SYS"),
            migrate_toml::rusqlite::version(),
            system_sqlite()
                .map_or_else(|| "compiled in".to_owned(), |lib| format!("system, {lib}")),
        );
        Self {
            app,
            failed: Vec::new(),
        }
    }

    pub fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        if got == want {
            println!("{}: ok   {what}: {got:?}", self.app);
        } else {
            println!("{}: FAIL {what}: got {got:?}, want {want:?}", self.app);
            self.failed.push(what.to_owned());
        }
    }

    /// Whether SQLite is the system's shared library (`true`) or compiled
    /// in (`false`), as the application's features intend.
    pub fn sqlite_from_system(&mut self, want: bool) {
        self.eq(
            "SQLite from the system library",
            system_sqlite().is_some(),
            want,
        );
    }

    /// The report of the first `apply_to_path` on a new file: every version.
    pub fn first_apply(&mut self, report: &ApplyReport) {
        let latest = MIGRATIONS.latest_version();
        let applied: Vec<u32> = report.applied.iter().map(|(v, _)| *v).collect();
        self.eq(
            "first apply_to_path applied every version",
            applied,
            (1..=latest).collect(),
        );
        self.eq(
            "first apply_to_path left the database at the latest version",
            report.version,
            i64::from(latest),
        );
        self.eq(
            "first apply_to_path adopted nothing",
            report.adopted.len(),
            0,
        );
    }

    /// The report of a second `apply_to_path` on the same file: nothing.
    pub fn second_apply(&mut self, report: &ApplyReport) {
        self.eq(
            "second apply_to_path applied nothing",
            report.applied.len(),
            0,
        );
        self.eq(
            "second apply_to_path left the version as it was",
            report.version,
            i64::from(MIGRATIONS.latest_version()),
        );
    }

    /// `schema_migrations` as the driver read it with [`SELECT_MIGRATIONS`].
    pub fn schema_migrations(&mut self, count: i64, max: Option<i64>) {
        let latest = i64::from(MIGRATIONS.latest_version());
        self.eq("schema_migrations rows (read by the driver)", count, latest);
        self.eq(
            "schema_migrations highest version (read by the driver)",
            max,
            Some(latest),
        );
    }

    /// The row read back by the driver with [`SELECT_ROW`].
    pub fn row(&mut self, got: Row) {
        self.eq(
            "post and author read back (read by the driver)",
            got,
            expected_row(),
        );
    }

    /// The error (if any) of inserting a post whose author does not exist:
    /// the foreign key of migration 2 must reject it.
    pub fn orphan_rejected(&mut self, error: Option<String>) {
        let rejected = error
            .as_deref()
            .is_some_and(|e| e.contains("FOREIGN KEY constraint failed"));
        if !rejected {
            println!("{}: orphan post insert gave {error:?}", self.app);
        }
        self.eq(
            "post without an author rejected by the foreign key",
            rejected,
            true,
        );
    }

    /// The exit code: failure if `outcome` is an error or any check failed.
    pub fn finish(self, outcome: Result<()>) -> ExitCode {
        let app = self.app;
        match outcome {
            Err(e) => {
                eprintln!("{app}: FAILED: {e}");
                ExitCode::FAILURE
            }
            Ok(()) if !self.failed.is_empty() => {
                eprintln!(
                    "{app}: FAILED: {} check(s): {}",
                    self.failed.len(),
                    self.failed.join("; ")
                );
                ExitCode::FAILURE
            }
            Ok(()) => {
                println!("{app}: all checks passed");
                ExitCode::SUCCESS
            }
        }
    }
}
