//! A chat application in miniature: at start-up it opens its database and
//! applies the pending migrations, as the original tool's `init_db()` did,
//! then records a conversation and a support ticket in the tables those
//! migrations made.
//!
//! `cargo run -p chatbot -- [DATABASE] [USER] [MESSAGE]`

use std::process::ExitCode;

use migrate_toml::rusqlite::{Connection, params};

// The repository's migration history, validated and proved at build time.
migrate_toml::embed_migrations!("../../migrations.toml");

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "chatbot.db".to_owned());
    let user = args.next().unwrap_or_else(|| "guest".to_owned());
    let text = args.next().unwrap_or_else(|| "Hello!".to_owned());
    match run(&path, &user, &text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatbot: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str, user: &str, text: &str) -> Result<(), migrate_toml::Error> {
    // init_db(): create the file if needed and bring the schema up to date.
    let conn = MIGRATIONS.open(path)?;
    println!(
        "database {path} at version {}",
        MIGRATIONS.current_version(&conn)?
    );

    let (messages, open) = record(&conn, user, text)?;
    println!("{user} has sent {messages} message(s) and has {open} open ticket(s)");
    Ok(())
}

/// Records a message of `user` (and a ticket for a question); returns how
/// many messages the user has sent and how many tickets are open.
fn record(conn: &Connection, user: &str, text: &str) -> Result<(i64, i64), migrate_toml::Error> {
    conn.execute(
        "INSERT INTO users (id, gender, age_range) VALUES (?1, 'other', 30) \
         ON CONFLICT (id) DO NOTHING",
        params![user],
    )?;
    conn.execute(
        "INSERT INTO messages (_from, content) VALUES (?1, ?2)",
        params![user, text],
    )?;
    if text.contains('?') {
        conn.execute(
            "INSERT INTO tickets (user, subject) VALUES (?1, ?2)",
            params![user, text],
        )?;
    }
    let (messages, open): (i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM messages WHERE _from = ?1), \
                (SELECT count(*) FROM tickets WHERE user = ?1 AND status = 'open')",
        params![user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((messages, open))
}

/// Each test gets a database of its own at the latest version from
/// `MIGRATIONS.in_memory()`: the first call in the process builds it once
/// (from what the build proved, in one transaction), every call copies it,
/// in microseconds, so tests neither share rows nor pay the history.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_opens_a_ticket() {
        let conn = MIGRATIONS.in_memory().unwrap();
        assert_eq!(record(&conn, "ann", "Where is my order?").unwrap(), (1, 1));
        assert_eq!(record(&conn, "ann", "Thanks").unwrap(), (2, 1));
    }

    #[test]
    fn each_test_starts_from_an_empty_migrated_database() {
        let conn = MIGRATIONS.in_memory().unwrap();
        assert_eq!(
            MIGRATIONS.current_version(&conn).unwrap(),
            i64::from(MIGRATIONS.latest_version())
        );
        let users: i64 = conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(users, 0);
        assert_eq!(record(&conn, "bob", "Hello!").unwrap(), (1, 0));
    }

    #[test]
    fn a_file_database_for_tests_that_need_a_path() {
        let db = MIGRATIONS.temp_file().unwrap();
        assert_eq!(record(&db, "cy", "Is it open?").unwrap(), (1, 1));
        // Another connection to the same file, as a second process would.
        let other = Connection::open(db.path()).unwrap();
        let tickets: i64 = other
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tickets, 1);
    }
}
