//! Shell completions and the manual page, generated from the argument
//! definitions so they cannot fall out of date. (Stub.)

/// Prints the completion script for `shell`; the exit code.
pub fn completions(shell: clap_complete::Shell, cmd: clap::Command) -> u8 {
    let _ = (shell, cmd);
    1
}

/// Prints the manual page; the exit code.
pub fn man(cmd: clap::Command) -> u8 {
    let _ = cmd;
    1
}
