//! Arguments, database selection, and the dispatch to each command.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use migrate_core::rusqlite::{Connection, OpenFlags, ffi};
use migrate_core::{Error, Migrations, Migrator};

use crate::output;

const EXAMPLES: &str = "\
Examples:
  migrate                          show status of the default database
  migrate status                   version, applied and pending migrations, problems
  migrate apply                    apply every pending migration
  migrate --database app.db apply  apply to app.db
  migrate version                  print the current version number alone
  migrate history                  every applied migration with its time
  migrate schema                   the schema the migrations produce (proved at build time)

The database is --database, else $MIGRATE_DATABASE, else `database` in migrations.toml.

Exit codes: 0 success; 1 a migration or the database failed; 2 usage error;
3 the database disagrees with this build (unknown or skipped versions, foreign
schema_migrations table); 4 the database stayed locked past --busy-timeout.";

/// Apply and inspect the SQLite migrations built into this program.
#[derive(Debug, Parser)]
#[command(name = "migrate", version, after_help = EXAMPLES)]
struct Cli {
    /// SQLite database file [default: `database` in migrations.toml]
    #[arg(
        long,
        short = 'd',
        global = true,
        env = "MIGRATE_DATABASE",
        value_name = "PATH"
    )]
    database: Option<PathBuf>,

    /// Seconds to wait while another process holds the database's lock
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30.0,
          value_parser = parse_seconds)]
    busy_timeout: f64,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Show the current version, applied and pending migrations, and problems (default)
    #[command(after_help = "Example:\n  migrate status --database chatbot.db")]
    Status,
    /// Apply every pending migration, each in its own transaction
    #[command(after_help = "Example:\n  migrate apply --database chatbot.db")]
    Apply,
    /// Print the current version number alone (0 when nothing is applied)
    #[command(after_help = "Example:\n  migrate version --database chatbot.db")]
    Version,
    /// List every applied migration with its version, description and time
    #[command(after_help = "Example:\n  migrate history --database chatbot.db")]
    History,
    /// Print the schema the migrations produce, as the build proved it (no database needed)
    #[command(after_help = "Example:\n  migrate schema > schema.sql")]
    Schema,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}

/// Runs the CLI on the process's arguments over `migrations`.
pub fn run(migrations: &Migrations) -> ExitCode {
    run_from(std::env::args_os(), migrations)
}

/// Runs the CLI on the given arguments (the first is the program name).
pub fn run_from<I, T>(args: I, migrations: &Migrations) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let command = cli.command.unwrap_or(Command::Status);
    if command == Command::Schema {
        output::schema(migrations);
        return ExitCode::SUCCESS;
    }
    let Some(path) = cli
        .database
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| migrations.default_database().map(PathBuf::from))
    else {
        output::error(
            None,
            "no database given: pass --database PATH, set MIGRATE_DATABASE, or set \
             `database` in migrations.toml",
        );
        return ExitCode::from(2);
    };
    let migrator = migrations
        .migrator()
        .busy_timeout(Duration::from_secs_f64(cli.busy_timeout));

    match execute(command, &path, migrations, &migrator) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::error(Some(&path), &failure.to_string());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Why a command failed: the runner's error, or a problem with the path.
#[derive(Debug)]
enum Failure {
    Path(String),
    Runner(Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Path(msg) => f.write_str(msg),
            Failure::Runner(e) => e.fmt(f),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Runner(e)
    }
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Path(_) => 1,
            Failure::Runner(e) => exit_code(e),
        }
    }
}

/// The documented exit code for a runner error: 1 a migration or the
/// database failed, 3 the database disagrees with this build, 4 busy.
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Busy { .. } => 4,
        Error::Inconsistent { .. } | Error::UnexpectedTrackingTable { .. } => 3,
        _ => 1,
    }
}

fn execute(
    command: Command,
    path: &Path,
    migrations: &Migrations,
    migrator: &Migrator<'_>,
) -> Result<(), Failure> {
    check_path(path)?;
    if command == Command::Apply {
        let mut conn = Connection::open(path).map_err(opening)?;
        let report = migrator.apply_with(&mut conn, output::progress)?;
        output::applied(path, &report);
        return Ok(());
    }
    // status, version and history never create or change a database.
    let conn = if path.exists() {
        open_for_reading(path)?
    } else {
        // A missing file is a database at version 0 with everything pending.
        Connection::open_in_memory().map_err(Error::from)?
    };
    let status = migrator.status(&conn)?;
    match command {
        Command::Status => output::status(path, path.exists(), migrations, &status),
        Command::Version => output::version(&status),
        Command::History => output::history(&status),
        Command::Apply | Command::Schema => unreachable!("handled above"),
    }
    Ok(())
}

/// Opens an existing database to read it: read-only, unless a process died
/// in the middle of a write (a migration killed half-way) and left a hot
/// rollback journal. A read-only connection can then read nothing
/// (SQLITE_READONLY_ROLLBACK, which would be reported as a permissions
/// problem); a writable one rolls the journal back on its first read, as
/// every opener of the file does, restoring the last committed state.
fn open_for_reading(path: &Path) -> Result<Connection, Error> {
    let read_only = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(opening)?;
    // Not the default 5 s wait when the file is locked: the command itself
    // waits, for --busy-timeout.
    read_only.busy_timeout(Duration::ZERO).map_err(opening)?;
    let probe = read_only.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()));
    let hot_journal = probe
        .as_ref()
        .err()
        .and_then(|e| e.sqlite_error())
        .is_some_and(|e| e.extended_code == ffi::SQLITE_READONLY_ROLLBACK);
    if !hot_journal {
        // Any other error (busy, not a database) is met again, and reported,
        // by the command itself.
        return Ok(read_only);
    }
    drop(read_only);
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(opening)
}

fn opening(e: migrate_core::rusqlite::Error) -> Error {
    Error::from_sqlite(e, Duration::ZERO)
}

/// Rejects, before SQLite sees it, a path whose directory is missing or that
/// names a directory: SQLite's own message ("unable to open database file")
/// does not say which.
fn check_path(path: &Path) -> Result<(), Failure> {
    if path.is_dir() {
        return Err(Failure::Path(
            "is a directory, not a database file".to_owned(),
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Failure::Path(format!(
            "the directory {} does not exist; create it first or fix the path",
            dir.display()
        )));
    }
    Ok(())
}
