//! The build-time proof's round trip of every down, through
//! `Migrations::from_toml` (the run-time entry to the proof
//! `embed_migrations!` runs): after a migration, its down must give back
//! the previous version's schema and rows, and the migration must apply
//! again. Each failure with its exact location and message.

use migrate_core::Migrations;

/// `migrations.toml` with one `[[migration]]` per `(description, body)`,
/// numbered from 1; `body` holds the `sql`/`down` lines.
fn list(entries: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (i, (description, body)) in entries.iter().enumerate() {
        text.push_str(&format!(
            "[[migration]]\nversion = {}\ndescription = \"{description}\"\n{body}\n\n",
            i + 1
        ));
    }
    text
}

/// The one rendered diagnostic for `text`, which must be rejected.
#[track_caller]
fn rejected(text: &str) -> String {
    match Migrations::from_toml(text, "migrations.toml") {
        Ok(_) => panic!("expected the proof to reject:\n{text}"),
        Err(e) => {
            assert_eq!(e.diagnostics.len(), 1, "{e}");
            e.to_string()
        }
    }
}

#[track_caller]
fn proven(text: &str) -> Migrations {
    Migrations::from_toml(text, "migrations.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const USERS: (&str, &str) = (
    "Create users table",
    "sql = \"CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)\"\ndown = \"DROP TABLE users\"",
);

#[test]
fn a_down_that_leaves_a_table_names_it_and_both_versions() {
    let text = list(&[
        USERS,
        (
            "Create auth requests",
            "sql = \"CREATE TABLE auth_requests (id INTEGER PRIMARY KEY, user TEXT REFERENCES users(id))\"\n\
             down = \"DROP INDEX IF EXISTS idx_auth_requests_user\"",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:11:9: down of version 2 (\"Create auth requests\") leaves table \
         `auth_requests`, which version 1 does not have"
    );
}

#[test]
fn a_down_that_does_not_restore_a_column_says_which_and_what_it_left() {
    let text = list(&[
        (
            "Create users table",
            "sql = \"CREATE TABLE users (id TEXT PRIMARY KEY, legacy_score INTEGER DEFAULT 0)\"",
        ),
        (
            "Drop legacy score",
            "sql = \"ALTER TABLE users DROP COLUMN legacy_score\"\n\
             down = \"ALTER TABLE users ADD COLUMN legacy_scor INTEGER DEFAULT 0\"\n\
             loses = [\"users.legacy_score\"]\ndown_loses = [\"users.legacy_score\"]",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:10:9: down of version 2 (\"Drop legacy score\") does not restore column \
         `users.legacy_score` of version 1; it leaves column `users.legacy_scor`, which version 1 \
         does not have"
    );
    // A column restored with another default is a difference too.
    let text = text.replace("legacy_scor INTEGER DEFAULT 0", "legacy_score INTEGER");
    assert_eq!(
        rejected(&text),
        "migrations.toml:10:9: down of version 2 (\"Drop legacy score\") leaves column \
         `users.legacy_score` as `INTEGER`, where version 1 has `INTEGER DEFAULT 0`"
    );
    proven(&text.replace("legacy_score INTEGER\"", "legacy_score INTEGER DEFAULT 0\""));
}

#[test]
fn a_down_for_the_first_version_must_leave_an_empty_database() {
    let text = list(&[(
        "Create users table",
        "sql = [\"CREATE TABLE users (id TEXT PRIMARY KEY)\", \"CREATE INDEX i ON users(id)\"]\n\
         down = \"DROP INDEX i\"",
    )]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:5:9: down of version 1 (\"Create users table\") leaves table `users`, \
         which the empty database before version 1 does not have"
    );
}

const SETTINGS: (&str, &str) = (
    "Create settings",
    "sql = [\"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)\", \
     \"INSERT INTO settings VALUES ('theme', 'dark'), ('lang', 'en'), ('tz', 'UTC')\"]",
);

#[test]
fn a_down_that_deletes_rows_an_earlier_migration_seeded_counts_them() {
    let text = list(&[
        SETTINGS,
        (
            "Seed more settings",
            "sql = \"INSERT INTO settings VALUES ('a', '1'), ('b', '2')\"\n\
             down = \"DELETE FROM settings WHERE key IN ('a', 'b', 'tz')\"",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:10:9: down of version 2 (\"Seed more settings\") does not bring back 1 \
         of the 3 rows of `settings`, e.g. ('tz', 'UTC')"
    );
    let text = text.replace(", 'tz')", ")");
    proven(&text);
    assert_eq!(
        rejected(&text.replace("WHERE key IN ('a', 'b')", "")),
        "migrations.toml:10:9: down of version 2 (\"Seed more settings\") does not bring back \
         any of the 3 rows of `settings`, e.g. ('lang', 'en')"
    );
}

#[test]
fn a_down_that_leaves_rows_or_changes_them_says_so() {
    let text = list(&[
        SETTINGS,
        (
            "Seed more settings",
            "sql = [\"INSERT INTO settings VALUES ('a', '1'), ('b', '2')\", \
             \"UPDATE settings SET value = 'light' WHERE key = 'theme'\"]\n\
             down = \"DELETE FROM settings WHERE key = 'a'\"",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:10:9: down of version 2 (\"Seed more settings\") does not bring back 1 \
         of the 3 rows of `settings`, e.g. ('theme', 'dark'), and leaves 2 rows in `settings` \
         that version 1 does not have, e.g. ('b', '2')"
    );
}

#[test]
fn rows_a_trigger_writes_during_the_down_are_seen() {
    let text = list(&[
        (
            "Create users and their audit",
            "sql = \"\"\"\nCREATE TABLE users (id TEXT PRIMARY KEY);\n\
             CREATE TABLE audit (what TEXT);\n\
             CREATE TRIGGER users_gone AFTER DELETE ON users BEGIN\n\
             \x20   INSERT INTO audit VALUES ('deleted ' || old.id);\nEND;\"\"\"",
        ),
        (
            "Add the admin",
            "sql = \"INSERT INTO users VALUES ('admin')\"\n\
             down = \"DELETE FROM users WHERE id = 'admin'\"",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:15:9: down of version 2 (\"Add the admin\") leaves 1 row in `audit` \
         that version 1 does not have, e.g. ('deleted admin')"
    );
    proven(&text.replace(
        "down = \"DELETE FROM users WHERE id = 'admin'\"",
        "down = [\"DELETE FROM users WHERE id = 'admin'\", \
         \"DELETE FROM audit WHERE what = 'deleted admin'\"]",
    ));
}

#[test]
fn a_syntax_error_in_a_down_points_at_the_token() {
    let text = list(&[
        USERS,
        (
            "Add nick",
            "sql = \"ALTER TABLE users ADD COLUMN nick TEXT\"\n\
             down = \"\"\"\nALTER TABLE users\n    DROPP COLUMN nick\"\"\"",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:13:5: down of version 2 (\"Add nick\") fails at statement 1 `ALTER \
         TABLE users DROPP COLUMN nick` (line 2 of the statement): near \"DROPP\": syntax error"
    );
}

#[test]
fn a_down_statement_sqlite_rejects_is_located_with_a_suggestion() {
    let text = list(&[
        USERS,
        (
            "Add nick",
            "sql = \"ALTER TABLE users ADD COLUMN nick TEXT\"\n\
             down = [\"DROP INDEX IF EXISTS idx_users_nick\", \"ALTER TABLE users DROP COLUMN nik\"]",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:11:79: down of version 2 (\"Add nick\") fails at statement 2 `ALTER \
         TABLE users DROP COLUMN nik`: no such column: \"nik\"; did you mean `nick`?"
    );
}

#[test]
fn a_down_that_breaks_a_foreign_key_fails_at_the_down() {
    let text = list(&[
        (
            "Create users and posts",
            "sql = [\"CREATE TABLE users (id TEXT PRIMARY KEY)\", \
             \"CREATE TABLE posts (id INTEGER PRIMARY KEY, author TEXT REFERENCES users(id))\"]",
        ),
        (
            "First post",
            "sql = [\"INSERT INTO users VALUES ('u1')\", \"INSERT INTO posts VALUES (1, 'u1')\"]\n\
             down = [\"DELETE FROM users WHERE id = 'u1'\"]",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:10:10: down of version 2 (\"First post\") leaves 1 foreign-key \
         violation(s) on the build's database, e.g. posts rowid 1 references a missing users row: \
         a down must leave every foreign key satisfied (copy or fix the parent rows, or delete the orphans on \
         purpose)"
    );
}

#[test]
fn transaction_control_in_a_down_is_refused() {
    let text = list(&[
        USERS,
        (
            "Add nick",
            "sql = \"ALTER TABLE users ADD COLUMN nick TEXT\"\n\
             down = [\"ALTER TABLE users DROP COLUMN nick\", \"COMMIT\"]",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:11:48: down of version 2 (\"Add nick\") statement 2 `COMMIT` would end \
         the transaction the down runs in: remove it (a down always runs in one transaction \
         and commits as a whole)"
    );
}

#[test]
fn an_up_that_cannot_run_twice_fails_when_applied_again() {
    // The up leaves a temporary table behind, outside the schema a down
    // restores: applying it again after its down fails.
    let text = list(&[
        USERS,
        (
            "Copy users",
            "sql = [\"CREATE TEMP TABLE scratch AS SELECT * FROM users\", \
             \"CREATE TABLE users_copy AS SELECT * FROM scratch\"]\n\
             down = \"DROP TABLE users_copy\"",
        ),
    ]);
    assert_eq!(
        rejected(&text),
        "migrations.toml:10:27: version 2 (\"Copy users\") applied again after its down fails at \
         statement 1 `CREATE TEMP TABLE scratch AS SELECT * FROM users`: table scratch already \
         exists"
    );
}

#[test]
fn a_table_rebuild_and_its_inverse_keep_the_rows_through_the_renames() {
    // The rebuild sqlite.org prescribes: create, copy, drop, rename.
    let rebuild = |to: &str| {
        format!(
            "[\"CREATE TABLE users_new ({to})\", \"INSERT INTO users_new (id, name) SELECT id, \
             name FROM users\", \"DROP TABLE users\", \"ALTER TABLE users_new RENAME TO users\"]"
        )
    };
    let before = "id TEXT PRIMARY KEY, name TEXT";
    let after = "id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT ''";
    let up = rebuild(after);
    let down = rebuild(before);
    let text = list(&[
        (
            "Create users table",
            "sql = [\"CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)\", \
             \"INSERT INTO users VALUES ('u1', 'Ann'), ('u2', 'Bo')\"]",
        ),
        ("Users have a name", &format!("sql = {up}\ndown = {down}")),
    ]);
    let migrations = proven(&text);
    assert!(migrations[1].is_reversible());
    // The inverse rebuild that forgets to copy the rows loses them.
    let forgetful = text.replace(
        &format!("down = {down}"),
        &format!(
            "down = {}",
            down.replace(
                "\"INSERT INTO users_new (id, name) SELECT id, name FROM users\", ",
                ""
            )
        ),
    );
    assert_eq!(
        rejected(&forgetful),
        "migrations.toml:10:10: down of version 2 (\"Users have a name\") does not bring back any \
         of the 2 rows of `users`, e.g. ('u1', 'Ann')"
    );
}

#[test]
fn autoincrement_keys_are_the_same_after_a_round_trip() {
    // A down that deletes the rows its up inserted cannot lower SQLite's
    // AUTOINCREMENT counter; the proof puts it back, so the later migration
    // that points at role 1 finds it, as it does in production.
    let text = list(&[
        (
            "Create roles",
            "sql = [\"CREATE TABLE roles (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)\", \
             \"CREATE TABLE grants (role INTEGER NOT NULL REFERENCES roles(id))\"]",
        ),
        (
            "Seed roles",
            "sql = \"INSERT INTO roles (name) VALUES ('admin'), ('member')\"\n\
             down = \"DELETE FROM roles WHERE name IN ('admin', 'member')\"",
        ),
        (
            "Grant the admin role",
            "sql = \"INSERT INTO grants VALUES (1)\"\ndown = \"DELETE FROM grants WHERE role = 1\"",
        ),
    ]);
    proven(&text);
}

#[test]
fn a_list_with_downs_embeds_the_same_fingerprints_as_without() {
    // Taking users back loses its rows: declared (the line goes with the downs).
    let users = format!("{}\ndown_loses = [\"users\"]", USERS.1);
    let with = list(&[
        (USERS.0, &users),
        (
            "Index users by name",
            "sql = \"CREATE INDEX idx_users_name ON users(name)\"\n\
             down = \"DROP INDEX idx_users_name\"",
        ),
    ]);
    let without: String = with
        .lines()
        .filter(|l| !l.starts_with("down"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (a, b) = (proven(&with), proven(&without));
    for v in 1..=2 {
        assert_eq!(a.expected_schema(v), b.expected_schema(v));
    }
    assert_eq!(a.final_schema(), b.final_schema());
}
