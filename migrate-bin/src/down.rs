//! `migrate down` and `migrate redo`: rolling a database back with the
//! downs of its migrations. A down removes data by design, so both show
//! what they will run and ask first (or take `--yes`), and back up first.

use std::path::Path;
use std::time::Duration;

use migrate_core::rusqlite::Connection;
use migrate_core::{Migrations, Migrator};

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

/// `migrate down [--to N]`.
pub(crate) fn down(
    args: &DownArgs,
    path: &Path,
    migrations: &Migrations,
    migrator: &Migrator<'_>,
    timeout: Duration,
) -> Result<u8, Failure> {
    let Some(mut conn) = open_existing(path, migrator)? else {
        output::nothing_to_roll_back(path, 0);
        return Ok(0);
    };
    let version = migrator.current_version(&conn)?;
    let to = match args.to {
        Some(to) => to,
        None => u32::try_from(version - 1).unwrap_or(0),
    };
    let plan = migrator.down_plan(&conn, to)?;
    if plan.steps.is_empty() {
        output::nothing_to_roll_back(path, plan.from);
        return Ok(0);
    }
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
    let Some(mut conn) = open_existing(path, migrator)? else {
        output::nothing_to_roll_back(path, 0);
        return Ok(0);
    };
    let latest = u32::try_from(migrator.current_version(&conn)?).unwrap_or(0);
    if latest == 0 {
        output::nothing_to_roll_back(path, 0);
        return Ok(0);
    }
    let plan = migrator.down_plan(&conn, latest - 1)?;
    output::down_plan(path, &plan);
    confirm(
        args.yes,
        &format!(
            "Roll back version {latest} of {} and apply it again? Its down removes the data it \
             holds.",
            path.display()
        ),
    )?;
    let migrator = with_backup(migrator.clone(), &args.backup, path, migrations, timeout)?;
    let (down, up) = with_backup(migrator.clone(), &args.backup, path, migrations, timeout)?
        .redo_with(&mut conn, output::rolling_back, output::progress)?;
    output::redone(path, &down, &up);
    Ok(0)
}

/// The database at `path`, prepared for the migrator (extensions and
/// functions); `None` when there is no file: a mistyped path is not
/// created, and nothing is recorded there to roll back.
fn open_existing(path: &Path, migrator: &Migrator<'_>) -> Result<Option<Connection>, Failure> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open(path).map_err(opening)?;
    migrator.prepare(&conn)?;
    Ok(Some(conn))
}
