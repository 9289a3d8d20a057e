//! What the `manifest` and `prove` targets share: how an input is read (the
//! text of a migrations.toml, then the `sql_file`s it reads, each after a
//! NUL byte), and where a diagnostic may point.

use std::io;

use migrate_core::manifest::{Diagnostic, Location, Manifest, parse, parse_with};

/// The text, then the files the n-th `sql_file` read gets, in order.
pub fn split(input: &str) -> (&str, Vec<&str>, bool) {
    let mut parts = input.split('\0');
    let text = parts.next().unwrap_or_default();
    (text, parts.collect(), input.contains('\0'))
}

/// `parse_with` over `files` when the input had any, else `parse` (which
/// reads no file).
pub fn parse_input(
    text: &str,
    files: &[&str],
    with_files: bool,
) -> Result<Manifest, Vec<Diagnostic>> {
    if with_files {
        parse_with(text, &mut reader(files))
    } else {
        parse(text)
    }
}

/// A reader that hands the n-th `sql_file` read the n-th of `files`, and
/// "not found" past the last.
pub fn reader<'a>(files: &'a [&'a str]) -> impl FnMut(&str) -> io::Result<String> + 'a {
    let mut next = 0;
    move |_path: &str| {
        let file = files.get(next).map(|f| (*f).to_owned());
        next += 1;
        file.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file (fuzzer)"))
    }
}

/// Whether `location` is a position of `text`: an existing line, and at
/// most one column past its last character.
pub fn is_valid(text: &str, location: Location) -> bool {
    offset_of(text, location).is_some()
}

/// The byte offset of a 1-based line and column (in characters).
pub fn offset_of(text: &str, location: Location) -> Option<usize> {
    let line_start = if location.line == 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(location.line.checked_sub(2)?)?
            .0
            + 1
    };
    let line = text[line_start..].split('\n').next()?;
    let column = location.column.checked_sub(1)?;
    if column == line.chars().count() {
        return Some(line_start + line.len());
    }
    line.char_indices().nth(column).map(|(i, _)| line_start + i)
}
