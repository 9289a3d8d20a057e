//! Logging with `tracing`: `-v` to stderr (each migration and each SQL
//! statement with its duration), `--log-file` appended to a file, as the
//! original tool logged to `chatbot_log.log`.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Installs the subscriber the flags ask for (none without them). Errs with
/// a message when the log file cannot be opened.
pub fn init(verbose: u8, log_file: Option<&Path>) -> Result<(), String> {
    let (writer, level, ansi): (BoxMakeWriter, LevelFilter, bool) = match (verbose, log_file) {
        (0, None) => return Ok(()),
        (_, Some(path)) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
            (
                BoxMakeWriter::new(Mutex::new(file)),
                LevelFilter::DEBUG,
                false,
            )
        }
        (1, None) => (
            BoxMakeWriter::new(std::io::stderr),
            LevelFilter::DEBUG,
            true,
        ),
        (_, None) => (
            BoxMakeWriter::new(std::io::stderr),
            LevelFilter::TRACE,
            true,
        ),
    };
    // Another subscriber may be installed already (the CLI run twice in one
    // process, as in tests): keep it.
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(level)
        .with_ansi(
            ansi && std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .try_init();
    Ok(())
}
