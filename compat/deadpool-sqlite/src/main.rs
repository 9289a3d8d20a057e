//! migrate-toml beside deadpool-sqlite: the migrations applied with
//! `apply_to_path` on a blocking task before the pool is built, the tables
//! then used through the pool's connections (`interact`).

#[path = "../../common.rs"]
mod common;
#[path = "../../rusqlite_rows.rs"]
mod rows;

use std::process::ExitCode;

use common::{BoxError, Checks, Result, Row, TempDb};
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
            Ok((version, rows::insert(c)?))
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
            Ok((rows::row(c)?, rows::migrations(c)?))
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
