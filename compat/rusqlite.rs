// The plain rusqlite applications (rusqlite, rusqlite-system): the same code
// on the bundled and on the system SQLite, included by their main.rs, which
// set APP, DRIVER and SYSTEM_SQLITE.

// Relative to this file, where include! reads it.
#[path = "common.rs"]
mod common;

use std::process::ExitCode;

use common::{Checks, Result, TempDb};
use rusqlite::{Connection, params};

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
    conn.execute(
        "INSERT INTO users (name, email, bio) VALUES (?1, ?2, ?3)",
        params![common::USER_NAME, common::USER_EMAIL, common::USER_BIO],
    )?;
    let user_id = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO posts (user_id, title, body) VALUES (?1, ?2, ?3)",
        params![user_id, common::POST_TITLE, common::POST_BODY],
    )?;
    let orphan = conn.execute(
        "INSERT INTO posts (user_id, title, body) VALUES (?1, 'orphan', '')",
        params![user_id + 1],
    );
    checks.orphan_rejected(orphan.err().map(|e| e.to_string()));
    let row = conn.query_row(common::SELECT_ROW, [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    checks.row(row);
    let (count, max) = conn.query_row(common::SELECT_MIGRATIONS, [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    checks.schema_migrations(count, max);
    drop(conn);

    checks.second_apply(&MIGRATIONS.apply_to_path(db.path())?);
    Ok(())
}
