//! `migrate down` and `migrate redo`: rolling a database back with the
//! downs of its migrations. A down removes data by design, so both show
//! what they will run and ask first (or take `--yes`), and back up first.

use std::path::Path;
use std::time::Duration;

use migrate_core::rusqlite::Connection;
use migrate_core::{DownPlan, DownSource, Error, Migrations, Migrator};

use crate::cli::{BackupArgs, Failure, confirm, opening, with_backup};
use crate::output;

#[derive(Debug, clap::Args, Clone, PartialEq, Eq, Default)]
pub(crate) struct DownArgs {
    /// Roll back every version above this one (0: all of them) [default: the version before the latest]
    #[arg(long, value_name = "VERSION")]
    to: Option<u32>,
    /// Run the downs on the real data inside a transaction that is rolled back, and report what would fail; changes nothing
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    backup: BackupArgs,
}

#[derive(Debug, clap::Args, Clone, PartialEq, Eq, Default)]
pub(crate) struct RedoArgs {
    /// Do not ask for confirmation
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    backup: BackupArgs,
}

impl DownArgs {
    /// `--dry-run`: nothing is changed.
    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    pub(crate) fn backup(&self) -> &BackupArgs {
        &self.backup
    }

    /// These arguments for each database of a fleet, asked once for all of
    /// them (see `Command::for_fleet`).
    pub(crate) fn confirmed_for_fleet(&self) -> Result<Self, Failure> {
        if !self.dry_run {
            let to = self.to.map_or_else(
                || "the version before its latest".to_owned(),
                |v| format!("version {v}"),
            );
            confirm(
                self.yes,
                &format!(
                    "Roll back every database of the fleet to {to}? The downs remove the data \
                     these versions hold."
                ),
            )?;
        }
        Ok(DownArgs {
            yes: true,
            ..self.clone()
        })
    }
}

impl RedoArgs {
    pub(crate) fn backup(&self) -> &BackupArgs {
        &self.backup
    }

    /// These arguments for each database of a fleet, asked once for all of
    /// them (see `Command::for_fleet`).
    pub(crate) fn confirmed_for_fleet(&self) -> Result<Self, Failure> {
        confirm(
            self.yes,
            "Roll back the latest version of every database of the fleet and apply it again? \
             Its down removes the data it holds.",
        )?;
        Ok(RedoArgs {
            yes: true,
            ..self.clone()
        })
    }
}

/// `migrate down [--to N]`.
pub(crate) fn down(
    args: &DownArgs,
    path: &Path,
    migrations: &Migrations,
    migrator: &Migrator<'_>,
    timeout: Duration,
) -> Result<u8, Failure> {
    // Default: the version before the latest.
    let target = |version: i64| args.to.unwrap_or(u32::try_from(version - 1).unwrap_or(0));
    let Some((mut conn, plan)) = plan(path, migrator, target)? else {
        return Ok(0);
    };
    let to = plan.to;
    if args.dry_run {
        let trials = migrator.trial_down(&mut conn, to)?;
        let failed = output::down_trials(path, &plan, &trials);
        return Ok(if failed { 1 } else { 0 });
    }
    output::down_plan(path, &plan);
    confirm(
        args.yes,
        &format!(
            "Roll back {} to version {to}? The downs remove the data these versions hold.",
            path.display()
        ),
    )?;
    let migrator = with_backup(migrator.clone(), &args.backup, path, migrations, timeout)?;
    let report = migrator.down_with(&mut conn, to, output::rolling_back)?;
    output::rolled_back(path, &plan, &report);
    Ok(0)
}

/// `migrate redo`: down then up of the latest version.
pub(crate) fn redo(
    args: &RedoArgs,
    path: &Path,
    migrations: &Migrations,
    migrator: &Migrator<'_>,
    timeout: Duration,
) -> Result<u8, Failure> {
    let Some((mut conn, plan)) = plan(path, migrator, |v| u32::try_from(v - 1).unwrap_or(0))?
    else {
        return Ok(0);
    };
    let latest = plan.to + 1;
    if plan.steps.iter().any(|s| s.source == DownSource::Database) {
        // Ahead of this build: it could roll back, but not apply again.
        return Err(migrator
            .status(&conn)
            .map(|s| Error::Inconsistent {
                problems: s.problems,
            })?
            .into());
    }
    output::down_plan(path, &plan);
    confirm(
        args.yes,
        &format!(
            "Roll back version {latest} of {} and apply it again? Its down removes the data it \
             holds.",
            path.display()
        ),
    )?;
    let (down, up) = with_backup(migrator.clone(), &args.backup, path, migrations, timeout)?
        .redo_with(&mut conn, output::rolling_back, output::progress)?;
    output::redone(path, &down, &up);
    Ok(0)
}

/// The database at `path`, prepared for the migrator (extensions and
/// functions), and what rolling it back to `to(its version)` would run;
/// `None`, said, when there is nothing to roll back: no file (a mistyped
/// path is not created), or nothing above the target. A refusal (no down,
/// a stored down changed) comes before anything is asked or run.
fn plan(
    path: &Path,
    migrator: &Migrator<'_>,
    to: impl FnOnce(i64) -> u32,
) -> Result<Option<(Connection, DownPlan)>, Failure> {
    if !path.exists() {
        output::nothing_to_roll_back(path, 0);
        return Ok(None);
    }
    let conn = Connection::open(path).map_err(opening)?;
    migrator.prepare(&conn)?;
    let version = migrator.current_version(&conn)?;
    let plan = migrator.down_plan(&conn, to(version))?;
    if plan.steps.is_empty() {
        output::nothing_to_roll_back(path, plan.from);
        return Ok(None);
    }
    Ok(Some((conn, plan)))
}
