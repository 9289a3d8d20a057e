//! `cargo fuzz run manifest`: `migrate_core::manifest::{parse, parse_with,
//! parse_checked}`, which run inside the compiler via `embed_migrations!`,
//! must never panic or hang, and must keep their promises about what they
//! accept and about where their diagnostics point.
//!
//! The input is the text of a `migrations.toml`, optionally followed by SQL
//! files, each after a NUL byte (which TOML never allows, so it cannot
//! collide with the manifest): `TOML \0 FILE1 \0 FILE2 ...`. The n-th
//! `sql_file` read gets FILEn; one past the last is "not found". Without a
//! NUL the text goes through `parse`, which reads no file at all.
//!
//! Invalid UTF-8 is decoded lossily, so every input is some text.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod input;
use migrate_core::manifest::{
    Diagnostic, Location, Manifest, PLACEHOLDER, Placeholders, SqlOrigin, parse_checked, parse_with,
};
use migrate_core::sql::is_empty;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, files, with_files) = input::split(&input);

    let first = input::parse_input(text, &files, with_files);
    match &first {
        Ok(manifest) => check_manifest(text, &files, with_files, manifest, Placeholders::Refuse),
        Err(diagnostics) => check_diagnostics(text, diagnostics),
    }

    // Parsing is a function of the text (and of what the files hold).
    let again = input::parse_input(text, &files, with_files);
    assert_eq!(describe(&first), describe(&again), "parsing twice differs");

    // `migrate new`'s rule allows the placeholder and nothing else: its
    // diagnostics are the build's, less those about the placeholder.
    let refuse = if with_files {
        first
    } else {
        parse_with(text, &mut input::reader(&files))
    };
    let allow = parse_checked(text, &mut input::reader(&files), Placeholders::Allow);
    match (&refuse, &allow) {
        (Ok(_), Ok(_)) => assert_eq!(describe(&refuse), describe(&allow)),
        (Ok(_), Err(d)) => panic!("Allow refuses what Refuse accepts: {d:#?}"),
        (Err(refused), Ok(manifest)) => {
            check_manifest(text, &files, with_files, manifest, Placeholders::Allow);
            assert!(
                refused.iter().all(is_placeholder),
                "Refuse fails on more than the placeholder: {refused:#?}"
            );
        }
        (Err(refused), Err(allowed)) => {
            check_diagnostics(text, allowed);
            let kept: Vec<&Diagnostic> = refused.iter().filter(|d| !is_placeholder(d)).collect();
            let allowed: Vec<&Diagnostic> = allowed.iter().collect();
            assert_eq!(
                kept, allowed,
                "Allow and Refuse differ beyond the placeholder"
            );
        }
    }
});

/// A `sql_file` reader whose n-th read gets `files[n]`, and "not found"
/// past the last.

fn describe(result: &Result<Manifest, Vec<Diagnostic>>) -> String {
    format!("{result:?}")
}

fn is_placeholder(d: &Diagnostic) -> bool {
    d.message.contains("still holds the placeholder")
}

/// What a successful parse promises.
fn check_manifest(
    text: &str,
    files: &[&str],
    with_files: bool,
    manifest: &Manifest,
    placeholders: Placeholders,
) {
    let list = &manifest.migrations;
    let n = list.len();
    assert_eq!(manifest.locations.len(), n);
    assert_eq!(manifest.origins.len(), n);
    assert_eq!(list.latest_version() as usize, n);
    if let Some(database) = list.default_database() {
        assert!(!database.trim().is_empty(), "empty database accepted");
    }

    let mut files_read = Vec::new();
    for (i, m) in list.iter().enumerate() {
        assert_eq!(m.version() as usize, i + 1, "versions are not 1..N");
        assert!(!m.description().trim().is_empty(), "empty description");
        assert!(std::ptr::eq(list.get(m.version()).unwrap(), m));

        let origins = &manifest.origins[i];
        assert_eq!(origins.len(), m.sql().len());
        assert!(m.sql().len() > 0, "version {} has no SQL", i + 1);
        for (sql, origin) in m.sql().zip(origins) {
            assert!(!is_empty(sql), "empty SQL accepted: {sql:?}");
            if placeholders == Placeholders::Refuse {
                assert!(!sql.contains(PLACEHOLDER), "placeholder accepted");
            }
            match origin {
                SqlOrigin::Toml { span, content } => {
                    assert!(span.start < span.end && span.end <= text.len());
                    assert!(text.is_char_boundary(span.start));
                    assert!(text.is_char_boundary(span.end));
                    // `content` promises that offsets inside the SQL map
                    // to the file's text exactly.
                    if let Some(start) = *content {
                        assert!(span.start < start && start + sql.len() < span.end);
                        assert_eq!(text.get(start..start + sql.len()), Some(sql));
                    }
                }
                SqlOrigin::File { path } => {
                    assert!(with_files, "sql_file read by `parse`");
                    let k = files_read.len();
                    assert_eq!(files.get(k).copied(), Some(sql), "not file {k}'s text");
                    files_read.push(path.clone());
                }
            }
        }
    }
    assert_eq!(manifest.sql_files, files_read);

    // Entries are listed in file order.
    for (i, location) in manifest.locations.iter().enumerate() {
        assert!(
            input::is_valid(text, *location),
            "entry {i} at {location} is outside the text"
        );
    }
    for pair in manifest.locations.windows(2) {
        assert!((pair[0].line, pair[0].column) < (pair[1].line, pair[1].column));
    }
}

/// What a failed parse promises.
fn check_diagnostics(text: &str, diagnostics: &[Diagnostic]) {
    assert!(!diagnostics.is_empty(), "an error without a diagnostic");
    for pair in diagnostics.windows(2) {
        assert!(
            pair[0].span.start <= pair[1].span.start,
            "not in file order"
        );
    }
    for d in diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= text.len(),
            "span {:?} outside a text of {} bytes: {d:?}",
            d.span,
            text.len()
        );
        assert!(
            text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end),
            "span {:?} cuts a character: {d:?}",
            d.span
        );
        assert_eq!(d.file, None, "parse blamed a file: {d:?}");
        assert_eq!(
            d.location,
            location_of(text, d.span.start),
            "location disagrees with the span: {d:?}"
        );
        assert!(input::is_valid(text, d.location));
        assert!(!d.message.trim().is_empty(), "empty message: {d:?}");
        let rendered = d.render("migrations.toml");
        let prefix = format!(
            "migrations.toml:{}:{}: ",
            d.location.line, d.location.column
        );
        assert!(rendered.starts_with(&prefix), "{rendered:?}");
    }
}

/// The 1-based line and column (in characters) of byte `offset`, computed
/// independently of `Location::of_offset`.
fn location_of(text: &str, offset: usize) -> Location {
    let (mut line, mut column) = (1, 1);
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    Location { line, column }
}
