//! The files of a fleet: the matches of each `--databases` glob, then the
//! lines of `--databases-from`, read lazily so that a fleet of any size is
//! never held in memory. What can be checked before anything runs is: a
//! pattern that is not a glob, one that matches nothing, a list that cannot
//! be read or holds no path; each is a one-line usage error.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::cli::Failure;

/// A problem met while reading the paths after the run began (a list
/// that stops being readable): reported with the summary, and the run
/// exits 1.
pub(crate) type Problems = Rc<Cell<Option<String>>>;

/// The paths, in order: each pattern's matches (sorted, as glob yields
/// them), then the list's lines (blank lines skipped, paths relative to the
/// current directory).
pub(crate) fn paths(
    patterns: &[String],
    from: Option<&Path>,
) -> Result<(Box<dyn Iterator<Item = PathBuf>>, Problems), Failure> {
    let problems: Problems = Rc::new(Cell::new(None));
    let mut all: Box<dyn Iterator<Item = PathBuf>> = Box::new(std::iter::empty());
    for pattern in patterns {
        let matches = glob::glob(pattern).map_err(|e| {
            Failure::Usage(format!(
                "--databases {pattern}: not a valid pattern: {e}; nothing was changed"
            ))
        })?;
        // A file that cannot be read is still the user's database: it is
        // run, and fails with its own error.
        let mut matches = matches
            .map(|m| m.unwrap_or_else(|e| e.path().to_path_buf()))
            .peekable();
        if matches.peek().is_none() {
            return Err(Failure::Usage(format!(
                "--databases {pattern}: no file matches; check the pattern (quoted, relative to \
                 the current directory); nothing was changed"
            )));
        }
        all = Box::new(all.chain(matches));
    }
    if let Some(file) = from {
        let mut lines = listed(file, problems.clone())?.peekable();
        if lines.peek().is_none() {
            return Err(Failure::Usage(format!(
                "--databases-from {}: lists no database (one path per line); nothing was changed",
                file.display()
            )));
        }
        all = Box::new(all.chain(lines));
    }
    Ok((all, problems))
}

/// The non-blank lines of `file` (`-`: standard input) as paths.
fn listed(
    file: &Path,
    problems: Problems,
) -> Result<impl Iterator<Item = PathBuf> + use<>, Failure> {
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let opened = File::open(file).map_err(|e| {
            Failure::Usage(format!(
                "--databases-from {}: cannot read it: {e}; nothing was changed",
                file.display()
            ))
        })?;
        Box::new(BufReader::new(opened))
    };
    let name = file.display().to_string();
    Ok(reader
        .lines()
        .map_while(move |line| {
            line.map_err(|e| {
                problems.set(Some(format!(
                    "--databases-from {name}: stopped reading it: {e}; the databases after \
                     that line were not run"
                )));
            })
            .ok()
        })
        .filter_map(|line| {
            let line = line.trim_end_matches('\r');
            (!line.trim().is_empty()).then(|| PathBuf::from(line))
        }))
}
