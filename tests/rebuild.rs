//! Editing `migrations.toml` and running `cargo build` re-embeds it: a build
//! never ships the migrations of an older version of the file, and an invalid
//! edit fails the build at the line and column of the mistake.
//!
//! A tiny crate is created in a temporary directory, depending on this
//! workspace's `migrate-core` and `migrate-macros` by path, and built with
//! the real `cargo` into `<target dir>/rebuild-check` (the outer cargo holds
//! the lock on the usual build directory; keeping this one between runs keeps
//! the test fast).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::{env, fs};

const MAIN_RS: &str = r#"migrate_macros::embed_migrations!();

fn main() {
    for m in MIGRATIONS.iter() {
        println!("{} {}", m.version(), m.description());
    }
}
"#;

/// Two migrations; version 2 is on line 7.
const TWO: &str = r#"[[migration]]
version = 1
description = "Create users table"
sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"

[[migration]]
version = 2
description = "Add email column"
sql = "ALTER TABLE users ADD COLUMN email TEXT"
"#;

/// Appended to `TWO`: version 3, on line 12.
const THIRD: &str = r#"
[[migration]]
version = 3
description = "Index emails"
sql = "CREATE INDEX idx_users_email ON users(email)"
"#;

/// Appended after `THIRD`: the usual slip of copying the previous entry and
/// forgetting to bump its version, which lands on line 17.
const FOURTH_WITH_VERSION_3: &str = r#"
[[migration]]
version = 3
description = "Add email_verified column"
sql = "ALTER TABLE users ADD COLUMN email_verified BOOLEAN DEFAULT 0"
"#;

/// Prints each migration's SQL, then the schema the build proved.
const MAIN_RS_SQL: &str = r#"migrate_macros::embed_migrations!();

fn main() {
    for m in MIGRATIONS.iter() {
        for sql in m.sql() {
            println!("{}: {}", m.version(), sql.trim());
        }
    }
    print!("-- schema\n{}", MIGRATIONS.final_schema());
}
"#;

/// Version 2's SQL is in a file of its own.
const WITH_SQL_FILE: &str = r#"[[migration]]
version = 1
description = "Create users table"
sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"

[[migration]]
version = 2
description = "Create tickets table"
sql_file = "sql/0002_tickets.sql"
"#;

const TICKETS_SQL: &str = "CREATE TABLE tickets (id INTEGER PRIMARY KEY, user TEXT);\n";

struct Project {
    dir: tempfile::TempDir,
    target_dir: PathBuf,
    // The tests share one target directory and so one binary: one at a time.
    _exclusive: MutexGuard<'static, ()>,
}

static SHARED_TARGET_DIR: Mutex<()> = Mutex::new(());

impl Project {
    fn new() -> Project {
        let exclusive = SHARED_TARGET_DIR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ is inside the workspace");
        let dir = tempfile::Builder::new()
            .prefix("rebuild-check")
            .tempdir()
            .expect("create temporary directory");
        let manifest = format!(
            r#"[package]
name = "rebuild-check"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
migrate-core = {{ package = 'migrate-toml-core', path = '{}' }}
migrate-macros = {{ package = 'migrate-toml-macros', path = '{}' }}

[workspace]
"#,
            workspace.join("migrate-core").display(),
            workspace.join("migrate-macros").display(),
        );
        fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        // The workspace's lock file pins the versions already downloaded, so
        // the build works offline.
        fs::copy(workspace.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        fs::create_dir(dir.path().join("src")).unwrap();
        fs::write(dir.path().join("src/main.rs"), MAIN_RS).unwrap();

        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp")
            .join("rebuild-check");
        Project {
            dir,
            target_dir,
            _exclusive: exclusive,
        }
    }

    fn write_migrations(&self, text: &str) {
        fs::write(self.dir.path().join("migrations.toml"), text).unwrap();
    }

    /// Replaces `src/main.rs`.
    fn write_main(&self, text: &str) {
        fs::write(self.dir.path().join("src/main.rs"), text).unwrap();
    }

    /// Writes a file of SQL at `path`, relative to the crate's directory
    /// (where migrations.toml is), creating its directory.
    fn write_sql(&self, path: &str, text: &str) {
        let path = self.dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn cargo_build(&self) -> Output {
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Command::new(cargo)
            .args(["build", "--offline", "--quiet"])
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("CARGO_TERM_COLOR", "never")
            .output()
            .expect("run cargo build")
    }

    /// Builds, which must succeed, and returns what the binary prints.
    #[track_caller]
    fn build_and_run(&self) -> String {
        let build = self.cargo_build();
        assert!(
            build.status.success(),
            "cargo build failed:\n{}",
            String::from_utf8_lossy(&build.stderr)
        );
        let binary = self
            .target_dir
            .join("debug")
            .join(format!("rebuild-check{}", env::consts::EXE_SUFFIX));
        let run = Command::new(&binary)
            .output()
            .expect("run the built binary");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8(run.stdout).unwrap()
    }

    /// Builds, which must fail, and returns cargo's stderr.
    #[track_caller]
    fn build_fails(&self) -> String {
        let build = self.cargo_build();
        let stderr = String::from_utf8_lossy(&build.stderr).into_owned();
        assert!(
            !build.status.success(),
            "cargo build should have failed; stderr:\n{stderr}"
        );
        stderr
    }
}

#[test]
fn editing_migrations_toml_and_building_re_embeds_it() {
    let project = Project::new();

    project.write_migrations(TWO);
    assert_eq!(
        project.build_and_run(),
        "1 Create users table\n2 Add email column\n"
    );

    // A new migration appended to the file.
    let three = format!("{TWO}{THIRD}");
    project.write_migrations(&three);
    assert_eq!(
        project.build_and_run(),
        "1 Create users table\n2 Add email column\n3 Index emails\n"
    );

    // An existing entry edited in place.
    let renamed = three.replace("Add email column", "Add email address column");
    project.write_migrations(&renamed);
    assert_eq!(
        project.build_and_run(),
        "1 Create users table\n2 Add email address column\n3 Index emails\n"
    );

    // An invalid edit fails the build, pointing at the mistake...
    let broken = format!("{renamed}{FOURTH_WITH_VERSION_3}");
    project.write_migrations(&broken);
    let stderr = project.build_fails();
    assert!(
        stderr.contains(
            "migrations.toml:17:11: version 3 is used twice, here and at line 12: every \
             migration needs its own version; give this one version 4"
        ),
        "stderr does not point at the duplicate version:\n{stderr}"
    );

    // ...and fixing it builds again, with the fix embedded.
    project.write_migrations(&broken.replace(
        "version = 3\ndescription = \"Add email_verified",
        "version = 4\ndescription = \"Add email_verified",
    ));
    assert_eq!(
        project.build_and_run(),
        "1 Create users table\n2 Add email address column\n3 Index emails\n\
         4 Add email_verified column\n"
    );
}

#[test]
fn a_syntax_error_fails_the_build_until_it_is_fixed() {
    let project = Project::new();

    // Starts broken: the build must not succeed with whatever a previous
    // build (this test's other run, another test) left in the target dir.
    let unclosed = TWO.replace("\"Add email column\"", "\"Add email column");
    project.write_migrations(&unclosed);
    let stderr = project.build_fails();
    assert!(
        stderr.contains("migrations.toml:8:32: invalid basic string"),
        "stderr does not point at the unclosed string:\n{stderr}"
    );

    project.write_migrations(TWO);
    assert_eq!(
        project.build_and_run(),
        "1 Create users table\n2 Add email column\n"
    );
}

#[test]
fn editing_an_sql_file_and_building_re_embeds_it() {
    let project = Project::new();
    project.write_main(MAIN_RS_SQL);
    project.write_migrations(WITH_SQL_FILE);
    project.write_sql("sql/0002_tickets.sql", TICKETS_SQL);
    assert_eq!(
        project.build_and_run(),
        "1: CREATE TABLE users (id TEXT PRIMARY KEY)\n\
         2: CREATE TABLE tickets (id INTEGER PRIMARY KEY, user TEXT);\n\
         -- schema\n\
         CREATE TABLE tickets (id INTEGER PRIMARY KEY, user TEXT);\n\
         CREATE TABLE users (id TEXT PRIMARY KEY);\n"
    );

    // Only the .sql file changes: the build picks it up, SQL and schema.
    let indexed = format!(
        "{TICKETS_SQL}\n-- Tickets by user.\nCREATE INDEX idx_tickets_user ON tickets(user);\n"
    );
    project.write_sql("sql/0002_tickets.sql", &indexed);
    let out = project.build_and_run();
    assert!(
        out.starts_with(
            "1: CREATE TABLE users (id TEXT PRIMARY KEY)\n\
             2: CREATE TABLE tickets (id INTEGER PRIMARY KEY, user TEXT);\n\n\
             -- Tickets by user.\nCREATE INDEX idx_tickets_user ON tickets(user);\n"
        ),
        "the edited sql_file was not re-embedded:\n{out}"
    );
    assert!(
        out.ends_with(
            "-- schema\n\
             CREATE TABLE tickets (id INTEGER PRIMARY KEY, user TEXT);\n\
             CREATE TABLE users (id TEXT PRIMARY KEY);\n\
             CREATE INDEX idx_tickets_user ON tickets(user);\n"
        ),
        "the schema does not have the new index:\n{out}"
    );

    // A typo in the .sql file fails the build, pointing into that file:
    // line 4, column 42 is `usr`.
    project.write_sql(
        "sql/0002_tickets.sql",
        &indexed.replace("tickets(user)", "tickets(usr)"),
    );
    let stderr = project.build_fails();
    assert!(
        stderr.contains(
            "sql/0002_tickets.sql:4:42: version 2 (\"Create tickets table\") fails at statement \
             2 `CREATE INDEX idx_tickets_user ON tickets(usr);`: no such column: usr; did you \
             mean `user`?"
        ),
        "stderr does not point into the sql_file:\n{stderr}"
    );
    assert!(
        !stderr.contains("migrations.toml:"),
        "the error is in the sql_file, not in migrations.toml:\n{stderr}"
    );

    // Fixing it builds again, with the fix embedded.
    let fixed = indexed.replace("ON tickets(user)", "ON tickets(user, id)");
    project.write_sql("sql/0002_tickets.sql", &fixed);
    let out = project.build_and_run();
    assert!(
        out.contains("CREATE INDEX idx_tickets_user ON tickets(user, id);\n-- schema\n"),
        "the fixed sql_file was not re-embedded:\n{out}"
    );
    assert!(
        out.ends_with("CREATE INDEX idx_tickets_user ON tickets(user, id);\n"),
        "{out}"
    );
}
