//! The `migrate` command-line interface, reusable by any crate that embeds
//! its own migrations:
//!
//! ```no_run
//! migrate_macros::embed_migrations!("migrations.toml");
//!
//! fn main() -> std::process::ExitCode {
//!     migrate_bin::run(&MIGRATIONS)
//! }
//! ```
#![deny(missing_docs)]

mod cli;
mod docs;
mod down;
mod edit;
mod fleet;
mod log;
mod losses;
mod new;
mod output;

pub use cli::{exit_code, run, run_from, run_from_with, run_with};
