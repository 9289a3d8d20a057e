// The diesel applications (diesel-2.2, diesel-2.3): the same code against
// each release, included by their main.rs, which set APP and DRIVER.

// Relative to this file, where include! reads it.
#[path = "common.rs"]
mod common;

use std::process::ExitCode;

use common::{Checks, Result, Row, TempDb};
use diesel::connection::SimpleConnection;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};

use schema::{posts, schema_migrations, users};

migrate_toml::embed_migrations!("../migrations.toml");

/// What `diesel print-schema` gives for the migrated database, less the
/// columns this program does not use.
mod schema {
    diesel::table! {
        users (id) {
            id -> Integer,
            name -> Text,
            email -> Text,
            bio -> Nullable<Text>,
        }
    }

    diesel::table! {
        posts (id) {
            id -> Integer,
            user_id -> Integer,
            title -> Text,
            body -> Text,
        }
    }

    diesel::table! {
        schema_migrations (version) {
            version -> Integer,
        }
    }

    diesel::joinable!(posts -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(users, posts);
}

/// Turns foreign keys on for every pooled connection (SQLite's default is
/// off, and diesel leaves it so).
#[derive(Debug)]
struct ForeignKeys;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for ForeignKeys {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("PRAGMA foreign_keys = ON")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

fn main() -> ExitCode {
    let mut checks = Checks::new(APP, DRIVER);
    let outcome = run(&mut checks);
    checks.finish(outcome)
}

fn run(checks: &mut Checks) -> Result<()> {
    checks.sqlite_from_system(false);
    let db = TempDb::new(APP)?;

    // Migrate first, then build the pool: its connections see the schema.
    checks.first_apply(&MIGRATIONS.apply_to_path(db.path())?);
    let url = db.path().to_str().ok_or("database path is not UTF-8")?;
    let pool = Pool::builder()
        .max_size(2)
        .connection_customizer(Box::new(ForeignKeys))
        .build(ConnectionManager::<SqliteConnection>::new(url))?;

    let mut conn = pool.get()?;
    diesel::insert_into(users::table)
        .values((
            users::name.eq(common::USER_NAME),
            users::email.eq(common::USER_EMAIL),
            users::bio.eq(Some(common::USER_BIO)),
        ))
        .execute(&mut conn)?;
    let user_id: i32 = users::table
        .filter(users::email.eq(common::USER_EMAIL))
        .select(users::id)
        .first(&mut conn)?;
    diesel::insert_into(posts::table)
        .values((
            posts::user_id.eq(user_id),
            posts::title.eq(common::POST_TITLE),
            posts::body.eq(common::POST_BODY),
        ))
        .execute(&mut conn)?;
    let orphan = diesel::insert_into(posts::table)
        .values((
            posts::user_id.eq(user_id + 1),
            posts::title.eq("orphan"),
            posts::body.eq(""),
        ))
        .execute(&mut conn);
    checks.orphan_rejected(orphan.err().map(|e| e.to_string()));
    drop(conn);

    // Read back on another pooled connection.
    let mut other = pool.get()?;
    let rows: Vec<Row> = posts::table
        .inner_join(users::table)
        .select((
            users::name,
            users::email,
            users::bio,
            posts::title,
            posts::body,
        ))
        .load(&mut other)?;
    checks.eq(
        "posts with their author (read by the driver)",
        rows.len(),
        1,
    );
    if let Some(row) = rows.into_iter().next() {
        checks.row(row);
    }
    let (count, highest): (i64, Option<i32>) = schema_migrations::table
        .select((count_star(), diesel::dsl::max(schema_migrations::version)))
        .first(&mut other)?;
    checks.schema_migrations(count, highest.map(i64::from));
    drop(other);
    drop(pool);

    checks.second_apply(&MIGRATIONS.apply_to_path(db.path())?);
    Ok(())
}
