//! `migrate new`: appends a migration to migrations.toml. (Stub.)

use std::path::PathBuf;

use migrate_core::Migrations;

/// Arguments of `migrate new`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct NewArgs {
    /// What the migration does
    pub description: String,
    /// Put the SQL in a new file sql/NNNN_slug.sql and reference it with sql_file
    #[arg(long)]
    pub sql_file: bool,
    /// The migrations.toml to edit [default: the one this program was built from, else ./migrations.toml]
    #[arg(long, value_name = "PATH", env = "MIGRATE_MANIFEST")]
    pub manifest: Option<PathBuf>,
}

/// Runs `migrate new`; the exit code.
pub fn run(args: &NewArgs, migrations: &Migrations) -> u8 {
    let _ = (args, migrations);
    crate::output::error(None, "migrate new is not implemented yet");
    1
}
