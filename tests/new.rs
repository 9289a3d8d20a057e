//! `migrate new`, through the built binary on copies of migrations.toml in
//! temporary directories: what it appends, what it keeps byte for byte, and
//! what it refuses to write.
//!
//! Every run passes `--manifest` (or sets `MIGRATE_MANIFEST`): without it,
//! `fixture-repo` would edit the repository's own migrations.toml.

use std::path::{Path, PathBuf};

use migrate_core::Migrations;
use migrate_core::manifest::{Manifest, Placeholders, parse_checked};
use migrate_tests::{REPO_MIGRATIONS, Run, bytes, command, dir_entries};
use tempfile::TempDir;

const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");

/// The statement every new migration starts with (see migrate-bin's new.rs).
use migrate_core::manifest::PLACEHOLDER;

/// A temporary directory holding `migrations.toml` with `text`.
fn manifest_with(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("migrations.toml");
    std::fs::write(&path, text).expect("write migrations.toml");
    (dir, path)
}

/// Runs `fixture-repo new ARGS… --manifest MANIFEST`.
fn new(manifest: &Path, args: &[&str]) -> Run {
    let out = command(REPO)
        .env_remove("MIGRATE_MANIFEST")
        .arg("new")
        .args(args)
        .arg("--manifest")
        .arg(manifest)
        .output()
        .expect("run fixture-repo new");
    Run::from(out)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Parses and validates a manifest file as the build would, reading each
/// `sql_file` relative to its directory.
#[track_caller]
fn parse_file(path: &Path) -> Manifest {
    let dir = path.parent().expect("a directory");
    // As `new` checks it: the placeholder it wrote is work in progress.
    parse_checked(
        &read(path),
        &mut |file| std::fs::read_to_string(dir.join(file)),
        Placeholders::Allow,
    )
    .unwrap_or_else(|d| panic!("{} should be valid: {d:?}", path.display()))
}

/// Asserts that the file still starts with every byte of `original`, and
/// returns what follows.
#[track_caller]
fn appended(path: &Path, original: &str) -> String {
    let now = read(path);
    now.strip_prefix(original)
        .unwrap_or_else(|| panic!("the original text should be a prefix of:\n{now}"))
        .to_owned()
}

#[test]
fn appends_the_next_version_keeping_every_byte() {
    let (_dir, path) = manifest_with(REPO_MIGRATIONS);
    let run = new(&path, &["Add avatar_url column to users"]);
    run.expect_success();

    let added = appended(&path, REPO_MIGRATIONS);
    assert_eq!(
        added,
        format!(
            "\n[[migration]]\nversion = 16\ndescription = \"Add avatar_url column to users\"\n\
             sql = [\"{PLACEHOLDER}\"]\n"
        ),
        "the entry follows one blank line, formatted like the README's examples"
    );

    let manifest = parse_file(&path);
    let list = &manifest.migrations;
    assert_eq!(list.len(), 16);
    assert_eq!(list.latest_version(), 16);
    let last = list.last().expect("a last migration");
    assert_eq!(last.description(), "Add avatar_url column to users");
    assert_eq!(last.sql().collect::<Vec<_>>(), [PLACEHOLDER]);
    // The 15 migrations before it are untouched.
    let before = Migrations::from_toml(REPO_MIGRATIONS, "migrations.toml").expect("valid");
    assert_eq!(list[..15], before[..]);
    // The build refuses it until the placeholder is replaced, and says so.
    let refused = Migrations::from_toml(&read(&path), "migrations.toml")
        .expect_err("the build refuses a forgotten placeholder");
    assert!(
        refused.to_string().contains(
            "version 16 still holds the placeholder `migrate new` wrote (SELECT 'TODO: \
             replace this placeholder with the SQL of this migration'): replace it with the \
             SQL of this migration"
        ),
        "{refused}"
    );
    let replaced = read(&path).replace(PLACEHOLDER, "ALTER TABLE users ADD COLUMN avatar_url TEXT");
    Migrations::from_toml(&replaced, "migrations.toml")
        .expect("once replaced, the file passes the build's checks, SQL included");

    let line = manifest.locations.last().expect("a location").line;
    assert_eq!(
        read(&path).lines().nth(line - 1),
        Some("[[migration]]"),
        "the reported line is the new entry's header"
    );
    assert_eq!(
        run.stdout,
        format!(
            "Added version 16 \"Add avatar_url column to users\" to {} (line {line}); \
             write its SQL there, then rebuild.\n",
            path.display()
        )
    );
}

#[test]
fn comments_blank_lines_and_odd_formatting_are_kept() {
    let original = "# header comment\n\n\
        database = 'x.db'   # trailing comment\n\n\
        [[migration]]   # one\n\
        version=1\n\
        description   =   \"First\"\n\
        sql = [ 'CREATE TABLE t (a)' ,\n\n   # between\n]\n\n\n\
        # a comment at the very end, without a line break";
    let (_dir, path) = manifest_with(original);
    new(&path, &["Second"]).expect_success();
    let added = appended(&path, original);
    assert_eq!(
        added,
        format!(
            "\n\n[[migration]]\nversion = 2\ndescription = \"Second\"\nsql = [\"{PLACEHOLDER}\"]\n"
        ),
        "a line break ends the last line, then one blank line"
    );
    let manifest = parse_file(&path);
    assert_eq!(manifest.migrations.latest_version(), 2);
    assert_eq!(manifest.migrations.default_database(), Some("x.db"));
}

#[test]
fn windows_line_endings_stay_windows_line_endings() {
    let original = "[[migration]]\r\nversion = 1\r\ndescription = \"First\"\r\nsql = \"CREATE TABLE t (a)\"\r\n";
    let (_dir, path) = manifest_with(original);
    new(&path, &["Second"]).expect_success();
    let added = appended(&path, original);
    assert!(
        added.starts_with("\r\n[[migration]]\r\nversion = 2\r\n"),
        "{added:?}"
    );
    assert!(!added.replace("\r\n", "").contains('\n'), "{added:?}");
    assert_eq!(parse_file(&path).migrations.latest_version(), 2);
}

#[test]
fn descriptions_are_quoted_and_escaped() {
    let (_dir, path) = manifest_with(REPO_MIGRATIONS);
    let description = r#"Store "nicknames" with a \ backslash, in 日本語 too"#;
    new(&path, &[&format!("  {description}  ")]).expect_success();
    let manifest = parse_file(&path);
    let last = manifest.migrations.last().expect("a last migration");
    assert_eq!(last.version(), 16);
    assert_eq!(last.description(), description, "stored trimmed, verbatim");
}

#[test]
fn sql_file_creates_the_file_and_the_reference_and_numbers_on() {
    let (dir, path) = manifest_with(REPO_MIGRATIONS);
    let run = new(&path, &["Backfill user timezones", "--sql-file"]);
    run.expect_success();

    let sql = dir.path().join("sql/0016_backfill_user_timezones.sql");
    assert!(
        run.stdout
            .contains(&format!("with its SQL in {}", sql.display())),
        "{run}"
    );
    let contents = read(&sql);
    assert!(contents.contains(PLACEHOLDER), "{contents}");
    assert!(contents.contains("TODO"), "{contents}");
    assert_eq!(
        appended(&path, REPO_MIGRATIONS),
        "\n[[migration]]\nversion = 16\ndescription = \"Backfill user timezones\"\n\
         sql_file = \"sql/0016_backfill_user_timezones.sql\"\n"
    );
    let manifest = parse_file(&path);
    assert_eq!(manifest.sql_files, ["sql/0016_backfill_user_timezones.sql"]);
    assert_eq!(
        manifest
            .migrations
            .last()
            .map(|m| m.sql().collect::<Vec<_>>()),
        Some(vec![contents.as_str()])
    );

    // The next one gets the next number, next to the first.
    let after_first = read(&path);
    new(&path, &["Drop legacy_score from users!", "--sql-file"]).expect_success();
    appended(&path, &after_first);
    assert_eq!(
        dir_entries(&dir.path().join("sql")),
        [
            "0016_backfill_user_timezones.sql",
            "0017_drop_legacy_score_from_users.sql"
        ]
    );
    let manifest = parse_file(&path);
    assert_eq!(manifest.migrations.latest_version(), 17);
    assert_eq!(manifest.sql_files.len(), 2);

    // And one without --sql-file after them.
    new(&path, &["Inline again"]).expect_success();
    assert_eq!(parse_file(&path).migrations.latest_version(), 18);
}

#[test]
fn sql_file_never_overwrites() {
    let (dir, path) = manifest_with(REPO_MIGRATIONS);
    std::fs::create_dir(dir.path().join("sql")).expect("mkdir sql");
    let existing = dir.path().join("sql/0016_backfill.sql");
    std::fs::write(&existing, "-- mine\nSELECT 42;\n").expect("write");

    let run = new(&path, &["Backfill", "--sql-file"]);
    run.expect_error(
        1,
        &path.parent().expect("dir").join("sql/0016_backfill.sql"),
        &["already exists"],
    );
    assert_eq!(read(&existing), "-- mine\nSELECT 42;\n");
    assert_eq!(read(&path), REPO_MIGRATIONS, "migrations.toml is unchanged");
}

#[test]
fn empty_and_repeated_descriptions_are_refused() {
    let (dir, path) = manifest_with(REPO_MIGRATIONS);
    for description in ["", "   ", "\t"] {
        let run = new(&path, &[description]);
        run.expect_code(2);
        assert!(run.stderr.contains("description is empty"), "{run}");
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
    }
    // The last migration's description, in other case and with spaces.
    let run = new(&path, &["  add PERFORMANCE indexes "]);
    run.expect_error(2, &path, &["version 15", "Add performance indexes"]);
    let run = new(&path, &["Two\nlines"]);
    run.expect_code(2);
    assert!(run.stderr.contains("one line"), "{run}");
    // Also with --sql-file: no file, no directory.
    new(&path, &["Add performance indexes", "--sql-file"]).expect_code(2);

    assert_eq!(read(&path), REPO_MIGRATIONS, "migrations.toml is unchanged");
    assert_eq!(dir_entries(dir.path()), ["migrations.toml"]);
}

#[test]
fn an_invalid_file_is_refused() {
    let gap = format!(
        "{REPO_MIGRATIONS}\n[[migration]]\nversion = 17\ndescription = \"Skips 16\"\n\
         sql = [\"SELECT 1\"]\n"
    );
    let (dir, path) = manifest_with(&gap);
    let run = new(&path, &["Anything", "--sql-file"]);
    run.expect_code(1);
    let shown = path.display().to_string();
    let mut lines = run.stderr.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with(&format!("migrate: error: {shown}: is invalid"))),
        "{run}"
    );
    let diagnostic = lines.next().unwrap_or_default();
    assert!(
        diagnostic.starts_with(&format!("{shown}:"))
            && diagnostic.contains("version 16 is missing"),
        "the problem is shown as PATH:LINE:COL: message\n{run}"
    );
    let line = REPO_MIGRATIONS.lines().count() + 3;
    assert!(diagnostic.starts_with(&format!("{shown}:{line}:")), "{run}");
    assert_eq!(bytes(&path), Some(gap.into_bytes()), "unchanged");
    assert_eq!(dir_entries(dir.path()), ["migrations.toml"]);

    // Broken TOML, and an sql_file that is not there.
    for text in [
        "[[migration]\nversion = 1\n",
        "[[migration]]\nversion = 1\ndescription = \"One\"\nsql_file = \"sql/gone.sql\"\n",
    ] {
        let (_dir, path) = manifest_with(text);
        let run = new(&path, &["Anything"]);
        run.expect_code(1);
        assert!(
            run.stderr
                .contains(&format!("\n{shown}:", shown = path.display())),
            "{run}"
        );
        assert_eq!(read(&path), text);
    }
}

#[test]
fn a_missing_manifest_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nowhere/migrations.toml");
    let run = new(&path, &["Anything", "--sql-file"]);
    run.expect_error(1, &path, &["no such file"]);
    assert!(dir_entries(dir.path()).is_empty(), "nothing created");
}

#[test]
fn an_empty_manifest_gets_version_1() {
    let (_dir, path) = manifest_with("");
    let run = new(&path, &["Create users table"]);
    run.expect_success();
    assert_eq!(
        read(&path),
        format!(
            "[[migration]]\nversion = 1\ndescription = \"Create users table\"\nsql = [\"{PLACEHOLDER}\"]\n"
        )
    );
    assert!(run.stdout.contains("(line 1)"), "{run}");
    assert_eq!(parse_file(&path).migrations.latest_version(), 1);

    // Only comments and the database setting: still version 1.
    let original = "# Our schema.\ndatabase = \"app.db\"\n";
    let (_dir, path) = manifest_with(original);
    new(&path, &["Create users table", "--sql-file"]).expect_success();
    assert!(appended(&path, original).starts_with("\n[[migration]]\nversion = 1\n"));
    let manifest = parse_file(&path);
    assert_eq!(manifest.sql_files, ["sql/0001_create_users_table.sql"]);
}

#[test]
fn the_environment_names_the_manifest() {
    let (_dir, path) = manifest_with(REPO_MIGRATIONS);
    let out = command(REPO)
        .env("MIGRATE_MANIFEST", &path)
        .args(["new", "From the environment"])
        .output()
        .expect("run fixture-repo new");
    Run::from(out).expect_success();
    assert_eq!(parse_file(&path).migrations.latest_version(), 16);
}

#[test]
fn an_inline_list_of_migrations_is_left_alone() {
    let text =
        "migration = [{ version = 1, description = \"One\", sql = \"CREATE TABLE t (a)\" }]\n";
    let (_dir, path) = manifest_with(text);
    let run = new(&path, &["Two"]);
    run.expect_error(1, &path, &["inline array", "[[migration]]"]);
    assert_eq!(read(&path), text);
}

#[test]
fn down_writes_a_down_placeholder_only_when_asked() {
    let (_dir, path) = manifest_with(REPO_MIGRATIONS);
    new(&path, &["Add a table of tags"]).expect_success();
    assert!(!appended(&path, REPO_MIGRATIONS).contains("down"));

    let (_dir, path) = manifest_with(REPO_MIGRATIONS);
    new(&path, &["Add a table of tags", "--down"]).expect_success();
    assert_eq!(
        appended(&path, REPO_MIGRATIONS),
        format!(
            "\n[[migration]]\nversion = 16\ndescription = \"Add a table of tags\"\n\
             sql = [\"{PLACEHOLDER}\"]\ndown = [\"{PLACEHOLDER}\"]\n"
        )
    );
    // The build refuses the placeholder in the down too, once the up is written.
    let text = read(&path).replacen(
        &format!("sql = [\"{PLACEHOLDER}\"]"),
        "sql = [\"CREATE TABLE tags (name TEXT)\"]",
        1,
    );
    let errors = migrate_core::manifest::parse(&text).expect_err("placeholder in the down");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .message
            .contains("version 16 still holds the placeholder"),
        "{}",
        errors[0].message
    );
}

/// Runs `fixture-repo declare-losses --manifest MANIFEST`.
fn declare_losses(manifest: &Path) -> Run {
    let out = command(REPO)
        .env_remove("MIGRATE_MANIFEST")
        .args(["declare-losses", "--manifest"])
        .arg(manifest)
        .output()
        .expect("run fixture-repo declare-losses");
    Run::from(out)
}

#[test]
fn declare_losses_writes_exactly_the_declarations_the_data_proof_needs() {
    // The repository's history as a project that never declared anything
    // would have it, and with a stale declaration on version 3.
    let undeclared = REPO_MIGRATIONS
        .replace("loses = [\"users.legacy_score\"]\n", "")
        .replace("loses = [\"users.age_range\"]\n", "");
    assert_ne!(undeclared, REPO_MIGRATIONS);
    let stale = undeclared.replacen("version = 3\n", "version = 3\nloses = [\"users\"]\n", 1);
    assert_ne!(stale, undeclared);
    let (_dir, path) = manifest_with(&stale);
    let run = declare_losses(&path);
    run.expect_success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run}");
    assert!(lines[0].starts_with("Version 3 ("), "{run}");
    assert!(lines[0].ends_with(": removed stale \"users\""), "{run}");
    assert_eq!(
        lines[1],
        "Version 11 (\"Remove deprecated legacy_score column from users\"): loses = [\"users.legacy_score\"]"
    );
    assert_eq!(
        lines[2],
        "Version 12 (\"Change age_range to integer type\"): loses = [\"users.age_range\"]"
    );
    assert!(
        lines[3].starts_with("Declared what 3 migrations lose in "),
        "{run}"
    );

    // The file now declares what the build needs: it parses with exactly
    // those entries, and every other line is as it was.
    let manifest = parse_file(&path);
    let declared: Vec<(u32, Vec<String>)> = manifest
        .migrations
        .iter()
        .filter(|m| m.loses().len() > 0)
        .map(|m| (m.version(), m.loses().map(str::to_owned).collect()))
        .collect();
    assert_eq!(
        declared,
        [
            (11, vec!["users.legacy_score".to_owned()]),
            (12, vec!["users.age_range".to_owned()])
        ]
    );
    let written = read(&path);
    let without = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("loses = "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(without(&written), without(&undeclared));

    // Nothing more to declare the second time; the file is left alone.
    let run = declare_losses(&path);
    run.expect_success();
    assert!(run.stdout.starts_with("Nothing to declare: "), "{run}");
    assert_eq!(read(&path), written);
}
