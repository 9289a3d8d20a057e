//! migrate-toml beside tokio-rusqlite: the migrations applied with
//! `apply_to_path` on a blocking task before the connection is opened, the
//! tables then used through tokio-rusqlite's `call`.

#[path = "../../common.rs"]
mod common;
#[path = "../../rusqlite_rows.rs"]
mod rows;

use std::process::ExitCode;

use common::{BoxError, Checks, Result, Row, TempDb};
use tokio_rusqlite::Connection;

migrate_toml::embed_migrations!("../migrations.toml");

#[tokio::main]
async fn main() -> ExitCode {
    let mut checks = Checks::new("tokio-rusqlite", "tokio-rusqlite");
    let outcome = run(&mut checks).await;
    checks.finish(outcome)
}

/// The error of a `call` whose closure returns a boxed error, unwrapped.
fn call_error(e: tokio_rusqlite::Error<BoxError>) -> BoxError {
    match e {
        tokio_rusqlite::Error::Error(e) => e,
        other => format!("tokio-rusqlite: {other}").into(),
    }
}

async fn run(checks: &mut Checks) -> Result<()> {
    checks.sqlite_from_system(false);
    let db = TempDb::new("tokio-rusqlite")?;

    // apply_to_path blocks: run it on a blocking task, then open.
    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.first_apply(&report);
    let conn = Connection::open(db.path()).await?;

    let (version, orphan_error) = conn
        .call(|c| -> Result<(i64, Option<String>)> {
            // tokio-rusqlite's rusqlite is the facade's: one crate, one type.
            let version = MIGRATIONS.current_version(c)?;
            c.pragma_update(None, "foreign_keys", true)?;
            Ok((version, rows::insert(c)?))
        })
        .await
        .map_err(call_error)?;
    checks.eq(
        "current_version on tokio-rusqlite's connection",
        version,
        i64::from(MIGRATIONS.latest_version()),
    );
    checks.orphan_rejected(orphan_error);

    let (row, (count, max)) = conn
        .call(|c| -> Result<(Row, (i64, Option<i64>)), BoxError> {
            Ok((rows::row(c)?, rows::migrations(c)?))
        })
        .await
        .map_err(call_error)?;
    checks.row(row);
    checks.schema_migrations(count, max);
    conn.close().await?;

    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.second_apply(&report);
    Ok(())
}
