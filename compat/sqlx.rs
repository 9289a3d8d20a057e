// The sqlx applications (sqlx-0.8, sqlx-0.9): the same code against each
// release, included by their main.rs, which set APP and DRIVER.

// Relative to this file, where include! reads it.
#[path = "common.rs"]
mod common;

use std::process::ExitCode;

use common::{Checks, Result, Row, TempDb};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

migrate_toml::embed_migrations!("../migrations.toml");

#[tokio::main]
async fn main() -> ExitCode {
    let mut checks = Checks::new(APP, DRIVER);
    let outcome = run(&mut checks).await;
    checks.finish(outcome)
}

async fn run(checks: &mut Checks) -> Result<()> {
    checks.sqlite_from_system(false);
    let db = TempDb::new(APP)?;

    // apply_to_path blocks: run it on a blocking task, then build the pool.
    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.first_apply(&report);
    // No create_if_missing: the file is the one apply_to_path made. Foreign
    // keys on is sqlx's default, said here for the check below.
    let options = SqliteConnectOptions::new()
        .filename(db.path())
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await?;

    let user_id = sqlx::query("INSERT INTO users (name, email, bio) VALUES (?1, ?2, ?3)")
        .bind(common::USER_NAME)
        .bind(common::USER_EMAIL)
        .bind(common::USER_BIO)
        .execute(&pool)
        .await?
        .last_insert_rowid();
    sqlx::query("INSERT INTO posts (user_id, title, body) VALUES (?1, ?2, ?3)")
        .bind(user_id)
        .bind(common::POST_TITLE)
        .bind(common::POST_BODY)
        .execute(&pool)
        .await?;
    let orphan = sqlx::query("INSERT INTO posts (user_id, title, body) VALUES (?1, 'orphan', '')")
        .bind(user_id + 1)
        .execute(&pool)
        .await;
    checks.orphan_rejected(orphan.err().map(|e| e.to_string()));

    let row: Row = sqlx::query_as(common::SELECT_ROW).fetch_one(&pool).await?;
    checks.row(row);
    let (count, max): (i64, Option<i64>) = sqlx::query_as(common::SELECT_MIGRATIONS)
        .fetch_one(&pool)
        .await?;
    checks.schema_migrations(count, max);
    pool.close().await;

    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.second_apply(&report);
    Ok(())
}
