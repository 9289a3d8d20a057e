//! Arguments, database selection, and the dispatch to each command.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use migrate_core::rusqlite::{Connection, OpenFlags};
use migrate_core::{Error, Migrations, Migrator};

use crate::output;

const EXAMPLES: &str = "\
Examples:
  migrate                          show status of the default database
  migrate status                   version, applied and pending migrations, problems
  migrate apply                    back up, then apply every pending migration
  migrate --database app.db apply  apply to app.db
  migrate apply --dry-run          try the pending migrations on the real data, change nothing
  migrate apply --to 12            apply up to version 12
  migrate down --yes               back up, then roll back the latest version with its down
  migrate down --to 9 --dry-run    try rolling back to version 9 on the real data, change nothing
  migrate version                  print the current version number alone
  migrate history                  every applied migration with its time, duration and build
  migrate check                    exit 0 only if the database is exactly what this build expects
  migrate repair --yes             accept edited migrations' new SQL as what ran
  migrate baseline 12              record 1..12 as applied on a database made before this tool
  migrate restore app.db.12.20261124T101500Z.bak   put a backup back
  migrate schema                   the schema the migrations produce (proved at build time)
  migrate --load-extension ./vec0.so apply   load an SQLite extension the migrations call
  migrate --databases 'tenants/*.db' apply --canary 5   every tenant's database, 5 first

The database is --database, else $MIGRATE_DATABASE, else `database` in migrations.toml.

Exit codes: 0 success; 1 a migration, a down or the database failed (or
would, with --dry-run); 2 usage error, or a version to roll back has no down;
3 the database disagrees with this build (unknown, skipped or modified
migrations, drift, a foreign schema_migrations table, or anything `check`
finds); 4 the database stayed locked past --busy-timeout. Over a fleet
(--databases), the worst of the databases' codes: 1, then 3, 2, 4.";

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

    /// Output format: human text, or one JSON document per command (errors too, on stderr)
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Same as --format json
    #[arg(long, global = true)]
    json: bool,

    /// Print only results and errors: no progress, no informational lines
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Log each migration and each SQL statement with its duration to stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Append the log (each migration and SQL statement with its duration) to this file
    #[arg(long, global = true, value_name = "PATH")]
    log_file: Option<PathBuf>,

    /// Load this SQLite extension (a shared library) before anything else; repeat for several
    #[arg(long, global = true, value_name = "PATH")]
    load_extension: Vec<PathBuf>,

    #[command(flatten)]
    fleet: crate::fleet::FleetArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Show the current version, applied and pending migrations, and problems (default)
    #[command(after_help = "Example:\n  migrate status --database chatbot.db")]
    Status,
    /// Back up the database, then apply every pending migration, each in its own transaction
    #[command(after_help = "Examples:\n  migrate apply --database chatbot.db\n  \
        migrate apply --dry-run\n  migrate apply --to 12 --backup-dir /var/backups\n  \
        migrate apply --yes   (do not ask about the data pending migrations declare they remove)")]
    Apply(ApplyArgs),
    /// Roll back the latest version (or every version above --to), running each migration's down; backs up first
    #[command(
        after_help = "Examples:\n  migrate down --dry-run\n  migrate down --yes\n  \
        migrate down --to 12 --yes\n  migrate down --to 0 --backup-dir /var/backups"
    )]
    Down(crate::down::DownArgs),
    /// Roll back the latest version and apply it again, for development
    #[command(after_help = "Example:\n  migrate redo --yes --no-backup")]
    Redo(crate::down::RedoArgs),
    /// Print the current version number alone (0 when nothing is applied)
    #[command(after_help = "Example:\n  migrate version --database chatbot.db")]
    Version,
    /// List every applied migration with its version, time, duration, build and description
    #[command(after_help = "Example:\n  migrate history --database chatbot.db")]
    History,
    /// Compare the database with this build: pending, unknown, skipped or edited migrations and schema drift; exit 0 only when all agree
    #[command(after_help = "Example:\n  migrate check --database chatbot.db && deploy")]
    Check,
    /// Record the current SQL of migrations edited after they were applied as what ran
    #[command(after_help = "Example:\n  migrate repair --yes")]
    Repair {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Record versions 1..=VERSION as applied without running them, for a database whose schema predates this tool
    #[command(after_help = "Example:\n  migrate baseline 12 --database legacy.db")]
    Baseline {
        /// The version the database's schema already has
        version: u32,
        /// Record it even if the schema does not match that version's
        #[arg(long)]
        force: bool,
    },
    /// Put a backup made by `apply` back in place of the database (after backing up the current one)
    #[command(after_help = "Example:\n  migrate restore chatbot.db.12.20261124T101500Z.bak --yes")]
    Restore {
        /// The backup file
        file: PathBuf,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Restore it even if its history or schema is not this build's
        #[arg(long)]
        force: bool,
    },
    /// Print the schema the migrations produce, as the build proved it (no database needed)
    #[command(after_help = "Example:\n  migrate schema > schema.sql")]
    Schema,
    /// Append a new migration to migrations.toml with the next version, keeping its comments
    #[command(
        after_help = "Examples:\n  migrate new \"Add email_verified column to users\"\n  \
        migrate new \"Backfill user timezones\" --sql-file"
    )]
    New(crate::new::NewArgs),
    /// Write into migrations.toml the `loses` declarations the build's data proof needs (for an existing history)
    #[command(
        name = "declare-losses",
        after_help = "Example:\n  migrate declare-losses --manifest migrations.toml && git diff migrations.toml"
    )]
    DeclareLosses(crate::losses::DeclareArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = "Example:\n  migrate completions bash > /etc/bash_completion.d/migrate")]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    #[command(after_help = "Example:\n  migrate man > migrate.1 && man ./migrate.1")]
    Man,
}

#[derive(Debug, clap::Args, Clone, PartialEq, Eq, Default)]
pub(crate) struct ApplyArgs {
    /// Stop after this version
    #[arg(long, value_name = "VERSION")]
    to: Option<u32>,
    /// Run the pending migrations on the real data inside a transaction that is rolled back, and report what would fail and the rows, tables and columns each would add or remove; changes nothing
    #[arg(long)]
    dry_run: bool,
    /// Apply all pending migrations in one transaction: all or none, one commit
    #[arg(long, conflicts_with = "dry_run")]
    single_transaction: bool,
    /// Run every migration one at a time even on an empty database, instead of creating it at the target version in one transaction from what the build proved
    #[arg(long)]
    one_by_one: bool,
    /// Do not ask for confirmation on a terminal when a pending migration declares data it removes (`loses`)
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    backup: BackupArgs,
}

/// The backup every changing command takes first, and its retention.
#[derive(Debug, clap::Args, Clone, PartialEq, Eq, Default)]
pub(crate) struct BackupArgs {
    /// Do not back up the database first
    #[arg(long)]
    no_backup: bool,
    /// Where to write the backup [default: next to the database]
    #[arg(long, value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// Keep the newest N backups of the database, removing older ones [default: keep_backups in migrations.toml, else 5]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    keep: Option<u32>,
}

/// What a fleet (`--databases`, crate::fleet) needs to know of a command.
impl Command {
    /// The command's name, if it runs over a fleet, and whether it changes
    /// databases.
    pub(crate) fn fleet_kind(&self) -> Option<(&'static str, bool)> {
        match self {
            Command::Status => Some(("status", false)),
            Command::Version => Some(("version", false)),
            Command::History => Some(("history", false)),
            Command::Check => Some(("check", false)),
            Command::Apply(args) => Some(("apply", !args.dry_run)),
            Command::Down(args) => Some(("down", !args.is_dry_run())),
            Command::Redo(_) => Some(("redo", true)),
            _ => None,
        }
    }

    /// The command each database of a fleet runs. What a command asks
    /// before it changes a database is asked once for the whole fleet (and
    /// refused off a terminal without `--yes`, as for one database); each
    /// database then runs as with `--yes`, since the threads that run them
    /// must not read the terminal.
    pub(crate) fn for_fleet(&self, migrations: &Migrations) -> Result<Command, Failure> {
        match self {
            Command::Apply(args) if !args.yes && !args.dry_run => {
                use std::io::IsTerminal;
                let losing: Vec<String> = migrations
                    .iter()
                    .filter(|m| {
                        args.to.is_none_or(|to| m.version() <= to) && m.loses().next().is_some()
                    })
                    .map(|m| m.version().to_string())
                    .collect();
                if !losing.is_empty() && std::io::stdin().is_terminal() {
                    confirm(
                        false,
                        &format!(
                            "Migrations {} declare data they remove (see migrations.toml).\n\
                             Apply them to every database of the fleet where they are pending?",
                            losing.join(", ")
                        ),
                    )?;
                }
                Ok(Command::Apply(ApplyArgs {
                    yes: true,
                    ..args.clone()
                }))
            }
            Command::Down(args) => Ok(Command::Down(args.confirmed_for_fleet()?)),
            Command::Redo(args) => Ok(Command::Redo(args.confirmed_for_fleet()?)),
            other => Ok(other.clone()),
        }
    }

    /// The one directory every database's backup goes to (`--backup-dir`),
    /// if the command backs up there.
    pub(crate) fn shared_backup_dir(&self) -> Option<&Path> {
        let backup = match self {
            Command::Apply(args) if !args.dry_run => &args.backup,
            Command::Down(args) if !args.is_dry_run() => args.backup(),
            Command::Redo(args) => args.backup(),
            _ => return None,
        };
        if backup.no_backup {
            None
        } else {
            backup.backup_dir.as_deref()
        }
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}

/// Runs the CLI on the process's arguments over `migrations`: parses them,
/// runs the command, prints its output, and returns the exit code (see
/// [`exit_code`]). See [`run_from`] to pass the arguments.
pub fn run(migrations: &Migrations) -> ExitCode {
    run_from(std::env::args_os(), migrations)
}

/// [`run`] for a program whose migrations call functions it registers
/// itself: `on_open` runs on the connection of every command that applies
/// or tries migrations (`apply`, `apply --dry-run`), after the extensions of
/// `--load-extension`, before anything is read or written. See
/// [`run_from_with`] to pass the arguments.
///
/// ```no_run
/// use migrate_core::rusqlite::functions::FunctionFlags;
///
/// migrate_macros::embed_migrations!("../migrations.toml");
///
/// fn main() -> std::process::ExitCode {
///     migrate_bin::run_with(&MIGRATIONS, |conn| {
///         let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
///         conn.create_scalar_function("slug", 1, flags, |ctx| {
///             Ok(ctx.get::<String>(0)?.to_lowercase().replace(' ', "-"))
///         })
///     })
/// }
/// ```
pub fn run_with<F>(migrations: &Migrations, on_open: F) -> ExitCode
where
    F: Fn(&Connection) -> migrate_core::rusqlite::Result<()> + Send + Sync,
{
    run_from_with(std::env::args_os(), migrations, on_open)
}

/// Runs the CLI on the given arguments (the first is the program name).
///
/// # Examples
///
/// ```
/// use std::process::ExitCode;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let migrations = migrate_core::Migrations::from_toml(r#"
///     [[migration]]
///     version = 1
///     description = "Create users table"
///     sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"
/// "#, "migrations.toml")?;
/// # let dir = std::env::temp_dir().join(format!("migrate-bin-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let db = dir.join("app.db");
///
/// let args = ["migrate", "apply", "--database", db.to_str().unwrap()];
/// assert_eq!(migrate_bin::run_from(args, &migrations), ExitCode::SUCCESS);
/// let conn = migrate_core::rusqlite::Connection::open(&db)?;
/// assert_eq!(migrations.current_version(&conn)?, 1);
///
/// // A usage error exits with 2.
/// assert_eq!(migrate_bin::run_from(["migrate", "aply"], &migrations), ExitCode::from(2));
/// # drop(conn);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub fn run_from<I, T>(args: I, migrations: &Migrations) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_from_with(args, migrations, |_| Ok(()))
}

/// [`run_from`] with a hook that registers the program's functions: see
/// [`run_with`].
///
/// # Examples
///
/// ```
/// use std::process::ExitCode;
/// use migrate_core::rusqlite::functions::FunctionFlags;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let migrations = migrate_core::Migrations::from_toml(r#"
///     [[function]]
///     name = "twice"
///     args = 1
///
///     [[migration]]
///     version = 1
///     description = "Seed the answer"
///     sql = ["CREATE TABLE t (x)", "INSERT INTO t VALUES (twice(21))"]
/// "#, "migrations.toml")?;
/// # let dir = std::env::temp_dir().join(format!("migrate-bin-doctest-with-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let db = dir.join("app.db");
/// let args = ["migrate", "apply", "--database", db.to_str().unwrap()];
///
/// // Without the function, apply refuses and changes nothing (exit code 1).
/// assert_eq!(migrate_bin::run_from(args, &migrations), ExitCode::from(1));
///
/// let code = migrate_bin::run_from_with(args, &migrations, |conn| {
///     conn.create_scalar_function("twice", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
///         Ok(2 * ctx.get::<i64>(0)?)
///     })
/// });
/// assert_eq!(code, ExitCode::SUCCESS);
/// let conn = migrate_core::rusqlite::Connection::open(&db)?;
/// assert_eq!(conn.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0))?, 42);
/// # drop(conn);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub fn run_from_with<I, T, F>(args: I, migrations: &Migrations, on_open: F) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    F: Fn(&Connection) -> migrate_core::rusqlite::Result<()> + Send + Sync,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Known before parsing, so that a usage error can be JSON too.
    let wants_json = args
        .iter()
        .zip(args.iter().skip(1).chain([&OsString::new()]))
        .any(|(a, next)| {
            a == "--json" || a == "--format=json" || (a == "--format" && next == "json")
        });
    // Whether --database was on the command line (not from
    // MIGRATE_DATABASE): it cannot go with a fleet.
    let parsed = Cli::command().try_get_matches_from(args).and_then(|m| {
        let given = m.value_source("database") == Some(clap::parser::ValueSource::CommandLine);
        Cli::from_arg_matches(&m).map(|cli| (cli, given))
    });
    let (cli, database_given) = match parsed {
        Ok(parsed) => parsed,
        Err(e) if e.use_stderr() && wants_json => {
            output::configure(output::Mode {
                json: true,
                quiet: false,
            });
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("usage error");
            output::error(None, first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    output::configure(output::Mode {
        json: cli.json || cli.format == Format::Json,
        quiet: cli.quiet,
    });
    if let Err(message) = crate::log::init(cli.verbose, cli.log_file.as_deref()) {
        output::failure(None, "log_file", 1, &message, None);
        return ExitCode::from(1);
    }
    let command = cli.command.unwrap_or(Command::Status);
    if let Command::Apply(ApplyArgs { to: Some(to), .. }) = &command
        && (*to == 0 || *to > migrations.latest_version())
    {
        output::error(
            None,
            &format!(
                "--to {to}: this build has versions 1 to {}",
                migrations.latest_version()
            ),
        );
        return ExitCode::from(2);
    }
    if let Err(message) = cli.fleet.fits(&command, database_given) {
        output::error(None, &message);
        return ExitCode::from(2);
    }
    // Commands that need no database.
    match &command {
        Command::Schema => {
            output::schema(migrations);
            return ExitCode::SUCCESS;
        }
        Command::New(args) => return ExitCode::from(crate::new::run(args, migrations)),
        Command::DeclareLosses(args) => {
            return ExitCode::from(crate::losses::run(args, migrations));
        }
        Command::Completions { shell } => {
            return ExitCode::from(crate::docs::completions(*shell, Cli::command()));
        }
        Command::Man => return ExitCode::from(crate::docs::man(Cli::command())),
        _ => {}
    }
    let timeout = Duration::from_secs_f64(cli.busy_timeout);
    let mut migrator = migrations.migrator().busy_timeout(timeout).on_open(on_open);
    for extension in &cli.load_extension {
        migrator = migrator.load_extension(extension);
    }
    // Every extension is loaded once before a database is opened, so a
    // path that fails leaves it untouched (not even created).
    let probe = || {
        if cli.load_extension.is_empty() {
            return Ok(());
        }
        Connection::open_in_memory()
            .map_err(Error::from)
            .and_then(|probe| migrator.prepare(&probe))
            .map_err(Failure::from)
    };
    if cli.fleet.selected() {
        if let Err(failure) = probe() {
            failure.print();
            return ExitCode::from(failure.exit_code());
        }
        return ExitCode::from(crate::fleet::run(
            &cli.fleet, &command, migrations, &migrator, timeout,
        ));
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
    match probe().and_then(|()| execute(&command, &path, migrations, &migrator, timeout)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let failure = failure.waited(timeout);
            tracing::error!("{}: {failure}", path.display());
            let version = match &failure {
                Failure::Runner(e) => e.version(),
                _ => None,
            };
            output::failure(
                Some(&path),
                failure.code(),
                failure.exit_code(),
                &failure.to_string(),
                version,
            );
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Why a command failed: the runner's error, a problem with the path, or
/// a file given to `restore` that is not a backup.
#[derive(Debug)]
pub(crate) enum Failure {
    Path(String),
    Usage(String),
    Runner(Error),
    /// The backup file (named first in the message) and what is wrong with it.
    Backup(Box<(PathBuf, Error)>),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Path(msg) | Failure::Usage(msg) => f.write_str(msg),
            Failure::Runner(e) => e.fmt(f),
            Failure::Backup(b) => write!(f, "{}: {}", b.0.display(), b.1),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Runner(e)
    }
}

impl Failure {
    /// Prints this failure, one that concerns no database in particular
    /// (before any is opened), as every command prints one.
    pub(crate) fn print(&self) {
        output::failure(None, self.code(), self.exit_code(), &self.to_string(), None);
    }

    /// This failure, a lock's with the wait in force: every wait of a
    /// command is --busy-timeout, whichever layer noticed the lock (some do
    /// not know the timeout).
    pub(crate) fn waited(self, timeout: Duration) -> Failure {
        match self {
            Failure::Runner(Error::Busy { .. }) => Failure::Runner(Error::Busy { timeout }),
            other => other,
        }
    }

    /// The stable code of the JSON error document.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Failure::Path(_) => "path",
            Failure::Usage(_) => "usage",
            Failure::Runner(e) => e.code(),
            Failure::Backup(b) => b.1.code(),
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Backup(b) => match b.1 {
                Error::ForeignBackup { .. } => 3,
                _ => 1,
            },
            Failure::Path(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Runner(e) => exit_code(e),
        }
    }
}

/// The documented exit code for a runner error: 1 a migration or the
/// database failed, 2 a request that cannot be carried out as asked (a
/// `transaction = false` migration in a `--single-transaction` batch), 3 the
/// database disagrees with this build, 4 busy.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_bin::exit_code;
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Error, Migration, Migrator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(exit_code(&Error::Busy { timeout: Duration::from_secs(30) }), 4);
/// assert_eq!(exit_code(&Error::AlreadyTracked { version: 2 }), 3);
/// assert_eq!(exit_code(&Error::NotADatabase), 1);
///
/// // A database migrated by a newer build: it disagrees with this one.
/// let newer = [
///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]),
///     Migration::new(2, "Create tickets table", ["CREATE TABLE tickets (id INTEGER)"]),
/// ];
/// let mut conn = Connection::open_in_memory()?;
/// Migrator::new(&newer).apply(&mut conn)?;
/// let err = Migrator::new(&newer[..1]).apply(&mut conn).unwrap_err();
/// assert!(matches!(err, Error::Inconsistent { .. }));
/// assert_eq!(exit_code(&err), 3);
/// # Ok(())
/// # }
/// ```
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::BatchRolledBack { source } => exit_code(source),
        Error::NotTransactional { .. }
        | Error::Irreversible { .. }
        | Error::NoSuchVersion { .. } => 2,
        Error::Busy { .. } => 4,
        Error::Inconsistent { .. }
        | Error::UnexpectedTrackingTable { .. }
        | Error::AlreadyTracked { .. }
        | Error::BaselineMismatch { .. }
        | Error::ForeignBackup { .. }
        | Error::StoredDownMissing { .. }
        | Error::StoredDownModified { .. } => 3,
        _ => 1,
    }
}

/// Runs one command; the exit code on success (a trial run that found a
/// failure, or a check that found a problem, "succeeds" with a non-zero code).
pub(crate) fn execute(
    command: &Command,
    path: &Path,
    migrations: &Migrations,
    migrator: &Migrator<'_>,
    timeout: Duration,
) -> Result<u8, Failure> {
    check_path(path)?;
    match command {
        Command::Apply(args) => return apply(args, path, migrations, migrator, timeout),
        Command::Repair { yes } => {
            if !path.exists() {
                // Nothing is recorded there; a mistyped path is not created.
                output::line("Nothing to repair: the database does not exist.");
                return Ok(0);
            }
            let mut conn = Connection::open(path).map_err(opening)?;
            let status = migrator.status(&conn)?;
            // Unknown or skipped versions are not repaired by recording
            // checksums: refuse, as `Migrator::repair` would, before asking.
            let blocking: Vec<migrate_core::Problem> = status
                .problems
                .iter()
                .filter(|p| !matches!(p, migrate_core::Problem::Modified { .. }))
                .cloned()
                .collect();
            if !blocking.is_empty() {
                return Err(Error::Inconsistent { problems: blocking }.into());
            }
            let modified: Vec<String> = status
                .problems
                .iter()
                .filter(|p| matches!(p, migrate_core::Problem::Modified { .. }))
                .map(ToString::to_string)
                .collect();
            if modified.is_empty() {
                output::line("Nothing to repair: every applied migration matches this build.");
                return Ok(0);
            }
            confirm(
                *yes,
                &format!(
                    "{}\nRecord this build's SQL as what ran for these migrations?",
                    modified.join("\n")
                ),
            )?;
            let repaired = migrator.repair(&mut conn)?;
            output::repaired(&repaired);
            return Ok(0);
        }
        Command::Baseline { version, force } => {
            if *version == 0 || *version > migrations.latest_version() {
                return Err(Failure::Usage(format!(
                    "baseline {version}: this build has versions 1 to {}",
                    migrations.latest_version()
                )));
            }
            if !path.exists() {
                // Baseline is for a database that exists; a mistyped path is
                // not created (and, with --force, not given a record).
                return Err(Failure::Path(
                    "does not exist: baseline records the migrations of an existing database; \
                     check the path; nothing was changed"
                        .to_owned(),
                ));
            }
            let mut conn = Connection::open(path).map_err(opening)?;
            conn.busy_timeout(timeout).map_err(opening)?;
            migrations.baseline(&mut conn, *version, *force)?;
            output::line(&format!(
                "Recorded versions 1 to {version} as applied without running them."
            ));
            return Ok(0);
        }
        Command::Restore { file, yes, force } => {
            return restore(migrations, file, (*yes, *force), path, timeout);
        }
        Command::Down(args) => return crate::down::down(args, path, migrations, migrator, timeout),
        Command::Redo(args) => return crate::down::redo(args, path, migrations, migrator, timeout),
        _ => {}
    }
    // status, version, history and check never create or change a database.
    let conn = if path.exists() {
        migrate_core::open_for_reading(path)?
    } else {
        // A missing file is a database at version 0 with everything pending.
        Connection::open_in_memory().map_err(Error::from)?
    };
    match command {
        Command::Check => {
            // The record and the schema are read in one read transaction,
            // waiting for a writer for --busy-timeout.
            let snapshot = migrate_core::snapshot(&conn, timeout)?;
            let report = migrations.check(&snapshot)?;
            snapshot.commit().map_err(opening)?;
            output::check(path, migrations, &report);
            return Ok(if report.is_clean() { 0 } else { 3 });
        }
        Command::Status => {
            output::status(path, path.exists(), migrations, &migrator.status(&conn)?)
        }
        Command::Version => output::version(path, &migrator.status(&conn)?),
        Command::History => output::history(path, &migrator.history(&conn)?),
        _ => unreachable!("handled above"),
    }
    Ok(0)
}

fn apply(
    args: &ApplyArgs,
    path: &Path,
    migrations: &Migrations,
    migrator: &Migrator<'_>,
    timeout: Duration,
) -> Result<u8, Failure> {
    let migrator = migrator
        .clone()
        .target(args.to)
        .single_transaction(args.single_transaction)
        .one_by_one(args.one_by_one);
    let existed = path.exists();
    if args.dry_run {
        // A trial run creates nothing: a missing file is an empty database.
        let mut conn = if existed {
            Connection::open(path).map_err(opening)?
        } else {
            Connection::open_in_memory().map_err(Error::from)?
        };
        migrator.prepare(&conn)?;
        let trials = migrator.trial(&mut conn)?;
        let failed = output::trials(path, migrations, &trials);
        return Ok(if failed { 1 } else { 0 });
    }
    if !existed {
        // Refused for a missing function, a run creates no file: on a new
        // database everything is pending, as on an empty one in memory.
        let probe = Connection::open_in_memory().map_err(Error::from)?;
        migrator.prepare(&probe)?;
        migrator.check_functions(&probe)?;
    }
    let mut conn = Connection::open(path).map_err(opening)?;
    migrator.prepare(&conn)?;
    // A function the migrations need is missing: refuse before the backup.
    migrator.check_functions(&conn)?;
    if existed {
        // A new database holds no data to lose.
        confirm_losses(args, &migrator, &conn)?;
    }
    let migrator = if existed {
        with_backup(migrator, &args.backup, path, migrations, timeout)?
    } else {
        migrator
    };
    let report = migrator.apply_with(&mut conn, output::progress)?;
    output::applied(path, migrations, &report);
    Ok(0)
}

/// Shows the data the pending migrations declare they remove, and asks
/// about it on a terminal (unless `--yes`); off a terminal it goes ahead,
/// so scripts and CI keep working.
fn confirm_losses(
    args: &ApplyArgs,
    migrator: &Migrator<'_>,
    conn: &Connection,
) -> Result<(), Failure> {
    use std::io::IsTerminal;
    let losses = migrator.pending_losses(conn)?;
    if losses.is_empty() {
        return Ok(());
    }
    output::declared_losses(&losses);
    if args.yes || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    let pending = migrator
        .status(conn)?
        .pending
        .iter()
        .filter(|v| args.to.is_none_or(|to| **v <= to))
        .count();
    confirm(
        false,
        &format!(
            "Apply {pending} migration{}? They remove the data above.",
            if pending == 1 { "" } else { "s" }
        ),
    )
}

/// `migrator` with a backup of the database at `path` taken before its
/// first change (unless `--no-backup`), and older backups beyond the number
/// kept removed. The hook runs only in the process that holds the lock and
/// has work to do, so processes changing the database at once write one
/// backup between them.
pub(crate) fn with_backup<'a>(
    migrator: Migrator<'a>,
    args: &BackupArgs,
    path: &'a Path,
    migrations: &Migrations,
    timeout: Duration,
) -> Result<Migrator<'a>, Failure> {
    if args.no_backup {
        return Ok(migrator);
    }
    let dir = backup_dir(path, args.backup_dir.as_deref())?;
    let name = db_name(path);
    let keep = args
        .keep
        .or(migrations.keep_backups())
        .map_or(migrate_core::backup::DEFAULT_KEEP, |n| n as usize);
    Ok(migrator.before_changes(move |version| {
        // A database the migrations cannot write was refused before this
        // hook runs (Migrator::apply_with, Migrator::down_with): no copy.
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(timeout)?;
        let rotation =
            migrate_core::backup::backup_rotating(&reader, &dir, &name, version, keep, timeout)?;
        output::backed_up(path, &rotation);
        Ok(())
    }))
}

/// The name backups of the database at `path` are named after.
fn db_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "database".into(), |n| n.to_string_lossy().into_owned())
}

/// The directory a backup goes to: `--backup-dir`, which must exist, or
/// next to the database.
fn backup_dir(db: &Path, dir: Option<&Path>) -> Result<PathBuf, Failure> {
    match dir {
        Some(d) if !d.is_dir() => Err(Failure::Path(format!(
            "the backup directory {} does not exist",
            d.display()
        ))),
        Some(d) => Ok(d.to_path_buf()),
        None => Ok(db.parent().map(Path::to_path_buf).unwrap_or_default()),
    }
}

fn restore(
    migrations: &Migrations,
    file: &Path,
    (yes, force): (bool, bool),
    path: &Path,
    timeout: Duration,
) -> Result<u8, Failure> {
    if let (Ok(a), Ok(b)) = (file.canonicalize(), path.canonicalize())
        && a == b
    {
        return Err(Failure::Usage(format!(
            "{} is the database itself: restore takes a backup file; nothing was changed",
            file.display()
        )));
    }
    // Check the backup before asking anything.
    let refuse = |e| Failure::Backup(Box::new((file.to_path_buf(), e)));
    let backup = migrate_core::backup::open_backup(file, timeout).map_err(refuse)?;
    // Another application's database, or one whose record or schema was
    // changed, would replace this one and then pass for it.
    if !force && let Some(detail) = migrations.foreign_history(&backup).map_err(refuse)? {
        return Err(refuse(Error::ForeignBackup { detail }));
    }
    drop(backup);
    confirm(
        yes,
        &format!(
            "Replace {} with the backup {}?",
            path.display(),
            file.display()
        ),
    )?;
    let mut conn = Connection::open(path).map_err(opening)?;
    conn.busy_timeout(timeout).map_err(opening)?;
    // The database being replaced is kept too, copied under the same write
    // lock as the replacement: a restore is undoable, and no commit of
    // another process falls between the copy and the replacement.
    let dir = backup_dir(path, None)?;
    let name = db_name(path);
    let kept = migrate_core::backup::restore_keeping(&mut conn, file, timeout, |current| {
        migrate_core::backup::keep_before_restore(current, migrations, &dir, &name, timeout)
    })?;
    if let Some(dest) = kept {
        output::line(&format!(
            "Backed up the current {} to {}",
            path.display(),
            dest.display()
        ));
    }
    output::line(&format!(
        "Restored {} from {}",
        path.display(),
        file.display()
    ));
    Ok(0)
}

/// Asks on a terminal; without one, only `--yes` goes ahead.
pub(crate) fn confirm(yes: bool, question: &str) -> Result<(), Failure> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(format!(
            "{} Not on a terminal: pass --yes to confirm; nothing was changed",
            question.lines().last().unwrap_or(question)
        )));
    }
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{question} [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(())
    } else {
        Err(Failure::Usage(
            "not confirmed; nothing was changed".to_owned(),
        ))
    }
}

pub(crate) fn opening(e: migrate_core::rusqlite::Error) -> Error {
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
    // A device, a pipe or a socket: SQLite would write a journal (and a
    // backup) beside it before failing with an I/O error.
    if path.exists() && !path.is_file() {
        return Err(Failure::Path(
            "is not a regular file (a device, a pipe or a socket), not a database file; \
             nothing was changed"
                .to_owned(),
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
