//! Worker process of the comparison harness: rusqlite_migration 2.6 on
//! rusqlite 0.40, linked against the harness's own libsqlite3.a. Speaks the
//! protocol of `shared/runner.rs` on standard input and output; started by
//! the harness.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations, SchemaVersion};

#[path = "../../../shared/runner.rs"]
#[allow(dead_code)]
mod runner;

use runner::{Engine, Workload, serve_worker};

#[derive(Default)]
struct RusqliteMigrationEngine {
    migrations: Option<Migrations<'static>>,
}

impl RusqliteMigrationEngine {
    fn migrations(&self) -> Result<&Migrations<'static>, String> {
        self.migrations
            .as_ref()
            .ok_or_else(|| "no workload loaded".to_owned())
    }
}

impl Engine for RusqliteMigrationEngine {
    fn load(&mut self, workload: &Workload) {
        // `M::up` borrows its SQL for the list's lifetime: the texts are
        // leaked, once per N, outside the timing.
        let ms: Vec<M<'static>> = workload
            .iter()
            .map(|items| M::up(Box::leak(runner::joined(items).into_boxed_str())))
            .collect();
        self.migrations = Some(Migrations::new(ms));
    }

    fn apply(&mut self, name: &str, conn: &mut Connection) -> Result<(), String> {
        match name {
            "rusqlite_migration" => self
                .migrations()?
                .to_latest(conn)
                .map_err(|e| e.to_string()),
            other => Err(format!("no contender {other:?} in this process")),
        }
    }

    fn check_database(&self, check: &str) -> Option<&'static str> {
        match check {
            "rusqlite_migration:to_latest" | "rusqlite_migration:current_version" => {
                Some("rusqlite_migration")
            }
            _ => None,
        }
    }

    fn check(&mut self, name: &str, conn: &mut Connection) -> Result<Option<i64>, String> {
        let migrations = self.migrations()?;
        match name {
            "rusqlite_migration:to_latest" => migrations
                .to_latest(conn)
                .map(|()| None)
                .map_err(|e| e.to_string()),
            "rusqlite_migration:current_version" => {
                match migrations
                    .current_version(conn)
                    .map_err(|e| e.to_string())?
                {
                    SchemaVersion::NoneSet => Ok(Some(0)),
                    SchemaVersion::Inside(v) => Ok(Some(v.get() as i64)),
                    SchemaVersion::Outside(v) => Err(format!("version {v} outside the list")),
                }
            }
            other => Err(format!("no check {other:?} in this process")),
        }
    }

    fn floor_database(&self) -> &'static str {
        "rusqlite_migration"
    }
}

fn main() {
    serve_worker(
        RusqliteMigrationEngine::default(),
        "compare-rusqlite-migration",
    );
}
