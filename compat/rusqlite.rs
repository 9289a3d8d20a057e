// The plain rusqlite applications (rusqlite, rusqlite-system): the same code
// on the bundled and on the system SQLite, included by their main.rs, which
// set APP, DRIVER and SYSTEM_SQLITE.

// Relative to this file, where include! reads it.
#[path = "common.rs"]
mod common;
#[path = "rusqlite_rows.rs"]
mod rows;

use std::process::ExitCode;

use common::{Checks, Result, TempDb};
use rusqlite::Connection;

migrate_toml::embed_migrations!("../migrations.toml");

fn main() -> ExitCode {
    let mut checks = Checks::new(APP, DRIVER);
    let outcome = run(&mut checks);
    checks.finish(outcome)
}

fn run(checks: &mut Checks) -> Result<()> {
    checks.sqlite_from_system(SYSTEM_SQLITE);
    let db = TempDb::new(APP)?;

    checks.first_apply(&MIGRATIONS.apply_to_path(db.path())?);

    let conn = Connection::open(db.path())?;
    // The facade's rusqlite is the application's: one crate, one type.
    checks.eq(
        "current_version on the application's connection",
        MIGRATIONS.current_version(&conn)?,
        i64::from(MIGRATIONS.latest_version()),
    );
    conn.pragma_update(None, "foreign_keys", true)?;
    checks.orphan_rejected(rows::insert(&conn)?);
    checks.row(rows::row(&conn)?);
    let (count, max) = rows::migrations(&conn)?;
    checks.schema_migrations(count, max);
    drop(conn);

    checks.second_apply(&MIGRATIONS.apply_to_path(db.path())?);
    Ok(())
}
