//! migrate-toml beside deadpool-sqlite: the migrations applied with
//! `apply_to_path` on a blocking task before the pool is built, the tables
//! then used through the pool's connections (`interact`).

#[path = "../../common.rs"]
mod common;

use std::process::ExitCode;

use common::{BoxError, Checks, Result, Row, TempDb};
use deadpool_sqlite::rusqlite::params;
use deadpool_sqlite::{Config, Runtime};

migrate_toml::embed_migrations!("../migrations.toml");

#[tokio::main]
async fn main() -> ExitCode {
    let mut checks = Checks::new("deadpool-sqlite", "deadpool-sqlite");
    let outcome = run(&mut checks).await;
    checks.finish(outcome)
}

async fn run(checks: &mut Checks) -> Result<()> {
    checks.sqlite_from_system(false);
    let db = TempDb::new("deadpool-sqlite")?;

    // apply_to_path blocks: run it on a blocking task, then build the pool.
    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.first_apply(&report);
    let pool = Config::new(db.path()).create_pool(Runtime::Tokio1)?;

    let conn = pool.get().await?;
    let (version, orphan_error) = conn
        .interact(|c| -> Result<(i64, Option<String>)> {
            // The pool's rusqlite is the facade's: one crate, one type.
            let version = MIGRATIONS.current_version(c)?;
            c.pragma_update(None, "foreign_keys", true)?;
            c.execute(
                "INSERT INTO users (name, email, bio) VALUES (?1, ?2, ?3)",
                params![common::USER_NAME, common::USER_EMAIL, common::USER_BIO],
            )?;
            let user_id = c.last_insert_rowid();
            c.execute(
                "INSERT INTO posts (user_id, title, body) VALUES (?1, ?2, ?3)",
                params![user_id, common::POST_TITLE, common::POST_BODY],
            )?;
            let orphan = c.execute(
                "INSERT INTO posts (user_id, title, body) VALUES (?1, 'orphan', '')",
                params![user_id + 1],
            );
            Ok((version, orphan.err().map(|e| e.to_string())))
        })
        .await
        .map_err(|e| format!("interact: {e}"))??;
    checks.eq(
        "current_version on a pooled connection",
        version,
        i64::from(MIGRATIONS.latest_version()),
    );
    checks.orphan_rejected(orphan_error);

    let (row, (count, max)) = conn
        .interact(|c| -> Result<(Row, (i64, Option<i64>)), BoxError> {
            let row = c.query_row(common::SELECT_ROW, [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            let migrations = c.query_row(common::SELECT_MIGRATIONS, [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            Ok((row, migrations))
        })
        .await
        .map_err(|e| format!("interact: {e}"))??;
    checks.row(row);
    checks.schema_migrations(count, max);
    drop(conn);
    pool.close();

    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.second_apply(&report);
    Ok(())
}
