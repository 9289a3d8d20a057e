//! Editing migrations.toml in place (`migrate new`, `migrate declare-losses`):
//! finding the file, reading it, checking the result, and replacing it by a
//! rename so that a reader never sees half of it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use migrate_core::Migrations;
use migrate_core::manifest::{self, Manifest};

/// Why an edit of migrations.toml wrote nothing.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The stable code of the JSON error document.
    pub(crate) code: &'static str,
    pub(crate) exit_code: u8,
    pub(crate) message: String,
}

impl Failure {
    /// A usage error (exit code 2): the arguments cannot be accepted.
    pub(crate) fn usage(message: String) -> Self {
        Failure {
            code: "usage",
            exit_code: 2,
            message,
        }
    }

    /// A file that cannot be found, read or written (exit code 1).
    pub(crate) fn path(message: String) -> Self {
        Failure {
            code: "path",
            exit_code: 1,
            message,
        }
    }

    /// A migrations.toml that is invalid, or would be (exit code 1).
    pub(crate) fn invalid(message: String) -> Self {
        Failure {
            code: "invalid_manifest",
            exit_code: 1,
            message,
        }
    }
}

/// The file to edit: `--manifest` (or `MIGRATE_MANIFEST`), else the file
/// this program was built from if it is still there, else
/// `./migrations.toml`. Also whether the user named it.
pub(crate) fn locate(manifest: Option<&PathBuf>, migrations: &Migrations) -> (PathBuf, bool) {
    if let Some(path) = manifest.filter(|p| !p.as_os_str().is_empty()) {
        return (path.clone(), true);
    }
    if let Some(source) = migrations.source_path() {
        let source = PathBuf::from(source);
        if source.is_file() {
            // The build's path may hold `..` (`crate/../migrations.toml`).
            return (fs::canonicalize(&source).unwrap_or(source), false);
        }
    }
    (Path::new(".").join("migrations.toml"), false)
}

/// What the original file held, and where it is.
pub(crate) struct Current {
    /// As shown to the user.
    pub(crate) shown: PathBuf,
    /// With symbolic links resolved: the file the rename replaces.
    pub(crate) real: PathBuf,
    /// The directory `sql_file` paths are relative to.
    pub(crate) dir: PathBuf,
    pub(crate) bytes: Vec<u8>,
    pub(crate) text: String,
}

pub(crate) fn read(
    shown: PathBuf,
    migrations: &Migrations,
    explicit: bool,
) -> Result<Current, Failure> {
    let bytes = match fs::read(&shown) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut message = format!("{}: no such file", shown.display());
            if explicit {
                message.push_str(": give the path of an existing migrations.toml");
            } else {
                if let Some(source) = migrations.source_path() {
                    message.push_str(&format!(
                        " (nor is there {source}, the migrations.toml this program was built from)"
                    ));
                }
                message.push_str(": pass --manifest PATH or set MIGRATE_MANIFEST");
            }
            return Err(Failure::path(message));
        }
        Err(e) => {
            return Err(Failure::path(format!(
                "{}: cannot read: {e}",
                shown.display()
            )));
        }
    };
    let text = String::from_utf8(bytes.clone()).map_err(|_| {
        Failure::invalid(format!(
            "{}: not UTF-8 text; migrations.toml must be UTF-8",
            shown.display()
        ))
    })?;
    let real = fs::canonicalize(&shown)
        .map_err(|e| Failure::path(format!("{}: cannot resolve: {e}", shown.display())))?;
    let dir = real
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok(Current {
        shown,
        real,
        dir,
        bytes,
        text,
    })
}

/// Validates `text` as migrations.toml in `dir`, with `extra` standing for
/// a file not written yet (its path as written, and its contents).
pub(crate) fn validate(
    text: &str,
    dir: &Path,
    extra: Option<(&str, &str)>,
) -> Result<Manifest, Vec<manifest::Diagnostic>> {
    let mut read = |path: &str| match extra {
        Some((name, contents)) if name == path => Ok(contents.to_owned()),
        _ => fs::read_to_string(dir.join(path)),
    };
    manifest::parse_checked(text, &mut read, manifest::Placeholders::Allow)
}

pub(crate) fn render(diagnostics: &[manifest::Diagnostic], shown: &Path) -> String {
    let shown = shown.display().to_string();
    diagnostics
        .iter()
        .map(|d| d.render(&shown))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces the file with `text` through a temporary file in the same
/// directory and a rename, keeping its permissions; refuses if the file
/// changed since it was read.
pub(crate) fn replace(current: &Current, text: &str) -> io::Result<()> {
    let name = current
        .real
        .file_name()
        .map_or_else(|| "migrations.toml".into(), |n| n.to_string_lossy());
    let temp = current
        .dir
        .join(format!(".{name}.migrate-edit.{}", std::process::id()));
    let result = (|| {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        out.write_all(text.as_bytes())?;
        if let Ok(meta) = fs::metadata(&current.real) {
            out.set_permissions(meta.permissions())?;
        }
        out.sync_all()?;
        drop(out);
        if fs::read(&current.real)? != current.bytes {
            return Err(io::Error::other(
                "it changed while it was being edited; run the command again",
            ));
        }
        fs::rename(&temp, &current.real)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    } else if let Ok(dir) = fs::File::open(&current.dir) {
        // Make the rename durable; not every platform can sync a directory.
        let _ = dir.sync_all();
    }
    result
}

/// Prints the lines of a successful edit, or its failure; the exit code.
pub(crate) fn finish(result: Result<Vec<String>, Failure>) -> u8 {
    match result {
        Ok(lines) => {
            for line in lines {
                crate::output::line(&line);
            }
            0
        }
        Err(failure) => {
            crate::output::failure(
                None,
                failure.code,
                failure.exit_code,
                &failure.message,
                None,
            );
            failure.exit_code
        }
    }
}
