//! Applies the benchmark workload once, for profiling under
//! `valgrind --tool=callgrind`, which counts instructions and so compares
//! the runner with the plain-rusqlite floors reliably on a noisy machine:
//!
//! ```sh
//! cargo build --release -p migrate-toml-core --example apply_profile
//! valgrind --tool=callgrind --toggle-collect='apply_profile::run' \
//!     target/release/examples/apply_profile runner 1000
//! ```
//!
//! (`--toggle-collect` counts only the timed part, not parsing and proving
//! the workload; build with `CARGO_PROFILE_RELEASE_STRIP=false
//! CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` for function names.)
//!
//! Modes: `runner` (one transaction per migration), `single`
//! (`single_transaction`), `floor` (`BEGIN; ...; COMMIT` per migration, no
//! bookkeeping), `floor-row` (the same plus a history row of the runner's
//! shape in each transaction), `floor1` (everything in one transaction),
//! `check` (10,000 start-up checks on the database brought up to date first),
//! `fresh` (the fresh path: the empty database created from what the proof
//! recorded, in one transaction), `helper` (1,000 calls, or $CALLS, of the
//! test helper `Migrations::in_memory`, after one that builds its
//! template). The database is
//! `:memory:` unless a third argument names a file (which must not exist).
//! It prints how long the run took.

#[path = "../benches/workload/mod.rs"]
mod workload;

use migrate_core::rusqlite::Connection;
use migrate_core::{Migrations, Migrator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "runner".to_owned());
    let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let migrations = Migrations::from_toml(&workload::migrations_toml(n), "profile")?;
    let mut conn = match args.next() {
        Some(path) => Connection::open(path)?,
        None => Connection::open_in_memory()?,
    };
    if mode == "check" {
        Migrator::new(&migrations).apply(&mut conn)?;
    }
    if mode == "helper" {
        // The template, built once per process, is not what is measured.
        drop(migrations.in_memory()?);
    }
    let started = std::time::Instant::now();
    run(&mode, &migrations, &mut conn)?;
    eprintln!("{mode} {n}: {:?}", started.elapsed());
    Ok(())
}

/// What is profiled.
#[inline(never)]
fn run(
    mode: &str,
    migrations: &Migrations,
    conn: &mut Connection,
) -> Result<(), Box<dyn std::error::Error>> {
    match mode {
        "runner" => {
            Migrator::new(migrations).apply(conn)?;
        }
        "single" => {
            Migrator::new(migrations)
                .single_transaction(true)
                .apply(conn)?;
        }
        "fresh" => {
            let report = migrations.migrator().apply(conn)?;
            assert!(
                matches!(
                    report.path,
                    migrate_core::ApplyPath::Fresh { then: None, .. }
                ),
                "{}",
                report.path
            );
        }
        "helper" => {
            let reps: u32 = std::env::var("CALLS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(1000);
            for _ in 0..reps {
                drop(migrations.in_memory()?);
            }
        }
        "check" => {
            // The start-up check, 10,000 times (or $CHECKS), on a database
            // up to date.
            let reps: u32 = std::env::var("CHECKS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(10_000);
            for _ in 0..reps {
                Migrator::new(migrations).apply(conn)?;
            }
        }
        "floor-row" => {
            // The floor plus a history row like the runner's in each
            // migration's transaction: what storing the row costs by itself.
            conn.execute_batch(
                "CREATE TABLE history (version INTEGER PRIMARY KEY, description TEXT,
                     applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, checksum TEXT,
                     chain TEXT, duration_ms REAL, applied_by TEXT)",
            )?;
            let digest = "0123456789abcdef".repeat(4);
            for m in migrations.iter() {
                conn.execute_batch("BEGIN")?;
                for sql in m.sql() {
                    conn.execute_batch(sql)?;
                }
                conn.prepare_cached(
                    "INSERT INTO history (version, description, checksum, chain, \
                     duration_ms, applied_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(migrate_core::rusqlite::params![
                    m.version(),
                    m.description(),
                    digest,
                    digest,
                    0.5,
                    "migrate-core 0.1.0"
                ])?;
                conn.execute_batch("COMMIT")?;
            }
        }
        "floor" | "floor1" => {
            let per_migration = mode == "floor";
            if !per_migration {
                conn.execute_batch("BEGIN")?;
            }
            for m in migrations.iter() {
                if per_migration {
                    conn.execute_batch("BEGIN")?;
                }
                for sql in m.sql() {
                    conn.execute_batch(sql)?;
                }
                if per_migration {
                    conn.execute_batch("COMMIT")?;
                }
            }
            if !per_migration {
                conn.execute_batch("COMMIT")?;
            }
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    }
    Ok(())
}
