//! The data proof through `Migrations::from_toml`, which runs the same
//! proof as `embed_migrations!`: the messages, exactly where they do not
//! depend on the generated values, and their beginning where they quote one.

use migrate_core::Migrations;

fn users(extra: &str) -> String {
    format!(
        "[[migration]]\nversion = 1\ndescription = \"Create users\"\nsql = \"CREATE TABLE users \
         (id INTEGER PRIMARY KEY, name TEXT, email TEXT, legacy_score INTEGER)\"\n\n\
         [[migration]]\nversion = 2\ndescription = \"Change users\"\n{extra}\n"
    )
}

fn outcome(text: &str) -> String {
    match Migrations::from_toml(text, "migrations.toml") {
        Ok(_) => "built".to_owned(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_repository_history_builds_with_its_two_declarations() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations.toml");
    let text = std::fs::read_to_string(path).expect("the repository's migrations.toml");
    assert_eq!(outcome(&text), "built");
    // Without them, versions 11 and 12 fail.
    let bare = text.replace("loses = [\"users.legacy_score\"]\n", "");
    assert!(
        outcome(&bare).contains(
            "version 11 (\"Remove deprecated legacy_score column from users\") loses column \
             users.legacy_score; if that is meant, declare it on the migration: \
             loses = [\"users.legacy_score\"]"
        ),
        "{}",
        outcome(&bare)
    );
    let bare = text.replace("loses = [\"users.age_range\"]\n", "");
    assert!(
        outcome(&bare).contains("version 12 (\"Change age_range to integer type\") changes "),
        "{}",
        outcome(&bare)
    );
}

#[test]
fn a_dropped_column_is_a_loss_unless_declared() {
    let text = users("sql = \"ALTER TABLE users DROP COLUMN legacy_score\"");
    assert_eq!(
        outcome(&text),
        "migrations.toml:6:1: version 2 (\"Change users\") loses column users.legacy_score; if \
         that is meant, declare it on the migration: loses = [\"users.legacy_score\"]"
    );
    let declared = format!("{text}loses = [\"users.legacy_score\"]\n");
    assert_eq!(outcome(&declared), "built");
}

#[test]
fn a_dropped_table_loses_its_rows() {
    let text = users("sql = \"DROP TABLE users\"");
    assert_eq!(
        outcome(&text),
        "migrations.toml:6:1: version 2 (\"Change users\") loses table users and its 64 rows; \
         if that is meant, declare it on the migration: loses = [\"users\"]"
    );
}

#[test]
fn swapped_columns_change_both_and_a_where_loses_rows() {
    let rebuild = |select: &str| {
        users(&format!(
            "sql = [\"CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT, email TEXT, \
             legacy_score INTEGER)\", \"{select}\", \"DROP TABLE users\", \
             \"ALTER TABLE users_new RENAME TO users\"]"
        ))
    };
    let swapped = outcome(&rebuild(
        "INSERT INTO users_new SELECT id, email, name, legacy_score FROM users",
    ));
    assert!(
        swapped.starts_with("migrations.toml:6:1: version 2 (\"Change users\") changes "),
        "{swapped}"
    );
    assert!(
        swapped.contains(" values of users.name (e.g. ")
            && swapped.contains(" values of users.email (e.g. "),
        "{swapped}"
    );
    assert!(
        swapped.ends_with("loses = [\"users.name\", \"users.email\"]"),
        "{swapped}"
    );
    let filtered = outcome(&rebuild(
        "INSERT INTO users_new SELECT * FROM users WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 4)",
    ));
    assert!(
        filtered.starts_with(
            "migrations.toml:6:1: version 2 (\"Change users\") loses 60 of 64 rows of users (e.g. ("
        ),
        "{filtered}"
    );
    assert_eq!(
        outcome(&rebuild("INSERT INTO users_new SELECT * FROM users")),
        "built"
    );
}

#[test]
fn updates_and_deletes_are_on_purpose() {
    assert_eq!(
        outcome(&users("sql = \"UPDATE users SET name = name || '!'\"")),
        "built"
    );
    assert_eq!(
        outcome(&users("sql = \"DELETE FROM users WHERE id > 3\"")),
        "built"
    );
}

#[test]
fn a_stale_declaration_is_an_error_at_its_entry() {
    let text = users(
        "sql = \"UPDATE users SET name = name || '!'\"\nloses = [\"users.email\", \"users\"]",
    );
    assert_eq!(
        outcome(&text),
        "migrations.toml:10:10: version 2 (\"Change users\") declares loses \"users.email\" but \
         keeps every value of users.email; declares loses \"users\" but keeps every row of \
         users: remove them (a declared loss that does not happen misleads reviewers)"
    );
}

#[test]
fn a_down_that_drops_an_added_column_declares_it() {
    let text = users(
        "sql = \"ALTER TABLE users ADD COLUMN nickname TEXT\"\n\
         down = \"ALTER TABLE users DROP COLUMN nickname\"",
    );
    assert_eq!(
        outcome(&text),
        "migrations.toml:10:9: down of version 2 (\"Change users\") loses column users.nickname; \
         if that is meant, declare it on the migration: down_loses = [\"users.nickname\"]"
    );
    let declared = format!("{text}down_loses = [\"users.nickname\"]\n");
    assert_eq!(outcome(&declared), "built");
}

#[test]
fn up_then_down_brings_back_every_value() {
    let text = users("sql = \"UPDATE users SET name = name || '!'\"\ndown = \"SELECT 1\"");
    let out = outcome(&text);
    assert!(
        out.contains(" values of users.name (e.g. ")
            && out.starts_with(
                "migrations.toml:10:9: down of version 2 (\"Change users\") does not bring back "
            ),
        "{out}"
    );
}

#[test]
fn a_failure_on_generated_rows_is_a_warning() {
    let text = users("sql = \"CREATE UNIQUE INDEX i ON users(length(name))\"");
    let manifest = migrate_core::manifest::parse(&text).expect("valid");
    let proof = migrate_core::verify::prove_manifest(&manifest, &text).expect("builds");
    assert_eq!(proof.warnings.len(), 1);
    assert_eq!(
        proof.warnings[0].render("migrations.toml"),
        "migrations.toml:6:1: version 2 (\"Change users\") fails on generated rows: UNIQUE \
         constraint failed: index 'i' (statement 1 `CREATE UNIQUE INDEX i ON users(length(name))`); \
         the real data decides (try apply --dry-run)"
    );
}
