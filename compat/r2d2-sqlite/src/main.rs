//! migrate-toml beside r2d2_sqlite: the migrations applied with
//! `apply_to_path` before the pool is built, the tables then used through
//! the pool's connections.

#[path = "../../common.rs"]
mod common;
#[path = "../../rusqlite_rows.rs"]
mod rows;

use std::process::ExitCode;

use common::{Checks, Result, TempDb};
use r2d2_sqlite::SqliteConnectionManager;

migrate_toml::embed_migrations!("../migrations.toml");

fn main() -> ExitCode {
    let mut checks = Checks::new("r2d2-sqlite", "r2d2_sqlite");
    let outcome = run(&mut checks);
    checks.finish(outcome)
}

fn run(checks: &mut Checks) -> Result<()> {
    checks.sqlite_from_system(false);
    let db = TempDb::new("r2d2-sqlite")?;

    // Migrate first, then build the pool: its connections see the schema.
    checks.first_apply(&MIGRATIONS.apply_to_path(db.path())?);
    let manager = SqliteConnectionManager::file(db.path())
        .with_init(|c| c.pragma_update(None, "foreign_keys", true));
    let pool = r2d2::Pool::builder().max_size(2).build(manager)?;

    let conn = pool.get()?;
    // The pool's rusqlite is the facade's: one crate, one type.
    checks.eq(
        "current_version on a pooled connection",
        MIGRATIONS.current_version(&conn)?,
        i64::from(MIGRATIONS.latest_version()),
    );
    checks.orphan_rejected(rows::insert(&conn)?);
    drop(conn);

    // Read back on another pooled connection.
    let other = pool.get()?;
    checks.row(rows::row(&other)?);
    let (count, max) = rows::migrations(&other)?;
    checks.schema_migrations(count, max);
    drop(other);

    checks.second_apply(&MIGRATIONS.apply_to_path(db.path())?);
    Ok(())
}
