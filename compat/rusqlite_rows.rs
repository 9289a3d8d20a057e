//! What the four applications whose driver hands out rusqlite connections
//! (rusqlite, r2d2-sqlite, deadpool-sqlite, tokio-rusqlite) do on one: the
//! same rows written and read as the other drivers do in their own API.
//! The driver's rusqlite is the facade's: one crate, one `Connection` type.

use migrate_toml::rusqlite::{Connection, params};

use crate::common::{self, Row};

/// Inserts the user and the post, then tries a post whose author does not
/// exist; SQLite's error for that one, if it refused it.
pub fn insert(c: &Connection) -> migrate_toml::rusqlite::Result<Option<String>> {
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
    Ok(orphan.err().map(|e| e.to_string()))
}

/// The post joined to its author.
pub fn row(c: &Connection) -> migrate_toml::rusqlite::Result<Row> {
    c.query_row(common::SELECT_ROW, [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
}

/// `(count(*), max(version))` of `schema_migrations`.
pub fn migrations(c: &Connection) -> migrate_toml::rusqlite::Result<(i64, Option<i64>)> {
    c.query_row(common::SELECT_MIGRATIONS, [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}
