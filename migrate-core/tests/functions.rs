//! Functions the migrations call that SQLite does not have: declaring them
//! in `migrations.toml` (`[[function]]`, `[[extension]]`), the build-time
//! proof standing in for them, and the runner refusing to apply while the
//! connection lacks one.

use std::path::Path;

use migrate_core::manifest::{Diagnostic, parse};
use migrate_core::rusqlite::Connection;
use migrate_core::rusqlite::functions::FunctionFlags;
use migrate_core::{Error, Function, Migration, Migrations, Migrator, Trial};

/// Joins lines with `\n`, so line `i + 1` of the file is `lines[i]`.
fn toml(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Two migrations, the second calling `normalize(name, 'NFC')`.
const MIGRATIONS: &str = r#"
[[migration]]
version = 1
description = "Create users table"
sql = ["CREATE TABLE users (name TEXT)", "INSERT INTO users VALUES ('Ann'), ('Bob')"]

[[migration]]
version = 2
description = "Normalize names"
sql = "UPDATE users SET name = normalize(name, 'NFC')"
"#;

/// The only diagnostic of `text`, which must be rejected with exactly one.
#[track_caller]
fn one_error(text: &str) -> Diagnostic {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(mut d) => {
            assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
            d.remove(0)
        }
    }
}

#[track_caller]
fn assert_error(text: &str, at: &str, underlined: &str, message: &str) {
    let d = one_error(text);
    assert_eq!(
        (
            d.location.to_string().as_str(),
            &text[d.span.clone()],
            d.message.as_str()
        ),
        (at, underlined, message)
    );
}

// --------------------------------------------------------------- manifest

#[test]
fn functions_and_extensions_are_declared_in_file_order() {
    let text = toml(&[
        "[[function]]",
        "name = \"normalize\"",
        "args = 2",
        "deterministic = true",
        "",
        "[[function]]",
        "name = \"base64_decode\"",
        "args = -1",
        "",
        "[[extension]]",
        "path = \"vec0\"",
        "functions = [",
        "    { name = \"vec_length\", args = 1, deterministic = true },",
        "    { name = \"vec_f32\", args = 1 },",
        "]",
        "",
        "[[extension]]",
        "path = \"./ext/strrev\"",
        "[[extension.functions]]",
        "name = \"str_reverse\"",
        "args = 1",
    ]);
    let manifest = parse(&text).expect("valid declarations");
    let declared: Vec<(&str, i32, bool, Option<&str>)> = manifest
        .migrations
        .functions()
        .iter()
        .map(|f| (f.name(), f.args(), f.is_deterministic(), f.extension()))
        .collect();
    assert_eq!(
        declared,
        [
            ("normalize", 2, true, None),
            ("base64_decode", -1, false, None),
            ("vec_length", 1, true, Some("vec0")),
            ("vec_f32", 1, false, Some("vec0")),
            ("str_reverse", 1, false, Some("./ext/strrev")),
        ]
    );
    assert_eq!(
        manifest.migrations.extensions().collect::<Vec<_>>(),
        ["vec0", "./ext/strrev"]
    );
    assert!(manifest.migrations.is_empty());
}

#[test]
fn the_same_name_with_another_number_of_arguments_is_another_function() {
    let text = toml(&[
        "[[function]]",
        "name = \"pad\"",
        "args = 1",
        "[[function]]",
        "name = \"pad\"",
        "args = 2",
    ]);
    assert_eq!(parse(&text).unwrap().migrations.functions().len(), 2);
}

#[test]
fn unknown_key_in_a_function() {
    let text = toml(&["[[function]]", "name = \"normalize\"", "arguments = 2"]);
    assert_error(
        &text,
        "3:1",
        "arguments",
        "unknown field `arguments`, expected one of `name`, `args`, `deterministic` (a \
         [[function]], or an item of an [[extension]]'s `functions`, takes `name`, the function \
         as SQL calls it, `args`, how many arguments it takes or -1 for any, and optionally \
         `deterministic = true`: e.g. name = \"normalize\", args = 2)",
    );
}

#[test]
fn unknown_key_in_an_extension_function() {
    let text = toml(&[
        "[[extension]]",
        "path = \"vec0\"",
        "functions = [{ name = \"vec_length\", args = 1, determinstic = true }]",
    ]);
    let d = one_error(&text);
    assert_eq!(d.location.to_string(), "3:47");
    assert!(
        d.message
            .starts_with("unknown field `determinstic`, expected one of `name`, `args`"),
        "{}",
        d.message
    );
}

#[test]
fn unknown_key_in_an_extension() {
    let text = toml(&[
        "[[extension]]",
        "path = \"vec0\"",
        "function = [{ name = \"vec_length\", args = 1 }]",
    ]);
    assert_error(
        &text,
        "3:1",
        "function",
        "unknown field `function`, expected `path` or `functions` (an [[extension]] takes \
         `path`, the shared library to load, and `functions`, the functions it provides, e.g. \
         path = \"vec0\" and functions = [{ name = \"vec_length\", args = 1, deterministic = \
         true }])",
    );
}

#[test]
fn missing_args() {
    let text = toml(&["[[function]]", "name = \"normalize\""]);
    let d = one_error(&text);
    assert_eq!(d.location.to_string(), "1:1");
    assert!(
        d.message
            .starts_with("missing field `args` (a [[function]]"),
        "{}",
        d.message
    );
}

#[test]
fn missing_functions_of_an_extension() {
    let text = toml(&["[[extension]]", "path = \"vec0\""]);
    let d = one_error(&text);
    assert!(
        d.message
            .starts_with("missing field `functions` (an [[extension]] takes `path`"),
        "{}",
        d.message
    );
}

#[test]
fn args_as_a_string() {
    let text = toml(&["[[function]]", "name = \"normalize\"", "args = \"2\""]);
    let d = one_error(&text);
    assert_eq!(d.location.to_string(), "3:8");
    assert!(
        d.message
            .starts_with("invalid type: string \"2\", expected a whole number (a [[function]]"),
        "{}",
        d.message
    );
}

#[test]
fn function_with_single_brackets() {
    let text = toml(&["[function]", "name = \"normalize\"", "args = 2"]);
    let d = one_error(&text);
    assert_eq!(
        d.message,
        "invalid type: map, expected a sequence (`function` and `extension` are lists: start \
         each entry with a [[function]] or [[extension]] header, with double brackets)"
    );
}

#[test]
fn functions_of_an_extension_must_be_a_list() {
    let text = toml(&[
        "[[extension]]",
        "path = \"vec0\"",
        "functions = \"vec_length\"",
    ]);
    let d = one_error(&text);
    assert_eq!(d.location.to_string(), "3:13");
    assert!(
        d.message.ends_with(
            "(`functions` is a list of tables, e.g. functions = [{ name = \"vec_length\", \
             args = 1 }])"
        ),
        "{}",
        d.message
    );
}

#[test]
fn a_name_sql_cannot_call() {
    for name in ["", "my func", "2fast", "normalize()"] {
        let text = toml(&["[[function]]", &format!("name = {name:?}"), "args = 1"]);
        assert_error(
            &text,
            "2:8",
            &format!("{name:?}"),
            &format!(
                "the [[function]] name {name:?} is not a name SQL can call: use letters, digits \
                 and `_`, not starting with a digit, as the migrations write it, e.g. name = \
                 \"normalize\""
            ),
        );
    }
}

#[test]
fn args_out_of_range() {
    for args in ["-2", "128", "4294967296"] {
        let text = toml(&["[[function]]", "name = \"f\"", &format!("args = {args}")]);
        assert_error(
            &text,
            "3:8",
            args,
            &format!(
                "args = {args} for f(): give the number of arguments it takes, 0 to 127, or -1 \
                 for any number"
            ),
        );
    }
    let text = toml(&["[[function]]", "name = \"f\"", "args = 127"]);
    assert_eq!(parse(&text).unwrap().migrations.functions()[0].args(), 127);
}

#[test]
fn sqlite_functions_cannot_be_declared() {
    let text = toml(&["[[function]]", "name = \"LOWER\"", "args = 1"]);
    assert_error(
        &text,
        "2:8",
        "\"LOWER\"",
        "LOWER() is one of SQLite's own functions: declare only functions SQLite does not have, \
         which the application registers or an extension provides; remove this entry",
    );
}

#[test]
fn a_function_declared_twice() {
    let text = toml(&[
        "[[function]]",
        "name = \"normalize\"",
        "args = 2",
        "",
        "[[extension]]",
        "path = \"icu\"",
        "functions = [{ name = \"Normalize\", args = 2 }]",
    ]);
    let d = one_error(&text);
    assert_eq!(d.location.to_string(), "7:23");
    assert_eq!(
        d.message,
        "Normalize() with args = 2 is declared twice, here and at line 2: keep one of them"
    );
}

#[test]
fn extension_problems() {
    let text = toml(&[
        "[[extension]]",
        "path = \"vec0\"",
        "functions = []",
        "",
        "[[extension]]",
        "path = \"  \"",
        "functions = [{ name = \"x\", args = 1 }]",
        "",
        "[[extension]]",
        "path = \"vec0\"",
        "functions = [{ name = \"y\", args = 1 }]",
    ]);
    let d = parse(&text).unwrap_err();
    let found: Vec<(String, &str)> = d
        .iter()
        .map(|d| (d.location.to_string(), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "3:13".to_owned(),
                "the extension \"vec0\" lists no functions: list the SQL functions it provides \
                 that the migrations call, e.g. functions = [{ name = \"vec_length\", args = 1, \
                 deterministic = true }]"
            ),
            (
                "6:8".to_owned(),
                "the `path` of an [[extension]] is empty: give the shared library SQLite loads, \
                 as the application loads it, e.g. path = \"vec0\""
            ),
            (
                "10:8".to_owned(),
                "the extension \"vec0\" is declared twice, here and at line 2: list all its \
                 functions in one [[extension]]"
            ),
        ]
    );
}

#[test]
fn unknown_key_at_top_level_names_the_new_tables() {
    let text = toml(&["[[functions]]", "name = \"normalize\"", "args = 2"]);
    let d = one_error(&text);
    assert_eq!(
        d.message,
        "unknown field `functions`, expected one of `database`, `keep_backups`, `migration`, \
         `function`, `extension` (check the spelling: the file takes `database`, \
         `keep_backups`, and [[migration]], [[function]] and [[extension]] entries)"
    );
}

// ------------------------------------------------------------------ proof

#[test]
fn an_undeclared_function_fails_the_proof_with_the_toml_to_add() {
    let err = Migrations::from_toml(MIGRATIONS, "migrations.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "migrations.toml:10:32: version 2 (\"Normalize names\") fails at statement 1 `UPDATE \
         users SET name = normalize(name, 'NFC')`: no such function: normalize; if the \
         application registers normalize() on its connection, declare it in migrations.toml:\n\
         \n\
         [[function]]\n\
         name = \"normalize\"\n\
         args = 2\n\
         deterministic = true  # false if the same arguments can give another result\n\
         \n\
         (or, if a loadable extension provides it, add it to the `functions` of that \
         [[extension]])"
    );
}

#[test]
fn the_hint_is_toml_that_makes_the_list_build() {
    let err = Migrations::from_toml(MIGRATIONS, "migrations.toml").unwrap_err();
    let message = err.to_string();
    let start = message.find("[[function]]").unwrap();
    let end = message.find("\n\n(or,").unwrap();
    let fixed = format!("{}\n{MIGRATIONS}", &message[start..end]);
    let migrations = Migrations::from_toml(&fixed, "migrations.toml").unwrap();
    assert_eq!(migrations[1].functions()[0].name(), "normalize");
}

#[test]
fn a_typo_of_an_sqlite_function_is_named() {
    let text = MIGRATIONS.replace("normalize(name, 'NFC')", "uper(name)");
    let err = Migrations::from_toml(&text, "migrations.toml").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("no such function: uper; did you mean `upper`?"),
        "{err}"
    );
}

#[test]
fn the_proof_records_which_migrations_call_which_function() {
    let text = toml(&[
        "[[function]]",
        "name = \"slug\"",
        "args = 1",
        "deterministic = true",
        "[[function]]",
        "name = \"unused\"",
        "args = 0",
        "[[extension]]",
        "path = \"vec0\"",
        "functions = [{ name = \"vec_length\", args = 1, deterministic = true }]",
        "",
        "[[migration]]",
        "version = 1",
        "description = \"Pages, with a trigger that slugs titles\"",
        "sql = [\"CREATE TABLE pages (title TEXT, slug TEXT, v BLOB)\",",
        "       \"CREATE TRIGGER pages_slug AFTER INSERT ON pages BEGIN UPDATE pages SET slug = \
         slug(NEW.title) WHERE rowid = NEW.rowid; END\"]",
        "",
        "[[migration]]",
        "version = 2",
        "description = \"Seed a page: the trigger calls slug()\"",
        "sql = \"INSERT INTO pages (title) VALUES ('About us')\"",
        "",
        "[[migration]]",
        "version = 3",
        "description = \"Index the vectors' lengths\"",
        "sql = \"CREATE INDEX pages_v ON pages(vec_length(v))\"",
        "",
        "[[migration]]",
        "version = 4",
        "description = \"Nothing declared\"",
        "sql = \"UPDATE pages SET title = upper(title)\"",
    ]);
    let migrations = Migrations::from_toml(&text, "migrations.toml").unwrap();
    let calls: Vec<Vec<(&str, Option<&str>)>> = migrations
        .iter()
        .map(|m| {
            m.functions()
                .iter()
                .map(|f| (f.name(), f.extension()))
                .collect()
        })
        .collect();
    assert_eq!(
        calls,
        [
            vec![],
            vec![("slug", None)],
            vec![("vec_length", Some("vec0"))],
            vec![]
        ]
    );
}

#[test]
fn a_non_deterministic_function_in_an_index_is_refused_as_sqlite_will() {
    let text = toml(&[
        "[[function]]",
        "name = \"slug\"",
        "args = 1",
        "[[migration]]",
        "version = 1",
        "description = \"Index slugs\"",
        "sql = [\"CREATE TABLE pages (title TEXT)\", \"CREATE INDEX i ON pages(slug(title))\"]",
    ]);
    let err = Migrations::from_toml(&text, "migrations.toml").unwrap_err();
    assert!(
        err.to_string().ends_with(
            "non-deterministic functions prohibited in index expressions; migrations.toml \
             declares slug() without deterministic = true: if the same arguments always give \
             the same result, add deterministic = true (and register it with \
             FunctionFlags::SQLITE_DETERMINISTIC)"
        ),
        "{err}"
    );
    let fixed = text.replace("args = 1", "args = 1\ndeterministic = true");
    assert!(Migrations::from_toml(&fixed, "migrations.toml").is_ok());
}

#[test]
fn a_call_with_another_number_of_arguments_names_the_declaration() {
    let text = format!("[[function]]\nname = \"normalize\"\nargs = 1\n{MIGRATIONS}");
    let err = Migrations::from_toml(&text, "migrations.toml").unwrap_err();
    assert!(
        err.to_string().ends_with(
            "wrong number of arguments to function normalize(); migrations.toml declares \
             normalize() with args = 1: make args the number of arguments the statement passes, \
             or -1 for any number"
        ),
        "{err}"
    );
    let any = text.replace("args = 1", "args = -1");
    assert!(Migrations::from_toml(&any, "migrations.toml").is_ok());
}

#[test]
fn the_stand_in_returns_null_which_a_not_null_column_refuses() {
    let text = toml(&[
        "[[function]]",
        "name = \"slug\"",
        "args = 1",
        "[[migration]]",
        "version = 1",
        "description = \"Seed\"",
        "sql = [\"CREATE TABLE pages (slug TEXT NOT NULL)\", \"INSERT INTO pages VALUES \
         (slug('About us'))\"]",
    ]);
    let err = Migrations::from_toml(&text, "migrations.toml").unwrap_err();
    assert!(
        err.to_string().ends_with(
            "NOT NULL constraint failed: pages.slug; the build's proof stands in for slug() \
             with a function that returns NULL (the real one is not available while \
             compiling): fill the column with a default or COALESCE(…), or seed the rows at \
             run time"
        ),
        "{err}"
    );
}

// ----------------------------------------------------------------- runner

fn declared() -> Migrations {
    let text = format!("[[function]]\nname = \"normalize\"\nargs = 2\n{MIGRATIONS}");
    Migrations::from_toml(&text, "migrations.toml").unwrap()
}

/// Registers `normalize(text, form)`: here, upper case, to see its effect.
fn register_normalize(conn: &Connection) -> migrate_core::rusqlite::Result<()> {
    conn.create_scalar_function("normalize", 2, FunctionFlags::SQLITE_UTF8, |ctx| {
        let text: String = ctx.get(0)?;
        Ok(text.to_uppercase())
    })
}

fn names(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM users ORDER BY rowid")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[track_caller]
fn assert_not_registered(err: &Error, version: u32) {
    match err {
        Error::FunctionNotRegistered {
            version: v,
            function,
            args,
            extension,
            ..
        } => assert_eq!(
            (*v, function.as_str(), *args, extension),
            (version, "normalize", 2, &None)
        ),
        other => panic!("expected FunctionNotRegistered, got {other:?}"),
    }
    assert_eq!(err.code(), "function_not_registered");
    assert_eq!(err.version(), Some(version));
    assert_eq!(
        err.to_string(),
        format!(
            "migration {version} (\"Normalize names\") calls normalize(), which is not \
             registered on the connection: the application must register it (taking 2 \
             arguments) before applying, e.g. with rusqlite's create_scalar_function in \
             Migrator::on_open or on its own connection; nothing was changed"
        )
    );
}

#[test]
fn apply_refuses_before_running_anything_while_a_declared_function_is_missing() {
    let migrations = declared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");

    // Version 1 applied; version 2 calls normalize().
    let mut conn = Connection::open(&path).unwrap();
    migrations
        .migrator()
        .target(Some(1))
        .apply(&mut conn)
        .unwrap();
    drop(conn);
    let before = file_bytes(&path);

    let mut conn = Connection::open(&path).unwrap();
    assert_not_registered(&migrations.apply(&mut conn).unwrap_err(), 2);
    let single = migrations.migrator().single_transaction(true);
    assert_not_registered(&single.apply(&mut conn).unwrap_err(), 2);
    assert_not_registered(&migrations.migrator().trial(&mut conn).unwrap_err(), 2);
    drop(conn);
    assert_not_registered(&migrations.apply_to_path(&path).unwrap_err(), 2);
    assert!(matches!(
        migrations.open(&path),
        Err(Error::FunctionNotRegistered { .. })
    ));
    assert_eq!(file_bytes(&path), before, "the refusals changed the file");

    // Registered, it applies, and the rows show what it did.
    let mut conn = Connection::open(&path).unwrap();
    register_normalize(&conn).unwrap();
    let trials = migrations.migrator().trial(&mut conn).unwrap();
    assert!(
        matches!(trials[..], [(2, Trial::Succeeded(..))]),
        "{trials:?}"
    );
    let report = migrations.apply(&mut conn).unwrap();
    assert_eq!(report.version, 2);
    assert_eq!(names(&conn), ["ANN", "BOB"]);
}

#[test]
fn a_fresh_database_is_refused_whole() {
    // Version 1 does not call it, but the run would stop half-way: nothing runs.
    let migrations = declared();
    let mut conn = Connection::open_in_memory().unwrap();
    assert_not_registered(&migrations.apply(&mut conn).unwrap_err(), 2);
    assert_eq!(migrations.current_version(&conn).unwrap(), 0);
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0);

    // With --to 1, what is pending does not call it.
    let report = migrations
        .migrator()
        .target(Some(1))
        .apply(&mut conn)
        .unwrap();
    assert_eq!(report.version, 1);
}

#[test]
fn on_open_registers_on_the_connections_the_migrator_opens() {
    let migrations = declared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let conn = migrations
        .migrator()
        .on_open(register_normalize)
        .open(&path)
        .unwrap();
    assert_eq!(names(&conn), ["ANN", "BOB"]);
    drop(conn);

    let other = dir.path().join("other.db");
    let report = migrations
        .migrator()
        .on_open(|_| Ok(()))
        .on_open(register_normalize)
        .apply_to_path(&other)
        .unwrap();
    assert_eq!(report.version, 2);
    assert_eq!(names(&Connection::open(&other).unwrap()), ["ANN", "BOB"]);
}

#[test]
fn a_failing_hook_stops_before_anything_is_applied() {
    let migrations = declared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let err = migrations
        .migrator()
        .on_open(|conn| conn.execute_batch("SELECT no_such_thing()"))
        .apply_to_path(&path)
        .unwrap_err();
    assert_eq!(err.code(), "sqlite");
    assert!(
        err.to_string().contains("no such function: no_such_thing"),
        "{err}"
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!(migrations.current_version(&conn).unwrap(), 0);
}

#[test]
fn a_function_registered_for_any_number_of_arguments_will_do() {
    let migrations = declared();
    let mut conn = Connection::open_in_memory().unwrap();
    conn.create_scalar_function("NORMALIZE", -1, FunctionFlags::SQLITE_UTF8, |ctx| {
        ctx.get::<String>(0).map(|s| s.to_lowercase())
    })
    .unwrap();
    migrations.apply(&mut conn).unwrap();
    assert_eq!(names(&conn), ["ann", "bob"]);
}

#[test]
fn a_function_registered_with_another_number_of_arguments_is_not_it() {
    let migrations = declared();
    let mut conn = Connection::open_in_memory().unwrap();
    conn.create_scalar_function("normalize", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
        ctx.get::<String>(0)
    })
    .unwrap();
    assert_not_registered(&migrations.apply(&mut conn).unwrap_err(), 2);
}

#[test]
fn a_missing_extension_function_says_which_extension() {
    let list =
        [
            Migration::new(1, "Create t", ["CREATE TABLE t (x)"]),
            Migration::new(2, "Reverse", ["UPDATE t SET x = str_reverse(x)"])
                .calling([Function::new("str_reverse", 1).provided_by("./strrev")]),
        ];
    let mut conn = Connection::open_in_memory().unwrap();
    let err = Migrator::new(&list).apply(&mut conn).unwrap_err();
    assert_eq!(
        err.to_string(),
        "migration 2 (\"Reverse\") calls str_reverse(), which is not registered on the \
         connection: it comes from the extension \"./strrev\"; load that before applying \
         (migrate --load-extension PATH, or Migrator::load_extension); nothing was changed"
    );
    assert_eq!(Migrator::new(&list).current_version(&conn).unwrap(), 0);
}

#[test]
fn check_and_drift_stand_in_for_declared_functions() {
    // `check` applies the migrations to an in-memory database to name what
    // drifted: the stand-ins let it, without the application's functions.
    let migrations = declared();
    let mut conn = Connection::open_in_memory().unwrap();
    register_normalize(&conn).unwrap();
    migrations.apply(&mut conn).unwrap();
    conn.execute_batch("CREATE TABLE extra (x)").unwrap();
    let report = migrations.check(&conn).unwrap();
    assert_eq!(report.differences.len(), 1, "{report:?}");
    assert_eq!(report.differences[0].name, "extra");
}

#[test]
#[cfg(feature = "load_extension")]
fn an_extension_that_does_not_exist_fails_before_the_database_is_created() {
    let migrations = declared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let missing = dir.path().join("lib").join("strrev");
    let err = migrations
        .migrator()
        .load_extension(&missing)
        .open(&path)
        .unwrap_err();
    assert_eq!(err.code(), "extension_load_failed");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load the SQLite extension {}: no such file; nothing was changed",
            missing.display()
        )
    );
    assert!(!path.exists());
}

#[test]
#[cfg(feature = "load_extension")]
fn a_file_that_is_no_library_fails_to_load_on_one_line() {
    let migrations = declared();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.so");
    std::fs::write(&fake, "not a shared library\n").unwrap();
    let conn = Connection::open_in_memory().unwrap();
    let err = migrations
        .migrator()
        .load_extension(&fake)
        .prepare(&conn)
        .unwrap_err();
    assert_eq!(err.code(), "extension_load_failed");
    let message = err.to_string();
    let prefix = format!("cannot load the SQLite extension {}: ", fake.display());
    assert!(message.starts_with(&prefix), "{message}");
    assert!(message.ends_with("; nothing was changed"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    // Extension loading is off again: SQL cannot load one.
    let sql = conn.query_row(
        "SELECT load_extension(?1)",
        [fake.to_str().unwrap()],
        |_| Ok(()),
    );
    assert!(sql.is_err());
}
