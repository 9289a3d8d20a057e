//! `--databases PATTERN` and `--databases-from FILE`: one command over a
//! fleet of databases (a database per tenant), on `migrate_core::fleet`.
//!
//! Each database runs exactly the command it would run alone
//! (`cli::execute`), with its output kept instead of printed
//! (`output::captured`): same lock, same backup, same history, same exit
//! code. What this module adds is the choice of files ([`select`]), the
//! policy (`-j`, `--keep-going`, `--canary`), and the report of the whole
//! run ([`report`]): a progress bar, a summary, or one JSON document.

mod report;
mod select;

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use migrate_core::fleet::Fleet;
use migrate_core::{Migrations, Migrator};

use crate::cli::{Command, Failure, execute};
use crate::output;

use report::{Done, Report};

/// The global options that select a fleet, and its policy.
#[derive(Debug, clap::Args, Clone, PartialEq, Eq, Default)]
pub(crate) struct FleetArgs {
    /// Run the command on every file this glob matches (quote it: 'tenants/*.db'); repeat for several
    #[arg(long = "databases", global = true, value_name = "PATTERN")]
    patterns: Vec<String>,

    /// Run the command on every database listed in FILE, one path per line ('-': standard input)
    #[arg(long = "databases-from", global = true, value_name = "FILE")]
    from: Option<PathBuf>,

    /// With --databases: how many databases at once [default: the number of cores]
    #[arg(short = 'j', long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,

    /// With --databases: go on after a database fails (by default no new one starts)
    #[arg(long, global = true)]
    keep_going: bool,

    /// With --databases: run the command on the first K databases, and on the others only if all K succeeded
    #[arg(long, global = true, value_name = "K",
          value_parser = clap::value_parser!(u32).range(1..))]
    canary: Option<u32>,
}

impl FleetArgs {
    /// Whether a fleet was given.
    pub(crate) fn selected(&self) -> bool {
        !self.patterns.is_empty() || self.from.is_some()
    }

    /// Refuses what cannot go together, before anything runs: a fleet with
    /// `--database` on the command line (MIGRATE_DATABASE is ignored), or
    /// with a command that does not run on databases, and a policy option
    /// without a fleet.
    pub(crate) fn fits(&self, command: &Command, database_given: bool) -> Result<(), String> {
        if self.selected() {
            if database_given {
                return Err(
                    "--database names one database and --databases or --databases-from \
                     a fleet: give one or the other"
                        .to_owned(),
                );
            }
            if command.fleet_kind().is_none() {
                return Err(
                    "--databases and --databases-from work with status, version, \
                     history, check, apply, down and redo"
                        .to_owned(),
                );
            }
            return Ok(());
        }
        let given = [
            (self.jobs.is_some(), "--jobs"),
            (self.keep_going, "--keep-going"),
            (self.canary.is_some(), "--canary"),
        ];
        match given.iter().find(|(set, _)| *set) {
            Some((_, flag)) => Err(format!(
                "{flag} needs a fleet: add --databases PATTERN or --databases-from FILE"
            )),
            None => Ok(()),
        }
    }
}

/// Runs `command` over the fleet; the exit code of the whole run (see
/// [`report::worst`]).
pub(crate) fn run(
    args: &FleetArgs,
    command: &Command,
    migrations: &Migrations,
    migrator: &Migrator<'_>,
    timeout: Duration,
) -> u8 {
    // `fits` refused the others.
    let (name, changes) = command.fleet_kind().unwrap_or(("status", false));
    let prepared = select::paths(&args.patterns, args.from.as_deref())
        .and_then(|paths| Ok((paths, command.for_fleet(migrations)?)));
    let ((paths, problems), command) = match prepared {
        Ok(p) => p,
        Err(failure) => {
            failure.print();
            return failure.exit_code();
        }
    };
    let mut fleet = Fleet::new();
    if let Some(jobs) = args.jobs {
        fleet = fleet.jobs(jobs as usize);
    }
    // Commands that change nothing go through the whole fleet: stopping
    // protects no database, and the point is to see every one of them.
    let fleet = if changes {
        fleet
            .keep_going(args.keep_going)
            .canary(args.canary.map_or(0, |k| k as usize))
    } else {
        fleet.keep_going(true)
    };
    let names = Names::new(command.shared_backup_dir());
    let mut report = Report::start(name);
    let summary = fleet.run(
        paths,
        |path| {
            let (result, doc, backup) = output::captured(|| {
                names.claim(path)?;
                execute(&command, path, migrations, migrator, timeout)
            });
            let done = Done::new(result.map_err(|f| f.waited(timeout)), doc, backup);
            if done.code == 0 { Ok(done) } else { Err(done) }
        },
        |outcome| report.add(outcome),
    );
    report.finish(&summary, problems.take())
}

/// With `--backup-dir`, the backups of every database go to one directory,
/// named after each database's file: two databases with the same file name
/// would rotate each other's backups away. The second is refused (and left
/// as it was). The names are kept only in that case, one per database.
struct Names {
    dir: Option<PathBuf>,
    seen: Mutex<HashSet<OsString>>,
}

impl Names {
    fn new(dir: Option<&Path>) -> Names {
        Names {
            dir: dir.map(Path::to_path_buf),
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn claim(&self, path: &Path) -> Result<(), Failure> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let name = path.file_name().unwrap_or_default().to_os_string();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.insert(name) {
            return Ok(());
        }
        Err(Failure::Usage(format!(
            "another database of the fleet has the file name {}, and both would back up into {}: \
             give them distinct names or leave out --backup-dir; nothing was changed",
            path.file_name().unwrap_or_default().to_string_lossy(),
            dir.display()
        )))
    }
}
