//! Worker process of the comparison harness: refinery 0.10 on rusqlite 0.41,
//! linked against the harness's own libsqlite3.a. Speaks the protocol of
//! `shared/runner.rs` on standard input and output; started by the harness.

use refinery::{Migration, Runner as Refinery};
use rusqlite::Connection;

#[path = "../../../shared/runner.rs"]
#[allow(dead_code)]
mod runner;

use runner::{Engine, Workload, serve_worker};

#[derive(Default)]
struct RefineryEngine {
    runner: Option<Refinery>,
    n: i64,
}

impl RefineryEngine {
    fn runner(&self) -> Result<&Refinery, String> {
        self.runner
            .as_ref()
            .ok_or_else(|| "no workload loaded".to_owned())
    }
}

impl Engine for RefineryEngine {
    fn load(&mut self, workload: &Workload) {
        // The same SQL, one `Migration::unapplied` per migration, and the
        // runner built once, outside the timing.
        let migrations: Vec<Migration> = workload
            .iter()
            .enumerate()
            .map(|(i, items)| {
                Migration::unapplied(&format!("V{}__m{}", i + 1, i + 1), &runner::joined(items))
                    .expect("a valid refinery migration name")
            })
            .collect();
        self.n = migrations.len() as i64;
        self.runner = Some(Refinery::new(&migrations));
    }

    fn apply(&mut self, name: &str, conn: &mut Connection) -> Result<(), String> {
        match name {
            "refinery" => {
                let report = self.runner()?.run(conn).map_err(|e| e.to_string())?;
                if report.applied_migrations().len() as i64 != self.n {
                    return Err(format!(
                        "applied {} migrations",
                        report.applied_migrations().len()
                    ));
                }
                Ok(())
            }
            other => Err(format!("no contender {other:?} in this process")),
        }
    }

    fn check_database(&self, check: &str) -> Option<&'static str> {
        match check {
            "refinery:run" | "refinery:get_last_applied_migration" => Some("refinery"),
            _ => None,
        }
    }

    fn check(&mut self, name: &str, conn: &mut Connection) -> Result<Option<i64>, String> {
        match name {
            "refinery:run" => {
                let report = self.runner()?.run(conn).map_err(|e| e.to_string())?;
                if !report.applied_migrations().is_empty() {
                    return Err("applied something at start-up".to_owned());
                }
                Ok(None)
            }
            "refinery:get_last_applied_migration" => self
                .runner()?
                .get_last_applied_migration(conn)
                .map(|m| m.map(|m| i64::from(m.version())))
                .map_err(|e| e.to_string()),
            other => Err(format!("no check {other:?} in this process")),
        }
    }

    fn floor_database(&self) -> &'static str {
        "refinery"
    }
}

fn main() {
    serve_worker(RefineryEngine::default(), "compare-refinery");
}
