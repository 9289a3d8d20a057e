//! A chat application in miniature: at start-up it opens its database and
//! applies the pending migrations, as the original tool's `init_db()` did,
//! then records a conversation and a support ticket in the tables those
//! migrations made.
//!
//! `cargo run -p chatbot -- [DATABASE] [USER] [MESSAGE]`

use std::process::ExitCode;

use migrate_toml::rusqlite::params;

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
    println!("{user} has sent {messages} message(s) and has {open} open ticket(s)");
    Ok(())
}
