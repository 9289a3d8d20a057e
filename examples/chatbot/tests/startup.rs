//! The application migrates its database at start-up and uses it.

use std::process::Command;

fn chatbot(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chatbot"))
        .arg(db)
        .args(args)
        .output()
        .expect("run chatbot")
}

#[test]
fn first_start_creates_and_migrates_the_database_then_uses_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("chatbot.db");

    let first = chatbot(&db, &["ann", "Where is my order?"]);
    assert!(first.status.success(), "{first:?}");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("at version 15"), "{stdout}");
    assert!(
        stdout.contains("ann has sent 1 message(s) and has 1 open ticket(s)"),
        "{stdout}"
    );

    // The next start finds nothing pending and keeps the data.
    let second = chatbot(&db, &["ann", "Thanks"]);
    assert!(second.status.success(), "{second:?}");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.contains("ann has sent 2 message(s) and has 1 open ticket(s)"),
        "{stdout}"
    );

    let conn = migrate_toml::rusqlite::Connection::open(&db).expect("open");
    let recorded: i64 = conn
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .expect("count");
    assert_eq!(recorded, 15);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("chatbot.db");
    std::fs::write(&db, "not a database").expect("write");
    let out = chatbot(&db, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("file is not an SQLite database"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).expect("read"), b"not a database");
}
