//! `migrate_core::manifest::parse`, the validation `embed_migrations!` runs at
//! build time, tested directly: every class of mistake with the exact
//! `line:column` a user is sent to and the words that tell them what to fix.

use migrate_core::manifest::{Diagnostic, Location, parse};
use migrate_core::{Migrations, sql::is_empty};

/// The repository's own migration history.
const REPO_MANIFEST: &str = include_str!("../../migrations.toml");

/// Joins lines with `\n`, so line `i + 1` of the file is `lines[i]`.
fn toml(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Every diagnostic for `text`, which must be rejected.
fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(m) => panic!(
            "expected errors, but it parsed into {} migration(s):\n{text}",
            m.migrations.len()
        ),
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "Err with no diagnostics");
            diagnostics
        }
    }
}

/// Asserts `text` is rejected with exactly one diagnostic, at `at`
/// ("LINE:COL"), whose message contains every one of `words`.
#[track_caller]
fn assert_one_error(text: &str, at: &str, words: &[&str]) -> Diagnostic {
    let diagnostics = errors(text);
    assert_eq!(
        diagnostics.len(),
        1,
        "expected exactly one diagnostic, got {diagnostics:#?}"
    );
    let d = diagnostics.into_iter().next().unwrap();
    assert_diagnostic(&d, at, words);
    d
}

#[track_caller]
fn assert_diagnostic(d: &Diagnostic, at: &str, words: &[&str]) {
    assert_eq!(d.location.to_string(), at, "location of {:?}", d.message);
    for word in words {
        assert!(
            d.message.contains(word),
            "message at {at} should contain {word:?}:\n{}",
            d.message
        );
    }
}

/// The text a diagnostic's span covers: what an editor would underline.
fn underlined<'a>(text: &'a str, d: &Diagnostic) -> &'a str {
    &text[d.span.clone()]
}

fn ok(text: &str) -> Migrations {
    match parse(text) {
        Ok(m) => m.migrations,
        Err(d) => panic!("expected {text:?} to parse, got {d:#?}"),
    }
}

/// A complete, valid entry with this version, taking 5 lines with the blank
/// line after it.
fn entry(version: i64) -> String {
    format!(
        "[[migration]]\nversion = {version}\ndescription = \"step {version}\"\nsql = \"CREATE TABLE t{version} (id INTEGER)\"\n\n"
    )
}

// ----------------------------------------------------------------- syntax

#[test]
fn toml_syntax_error_unterminated_string() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"Create users",
        "sql = \"CREATE TABLE users (id TEXT)\"",
    ]);
    assert_one_error(
        &text,
        "3:28",
        &["invalid basic string", "fix the TOML syntax here"],
    );
}

#[test]
fn toml_syntax_error_points_at_the_bad_token() {
    let text = toml(&["[[migration]]", "version = = 1"]);
    let d = assert_one_error(&text, "2:11", &["extra `=`", "fix the TOML syntax"]);
    assert_eq!(underlined(&text, &d), "=");
}

#[test]
fn toml_duplicate_key() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "version = 2",
        "description = \"x\"",
        "sql = \"SELECT 1\"",
    ]);
    assert_one_error(&text, "3:1", &["duplicate key"]);
}

// ----------------------------------------------------------- unknown keys

#[test]
fn unknown_key_at_top_level() {
    let text = toml(&["database = \"chat.db\"", "descripton = \"typo\""]);
    let d = assert_one_error(
        &text,
        "2:1",
        &[
            "unknown field `descripton`",
            "expected one of `database`, `keep_backups`, `migration`, `function`, `extension`",
            "check the spelling",
        ],
    );
    assert_eq!(underlined(&text, &d), "descripton");
}

#[test]
fn unknown_key_in_a_migration() {
    let mut text = entry(1);
    text.push_str(&toml(&[
        "[[migration]]",
        "version = 2",
        "descripton = \"Add index\"",
        "sql = \"CREATE INDEX i ON t1(id)\"",
    ]));
    let d = assert_one_error(
        &text,
        "8:1",
        &[
            "unknown field `descripton`",
            "`description`",
            "check the spelling",
        ],
    );
    assert_eq!(underlined(&text, &d), "descripton");
}

#[test]
fn misspelled_migration_table_is_an_unknown_key() {
    let text = toml(&[
        "[[migrations]]",
        "version = 1",
        "description = \"x\"",
        "sql = \"SELECT 1\"",
    ]);
    assert_one_error(
        &text,
        "1:3",
        &["unknown field `migrations`", "[[migration]]"],
    );
}

// ----------------------------------------------------------- missing keys

/// The second entry lacks `key`: the error points at its `[[migration]]`
/// header on line 6, not at the first entry.
#[track_caller]
fn assert_missing(key: &str) {
    let second: Vec<&str> = [
        "[[migration]]",
        "version = 2",
        "description = \"second\"",
        "sql = \"SELECT 2\"",
    ]
    .into_iter()
    .filter(|line| !line.starts_with(key))
    .collect();
    let text = format!("{}{}", entry(1), toml(&second));
    let d = assert_one_error(
        &text,
        "6:1",
        &[
            &format!("missing field `{key}`"),
            "every [[migration]] needs `version`, `description` and `sql`",
        ],
    );
    assert_eq!(underlined(&text, &d), "[[migration]]");
}

#[test]
fn missing_version() {
    assert_missing("version");
}

#[test]
fn missing_description() {
    assert_missing("description");
}

#[test]
fn missing_sql() {
    assert_missing("sql");
}

// ------------------------------------------------------------ wrong types

#[test]
fn version_as_a_string() {
    let text = toml(&[
        "[[migration]]",
        "version = \"1\"",
        "description = \"x\"",
        "sql = \"SELECT 1\"",
    ]);
    let d = assert_one_error(
        &text,
        "2:11",
        &[
            "invalid type: string \"1\", expected a whole number",
            "`version` is a whole number",
        ],
    );
    assert_eq!(underlined(&text, &d), "\"1\"");
}

#[test]
fn version_as_a_float() {
    let text = toml(&[
        "[[migration]]",
        "version = 1.5",
        "description = \"x\"",
        "sql = \"SELECT 1\"",
    ]);
    assert_one_error(
        &text,
        "2:11",
        &["floating point `1.5`, expected a whole number"],
    );
}

#[test]
fn sql_as_a_number() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = 42",
    ]);
    assert_one_error(
        &text,
        "4:7",
        &[
            "invalid type: integer `42`",
            "expected a string of SQL or an array of SQL strings",
        ],
    );
}

#[test]
fn number_inside_the_sql_list() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = [\"SELECT 1\", 42]",
    ]);
    assert_one_error(
        &text,
        "4:20",
        &[
            "invalid type: integer `42`",
            "`sql` and `down` a string or an array of strings",
        ],
    );
}

#[test]
fn transaction_as_a_string() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = \"VACUUM\"",
        "transaction = \"no\"",
    ]);
    assert_one_error(
        &text,
        "5:15",
        &[
            "invalid type: string \"no\"",
            "expected a boolean",
            "`transaction` true or false",
        ],
    );
}

#[test]
fn description_as_an_integer() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = 7",
        "sql = \"SELECT 1\"",
    ]);
    assert_one_error(
        &text,
        "3:15",
        &[
            "invalid type: integer `7`",
            "expected a string",
            "`description` a string",
        ],
    );
}

#[test]
fn database_as_an_integer() {
    let text = toml(&["database = 3"]);
    assert_one_error(
        &text,
        "1:12",
        &["invalid type: integer `3`", "expected a string"],
    );
}

#[test]
fn single_bracket_migration_table_asks_for_double_brackets() {
    let text = toml(&[
        "[migration]",
        "version = 1",
        "description = \"x\"",
        "sql = \"SELECT 1\"",
    ]);
    let d = assert_one_error(
        &text,
        "1:1",
        &[
            "expected a sequence",
            "[[migration]] header, with double brackets",
        ],
    );
    // Not the hint about value types, which would send the user astray.
    assert!(!d.message.contains("whole number"), "{}", d.message);
}

// --------------------------------------------------------------- versions

#[test]
fn versions_must_start_at_1() {
    let text = format!("{}{}", entry(2), entry(3));
    let d = assert_one_error(
        &text,
        "2:11",
        &[
            "version 1 is missing",
            "versions start at 1",
            "has version 2",
            "number this migration 1",
        ],
    );
    assert_eq!(underlined(&text, &d), "2");
}

#[test]
fn gap_names_the_missing_version() {
    let text = format!("{}{}{}", entry(1), entry(2), entry(4));
    let d = assert_one_error(
        &text,
        "12:11",
        &[
            "version 3 is missing",
            "after version 2 (line 7) comes version 4",
            "number this migration 3",
        ],
    );
    assert_eq!(underlined(&text, &d), "4");
}

#[test]
fn wide_gap_names_the_missing_range() {
    let text = format!("{}{}", entry(1), entry(5));
    assert_one_error(
        &text,
        "7:11",
        &[
            "versions 2 to 4 are missing",
            "after version 1 (line 2) comes version 5",
        ],
    );
}

#[test]
fn date_style_version_is_reported_quickly() {
    // Timestamps as versions are common elsewhere; the gap they leave must
    // not be enumerated one version at a time (that took seconds, and
    // u32::MAX would have exhausted memory).
    let started = std::time::Instant::now();
    let text = entry(i64::from(u32::MAX));
    assert_one_error(
        &text,
        "2:11",
        &[
            "versions 1 to 4294967294 are missing",
            "number this migration 1",
        ],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn duplicate_names_both_lines() {
    let text = format!("{}{}{}", entry(1), entry(2), entry(2));
    let d = assert_one_error(
        &text,
        "12:11",
        &[
            "version 2 is used twice, here and at line 7",
            "give this one version 3",
        ],
    );
    assert_eq!(underlined(&text, &d), "2");
}

#[test]
fn out_of_order_names_both_lines() {
    let text = format!("{}{}{}", entry(1), entry(3), entry(2));
    let d = assert_one_error(
        &text,
        "12:11",
        &[
            "version 2 is listed after version 3 (line 7)",
            "list migrations in version order",
            "before version 3",
        ],
    );
    assert_eq!(underlined(&text, &d), "2");
}

#[test]
fn negative_version() {
    let text = entry(-1);
    let d = assert_one_error(
        &text,
        "2:11",
        &["version -1 is out of range", "this one should be 1"],
    );
    assert_eq!(underlined(&text, &d), "-1");
}

#[test]
fn zero_version() {
    let text = format!("{}{}", entry(1), entry(0));
    assert_one_error(
        &text,
        "7:11",
        &["version 0 is out of range", "this one should be 2"],
    );
}

#[test]
fn version_beyond_u32_is_out_of_range() {
    let text = format!("{}{}", entry(1), entry(i64::from(u32::MAX) + 1));
    assert_one_error(
        &text,
        "7:11",
        &["version 4294967296 is out of range", "this one should be 2"],
    );
}

#[test]
fn out_of_range_version_does_not_derail_the_next_ones() {
    // It used to become "the previous version": the next entry was then
    // reported as out of order, and a second i64::MAX overflowed `+ 1`.
    let text = format!("{}{}{}", entry(1), entry(i64::MAX), entry(i64::MAX));
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_diagnostic(&d[0], "7:11", &["out of range", "should be 2"]);
    assert_diagnostic(&d[1], "12:11", &["out of range", "should be 2"]);

    let text = format!("{}{}{}", entry(1), entry(99_999_999_999), entry(2));
    let d = assert_one_error(&text, "7:11", &["99999999999 is out of range"]);
    assert!(!d.message.contains("listed after"), "{}", d.message);
}

// ------------------------------------------------------------ description

#[test]
fn empty_description() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"\"",
        "sql = \"SELECT 1\"",
    ]);
    let d = assert_one_error(
        &text,
        "3:15",
        &[
            "the description of version 1 is empty",
            "say what the migration does",
        ],
    );
    assert_eq!(underlined(&text, &d), "\"\"");
}

#[test]
fn whitespace_only_description() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \" \\t \"",
        "sql = \"SELECT 1\"",
    ]);
    assert_one_error(&text, "3:15", &["the description of version 1 is empty"]);
}

// -------------------------------------------------------------------- sql

#[test]
fn empty_sql_string() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = \"\"",
    ]);
    assert_one_error(
        &text,
        "4:7",
        &[
            "the sql of version 1 is empty",
            "write the SQL the migration runs, or a comment saying why it does nothing",
        ],
    );
}

#[test]
fn comment_only_sql_string() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = \"\"\"",
        "  -- TODO",
        "  /* later */ ;",
        "\"\"\"",
    ]);
    // A deliberate no-op: kept as written, checksummed like any other.
    let m = ok(&text);
    assert_eq!(
        m[0].sql().collect::<Vec<_>>(),
        ["  -- TODO\n  /* later */ ;\n"]
    );
}

#[test]
fn semicolons_and_whitespace_only_is_empty() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = \" ;\\n; \"",
    ]);
    assert_one_error(&text, "4:7", &["the sql of version 1 is empty"]);
}

#[test]
fn the_placeholder_migrate_new_wrote_is_refused_in_every_form() {
    let placeholder = migrate_core::manifest::PLACEHOLDER;
    for sql in [
        format!("sql = \"{placeholder}\""),
        format!("sql = [\"CREATE TABLE a (id INTEGER)\", \"{placeholder}\"]"),
    ] {
        let text = toml(&["[[migration]]", "version = 1", "description = \"x\"", &sql]);
        let d = errors(&text);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(
            d[0].message,
            format!(
                "version 1 still holds the placeholder `migrate new` wrote ({placeholder}): \
                 replace it with the SQL of this migration"
            )
        );
    }
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql_file = \"a.sql\"",
    ]);
    let d = migrate_core::manifest::parse_with(&text, &mut |_| {
        Ok(format!("-- TODO\n{placeholder};\n"))
    })
    .expect_err("a placeholder in an sql_file is refused too");
    assert_diagnostic(
        &d[0],
        "4:12",
        &["version 1 still holds the placeholder `migrate new` wrote"],
    );
}

#[test]
fn empty_sql_list() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = []",
    ]);
    let d = assert_one_error(
        &text,
        "4:7",
        &[
            "the sql of version 1 is an empty list",
            "give at least one statement",
        ],
    );
    assert_eq!(underlined(&text, &d), "[]");
}

#[test]
fn whitespace_only_statement_in_a_list() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = [",
        "    \"CREATE TABLE a (id INTEGER)\",",
        "    \"   \",",
        "]",
    ]);
    let d = assert_one_error(
        &text,
        "6:5",
        &[
            "statement 2 of version 1 is empty",
            "remove it or write the statement",
        ],
    );
    assert_eq!(underlined(&text, &d), "\"   \"");
}

#[test]
fn comment_only_statement_in_a_list() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"x\"",
        "sql = [\"-- just a note\", \"CREATE TABLE a (id INTEGER)\"]",
    ]);
    let m = ok(&text);
    assert_eq!(m[0].sql().len(), 2);
}

// --------------------------------------------------------------- database

#[test]
fn empty_database() {
    let text = format!("database = \"\"\n\n{}", entry(1));
    let d = assert_one_error(
        &text,
        "1:12",
        &[
            "`database` is empty",
            "path of the SQLite file",
            "or remove the key",
        ],
    );
    assert_eq!(underlined(&text, &d), "\"\"");
    assert_one_error("database = \"  \"\n", "1:12", &["`database` is empty"]);
}

// ------------------------------------------------------ several at a time

#[test]
fn several_problems_are_all_reported_in_file_order() {
    let text = toml(&[
        "database = \" \"",           // 1
        "",                           // 2
        "[[migration]]",              // 3
        "version = 2",                // 4
        "description = \"\"",         // 5
        "sql = []",                   // 6
        "",                           // 7
        "[[migration]]",              // 8
        "version = 2",                // 9
        "description = \"second\"",   // 10
        "sql = [\"SELECT 1\", \"\"]", // 11
        "",                           // 12
        "[[migration]]",              // 13
        "version = 3",                // 14
        "description = \"third\"",    // 15
        "sql = \"  \"",               // 16
    ]);
    let d = errors(&text);
    let at: Vec<String> = d.iter().map(|d| d.location.to_string()).collect();
    assert_eq!(
        at,
        ["1:12", "4:11", "5:15", "6:7", "9:11", "11:20", "16:7"],
        "{d:#?}"
    );
    assert_diagnostic(&d[0], "1:12", &["`database` is empty"]);
    assert_diagnostic(&d[1], "4:11", &["version 1 is missing"]);
    assert_diagnostic(&d[2], "5:15", &["description of version 2 is empty"]);
    assert_diagnostic(&d[3], "6:7", &["sql of version 2 is an empty list"]);
    assert_diagnostic(
        &d[4],
        "9:11",
        &["version 2 is used twice, here and at line 4"],
    );
    assert_diagnostic(&d[5], "11:20", &["statement 2 of version 2 is empty"]);
    assert_diagnostic(&d[6], "16:7", &["sql of version 3 is empty"]);
}

#[test]
fn run_time_error_lists_path_line_col_for_each_problem() {
    let text = format!("{}{}{}", entry(1), entry(3), entry(3));
    let err = Migrations::from_toml(&text, "db/migrations.toml").unwrap_err();
    assert_eq!(err.diagnostics.len(), 2);
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0].starts_with("db/migrations.toml:7:11: version 2 is missing"),
        "{shown}"
    );
    assert!(
        lines[1].starts_with("db/migrations.toml:12:11: version 3 is used twice"),
        "{shown}"
    );
}

// ---------------------------------------------------------- valid manifests

#[test]
fn the_repository_migrations_parse() {
    let manifest = parse(REPO_MANIFEST).unwrap_or_else(|d| panic!("{d:#?}"));
    let m = &manifest.migrations;
    assert_eq!(m.len(), 15);
    let versions: Vec<u32> = m.iter().map(|m| m.version()).collect();
    assert_eq!(versions, (1..=15).collect::<Vec<_>>());
    assert_eq!(m.latest_version(), 15);
    assert_eq!(m.default_database(), Some("chatbot.db"));
    assert_eq!(m[0].description(), "Create users table");
    assert!(m.iter().all(|m| m.is_transactional()));
    assert!(m.iter().all(|m| m.sql().all(|s| !is_empty(s))));
    // Version 2 lists two statements; version 13 is a single string.
    assert_eq!(m[1].sql().len(), 2);
    assert_eq!(
        m[12].sql().collect::<Vec<_>>(),
        ["ALTER TABLE users ADD COLUMN email_verified BOOLEAN DEFAULT 0"]
    );

    // Each location is that entry's `[[migration]]` header.
    let headers: Vec<usize> = REPO_MANIFEST
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[migration]]")
        .map(|(i, _)| i + 1)
        .collect();
    let lines: Vec<usize> = manifest.locations.iter().map(|l| l.line).collect();
    assert_eq!(lines, headers);
    assert!(manifest.locations.iter().all(|l| l.column == 1));
}

#[test]
fn sql_as_one_string_is_one_item() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"Two tables\"",
        "sql = \"CREATE TABLE a (id INTEGER); CREATE TABLE b (id INTEGER)\"",
    ]);
    let m = ok(&text);
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].sql().collect::<Vec<_>>(),
        ["CREATE TABLE a (id INTEGER); CREATE TABLE b (id INTEGER)"]
    );
    assert_eq!(m[0].description(), "Two tables");
    assert_eq!(m.default_database(), None);
}

#[test]
fn transaction_flag() {
    let text = format!(
        "{}{}",
        toml(&[
            "[[migration]]",
            "version = 1",
            "description = \"Compact\"",
            "sql = \"VACUUM\"",
            "transaction = false",
            "",
            "[[migration]]",
            "version = 2",
            "description = \"Explicitly transactional\"",
            "sql = \"CREATE TABLE a (id INTEGER)\"",
            "transaction = true",
            "",
        ]),
        entry(3)
    );
    let m = ok(&text);
    let flags: Vec<bool> = m.iter().map(|m| m.is_transactional()).collect();
    assert_eq!(flags, [false, true, true]);
}

#[test]
fn empty_file_has_no_migrations() {
    for text in ["", "\n", "# nothing yet\n", "database = \"app.db\"\n"] {
        let m = ok(text);
        assert_eq!(m.len(), 0, "{text:?}");
        assert_eq!(m.latest_version(), 0);
    }
    assert_eq!(
        ok("database = \"app.db\"\n").default_database(),
        Some("app.db")
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"Ajouter la colonne « été »\"",
        "sql = [\"CREATE TABLE é (id INTEGER)\", \"\"]",
    ]);
    assert_one_error(&text, "4:39", &["statement 2 of version 1 is empty"]);
}

// ------------------------------------------------- parse never panics

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Calls `parse` on `text` and checks what it returns is coherent: a
/// successful parse satisfies the versions invariant, and every diagnostic
/// points inside the text, at the location of its span, in file order.
fn check(text: &str, what: &dyn Fn() -> String) {
    let result = std::panic::catch_unwind(|| parse(text));
    let result = result.unwrap_or_else(|_| panic!("parse panicked on {}:\n{text}", what()));
    match result {
        Ok(manifest) => {
            let m = &manifest.migrations;
            for (i, migration) in m.iter().enumerate() {
                assert_eq!(migration.version() as usize, i + 1, "{}", what());
                assert!(!migration.description().trim().is_empty(), "{}", what());
                assert!(migration.sql().len() > 0, "{}", what());
            }
            assert_eq!(manifest.locations.len(), m.len(), "{}", what());
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "{}", what());
            let mut previous = 0;
            for d in &diagnostics {
                assert!(d.span.start <= text.len(), "{}: {d:?}", what());
                assert_eq!(
                    d.location,
                    Location::of_offset(text, d.span.start),
                    "{}",
                    what()
                );
                assert!(d.span.start >= previous, "unsorted: {}", what());
                previous = d.span.start;
                assert!(!d.message.is_empty(), "{}", what());
            }
        }
    }
}

#[test]
fn parse_never_panics_on_mutations_of_the_repository_manifest() {
    let base = REPO_MANIFEST;
    let lines: Vec<&str> = base.lines().collect();
    let join = |v: &[&str]| v.join("\n");
    let mut count = 0usize;

    // Every line deleted, duplicated, and swapped with the next one.
    for i in 0..lines.len() {
        let mut v = lines.clone();
        v.remove(i);
        check(&join(&v), &|| format!("line {} deleted", i + 1));
        let mut v = lines.clone();
        v.insert(i, lines[i]);
        check(&join(&v), &|| format!("line {} duplicated", i + 1));
        if i + 1 < lines.len() {
            let mut v = lines.clone();
            v.swap(i, i + 1);
            check(&join(&v), &|| {
                format!("lines {} and {} swapped", i + 1, i + 2)
            });
        }
        count += 3;
    }

    // Truncated at every character boundary.
    for (cut, _) in base.char_indices() {
        check(&base[..cut], &|| format!("truncated at byte {cut}"));
        count += 1;
    }

    // Every version replaced by extreme values.
    for extreme in [
        "0",
        "-1",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "1e3",
        "\"1\"",
        "[]",
        "{}",
    ] {
        for i in 0..lines.len() {
            if lines[i].starts_with("version = ") {
                let mut v = lines.clone();
                let replaced = format!("version = {extreme}");
                v[i] = &replaced;
                check(&join(&v), &|| format!("line {} set to {replaced}", i + 1));
                count += 1;
            }
        }
        let all = base
            .lines()
            .map(|l| {
                if l.starts_with("version = ") {
                    format!("version = {extreme}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        check(&all, &|| format!("every version set to {extreme}"));
    }

    // Random insertions and overwrites, of TOML-significant characters,
    // digits and arbitrary bytes (made UTF-8 the lossy way).
    const ALPHABET: &[u8] = b"[]{}=\"'#\n\r\t ,.-+_0123456789abcdefsqlversion\\";
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let mut bytes = base.as_bytes().to_vec();
        let edits = 1 + rng.below(4);
        for _ in 0..edits {
            let at = rng.below(bytes.len() + 1);
            let len = 1 + rng.below(6);
            let insert: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(4) == 0 {
                        rng.next() as u8
                    } else {
                        ALPHABET[rng.below(ALPHABET.len())]
                    }
                })
                .collect();
            if rng.below(2) == 0 {
                bytes.splice(at..at, insert);
            } else {
                let end = (at + len).min(bytes.len());
                bytes.splice(at..end, insert);
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        check(&text, &|| format!("random round {round}"));
        count += 1;
    }

    assert!(count > 9_000, "only {count} inputs tried");
}

#[test]
fn down_is_read_like_sql_and_checked_like_it() {
    let text = toml(&[
        "[[migration]]",
        "version = 1",
        "description = \"Create users table\"",
        "sql = \"CREATE TABLE users (id TEXT)\"",
        "down = [\"DROP TABLE users\"]",
        "",
        "[[migration]]",
        "version = 2",
        "description = \"Index users\"",
        "sql = \"CREATE INDEX idx_users_id ON users(id)\"",
    ]);
    let manifest = parse(&text).unwrap();
    let down: Vec<&str> = manifest.migrations[0].down().unwrap().collect();
    assert_eq!(down, ["DROP TABLE users"]);
    assert!(!manifest.migrations[1].is_reversible());
    assert_eq!(manifest.down_origins[0].len(), 1);
    assert!(manifest.down_origins[1].is_empty());

    let empty = text.replace("down = [\"DROP TABLE users\"]", "down = \"   \"");
    assert_one_error(
        &empty,
        "5:8",
        &[
            "the down of version 1 is empty",
            "the SQL that takes the database back to the previous version",
        ],
    );
    let empty_item = text.replace(
        "down = [\"DROP TABLE users\"]",
        "down = [\"DROP TABLE users\", \" \"]",
    );
    assert_one_error(
        &empty_item,
        "5:29",
        &["down statement 2 of version 1 is empty"],
    );
    let both = text.replace(
        "down = [\"DROP TABLE users\"]",
        "down = \"DROP TABLE users\"\ndown_file = \"down/0001.sql\"",
    );
    assert_one_error(
        &both,
        "6:13",
        &["version 1 has both `down` and `down_file`: keep one of them"],
    );
    let placeholder = text.replace(
        "down = [\"DROP TABLE users\"]",
        &format!("down = \"{}\"", migrate_core::manifest::PLACEHOLDER),
    );
    assert_one_error(&placeholder, "5:8", &["still holds the placeholder"]);
}
