//! migrate-toml beside SeaORM (sqlx-sqlite): the migrations applied with
//! `apply_to_path` on a blocking task before the database is connected, the
//! tables then used through SeaORM entities.

#[path = "../../common.rs"]
mod common;

use std::process::ExitCode;

use common::{Checks, Result, Row, TempDb};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DbBackend, EntityTrait, Set,
    Statement,
};

migrate_toml::embed_migrations!("../migrations.toml");

const APP: &str = "sea-orm";

/// The `users` table as migrations 1 and 4 left it (`created_at` unmapped).
mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        #[sea_orm(unique)]
        pub email: String,
        pub bio: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::posts::Entity")]
        Posts,
    }

    impl Related<super::posts::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Posts.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `posts` table of migration 2 (`created_at` unmapped).
mod posts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub title: String,
        pub body: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::users::Entity",
            from = "Column::UserId",
            to = "super::users::Column::Id"
        )]
        User,
    }

    impl Related<super::users::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut checks = Checks::new(APP, "sea-orm 2 (sqlx-sqlite)");
    let outcome = run(&mut checks).await;
    checks.finish(outcome)
}

async fn run(checks: &mut Checks) -> Result<()> {
    checks.sqlite_from_system(false);
    let db = TempDb::new(APP)?;

    // apply_to_path blocks: run it on a blocking task, then connect.
    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.first_apply(&report);
    // mode=rw: the file must exist, the one apply_to_path made.
    let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rw", db.path().display()));
    options.max_connections(2);
    let conn = Database::connect(options).await?;

    let user = users::ActiveModel {
        name: Set(common::USER_NAME.to_owned()),
        email: Set(common::USER_EMAIL.to_owned()),
        bio: Set(Some(common::USER_BIO.to_owned())),
        ..Default::default()
    }
    .insert(&conn)
    .await?;
    posts::ActiveModel {
        user_id: Set(user.id),
        title: Set(common::POST_TITLE.to_owned()),
        body: Set(common::POST_BODY.to_owned()),
        ..Default::default()
    }
    .insert(&conn)
    .await?;
    let orphan = posts::ActiveModel {
        user_id: Set(user.id + 1),
        title: Set("orphan".to_owned()),
        body: Set(String::new()),
        ..Default::default()
    }
    .insert(&conn)
    .await;
    checks.orphan_rejected(orphan.err().map(|e| e.to_string()));

    let found = posts::Entity::find()
        .find_also_related(users::Entity)
        .all(&conn)
        .await?;
    let rows: Vec<Row> = found
        .into_iter()
        .filter_map(|(post, author)| {
            author.map(|u| (u.name, u.email, u.bio, post.title, post.body))
        })
        .collect();
    checks.eq(
        "posts with their author (read by the driver)",
        rows.len(),
        1,
    );
    if let Some(row) = rows.into_iter().next() {
        checks.row(row);
    }

    let migrations = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            common::SELECT_MIGRATIONS,
        ))
        .await?
        .ok_or("schema_migrations: no row")?;
    checks.schema_migrations(
        migrations.try_get_by_index(0)?,
        migrations.try_get_by_index(1)?,
    );
    conn.close().await?;

    let path = db.path().to_owned();
    let report = tokio::task::spawn_blocking(move || MIGRATIONS.apply_to_path(path)).await??;
    checks.second_apply(&report);
    Ok(())
}
