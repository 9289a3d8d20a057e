//! Shell completions and the manual page, generated from the argument
//! definitions so they cannot fall out of date.
//!
//! Both are rendered into memory first and then written to stdout in one
//! go: the generators panic when their writer fails, and a failed write to
//! stdout (a full disk, a closed file) must be an error message, not a
//! panic. A reader that stops early (`migrate man | head`) is not an error.

use std::io::{ErrorKind, Write};

use crate::output;

/// The program name the completion script completes.
const BIN_NAME: &str = "migrate";

/// Prints the completion script for `shell`; the exit code.
pub fn completions(shell: clap_complete::Shell, mut cmd: clap::Command) -> u8 {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN_NAME, &mut script);
    print(
        &script,
        &format!("cannot write the {shell} completion script"),
    )
}

/// Prints the manual page (roff); the exit code.
pub fn man(cmd: clap::Command) -> u8 {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut page) {
        // Writing into a Vec does not fail; keep the message honest anyway.
        output::error(None, &format!("cannot render the manual page: {e}"));
        return 1;
    }
    print(&page, "cannot write the manual page")
}

/// Writes `bytes` to stdout: 0 when written (or when the reader went away),
/// 1 with a one-line error on stderr otherwise.
fn print(bytes: &[u8], what: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => 0,
        Err(e) => {
            output::error(None, &format!("{what}: {e}"));
            1
        }
    }
}
