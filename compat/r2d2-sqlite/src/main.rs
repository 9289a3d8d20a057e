//! migrate-toml beside r2d2_sqlite: the migrations applied with
//! `apply_to_path` before the pool is built, the tables then used through
//! the pool's connections.

#[path = "../../common.rs"]
mod common;

use std::process::ExitCode;

use common::{Checks, Result, TempDb};
use r2d2_sqlite::SqliteConnectionManager;
use r2d2_sqlite::rusqlite::params;

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
    drop(conn);

    // Read back on another pooled connection.
    let other = pool.get()?;
    let row = other.query_row(common::SELECT_ROW, [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    checks.row(row);
    let (count, max) = other.query_row(common::SELECT_MIGRATIONS, [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    checks.schema_migrations(count, max);
    drop(other);

    checks.second_apply(&MIGRATIONS.apply_to_path(db.path())?);
    Ok(())
}
