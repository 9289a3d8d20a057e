//! What a fleet run shows: a progress bar with counts on a terminal, then a
//! summary (databases at each version, the failed ones with their one-line
//! error, the skipped ones, the drifted ones for `check`); or, with
//! `--json`, one document streamed as the results come, with a result per
//! database and the summary last. The summary lists at most [`SHOWN`]
//! databases of each kind and counts the others, so it stays small
//! whatever the fleet's size; the JSON document has every one.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use migrate_core::fleet::{Outcome, Stopped, Summary};
use serde_json::{Value, json};

use crate::cli::Failure;
use crate::output;

/// How many databases of each kind the human summary names.
pub(crate) const SHOWN: usize = 20;

/// One database's result: its exit code, the JSON document its command
/// printed (or would have), and its error.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) code: u8,
    doc: Option<Value>,
    error: Option<Value>,
}

impl Done {
    pub(crate) fn new(
        result: Result<u8, Failure>,
        doc: Option<Value>,
        backup: Option<String>,
    ) -> Done {
        match result {
            Ok(code) => Done {
                code,
                doc,
                error: None,
            },
            Err(failure) => {
                let mut error = json!({
                    "code": failure.code(),
                    "message": one_line(&failure.to_string()),
                    "exit_code": failure.exit_code(),
                });
                if let Failure::Runner(e) = &failure
                    && let Some(v) = e.version()
                {
                    error["version"] = json!(v);
                }
                if let Some(backup) = backup {
                    error["backup"] = json!(backup);
                }
                Done {
                    code: failure.exit_code(),
                    doc,
                    error: Some(error),
                }
            }
        }
    }

    /// `succeeded`, `failed`, `drifted` (`check` found the database
    /// differs from this build) or `would_fail` (a trial run).
    fn outcome(&self) -> &'static str {
        match (self.code, &self.error, &self.doc) {
            (0, None, _) => "succeeded",
            (3, None, Some(_)) => "drifted",
            (1, None, Some(_)) => "would_fail",
            _ => "failed",
        }
    }

    /// The version the database is at, from its document.
    fn version(&self) -> Option<i64> {
        let doc = self.doc.as_ref()?;
        doc.get("version").and_then(Value::as_i64).or_else(|| {
            // `history`: the newest applied row.
            doc.get("applied")?
                .as_array()?
                .iter()
                .filter_map(|row| row.get("version")?.as_i64())
                .max()
                .or(Some(0))
        })
    }

    /// What the summary says after the database's path.
    fn detail(&self) -> String {
        if let Some(error) = &self.error {
            return error["message"].as_str().unwrap_or_default().to_owned();
        }
        let doc = self.doc.as_ref().unwrap_or(&Value::Null);
        let len = |key: &str| doc.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        match self.outcome() {
            "drifted" => format!(
                "{} pending, {} problem(s), {} schema difference(s)",
                len("pending"),
                len("problems"),
                len("drift")
            ),
            "would_fail" => doc
                .as_object()
                .into_iter()
                .flat_map(|o| o.values())
                .filter_map(Value::as_array)
                .flatten()
                .find(|step| step["outcome"] == "would_fail")
                .map_or_else(String::new, |step| {
                    format!(
                        "version {} would fail: {}",
                        step["version"],
                        step["error"]["message"].as_str().unwrap_or_default()
                    )
                }),
            _ => String::new(),
        }
    }
}

/// A multi-line message (a list of problems) on one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The first [`SHOWN`] databases of a kind, and how many more.
#[derive(Debug, Default)]
struct Listed {
    shown: Vec<String>,
    count: u64,
}

impl Listed {
    fn add(&mut self, line: impl FnOnce() -> String) {
        self.count += 1;
        if self.shown.len() < SHOWN {
            self.shown.push(line());
        }
    }

    fn print(&self, out: &mut String, title: &str, why: &str) {
        if self.count == 0 {
            return;
        }
        out.push_str(&format!("{title} ({}){why}:\n", self.count));
        for line in &self.shown {
            out.push_str(&format!("  {line}\n"));
        }
        let more = self.count - self.shown.len() as u64;
        if more > 0 {
            out.push_str(&format!("  ... and {more} more\n"));
        }
    }
}

/// The exit code of a fleet: the worst of its databases', worst first
/// 1 (a migration, a down or a database failed: a person must look), 3
/// (disagrees with this build), 2 (cannot be done as asked), 4 (locked past
/// the timeout: running again may be enough), 0. A skipped database adds
/// nothing: it was skipped because another failed, which already counts.
pub(crate) fn worst(a: u8, b: u8) -> u8 {
    let rank = |code: u8| match code {
        0 => 0,
        4 => 1,
        2 => 2,
        3 => 3,
        _ => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The report of a run, fed with each outcome as it comes.
pub(crate) struct Report {
    command: &'static str,
    json: bool,
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    succeeded: u64,
    versions: BTreeMap<i64, u64>,
    failed: Listed,
    drifted: Listed,
    would_fail: Listed,
    skipped: Listed,
    code: u8,
}

impl Report {
    pub(crate) fn start(command: &'static str) -> Report {
        let mode = output::mode();
        let bar = (!mode.json && !mode.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {command} {pos} databases ({per_sec}) {msg} [{elapsed}]",
                )
                .map(|s| {
                    s.with_key(
                        "command",
                        move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(command);
                        },
                    )
                })
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        if mode.json {
            print(&format!("{{\"command\":{},\"databases\":[", json!(command)));
        }
        Report {
            command,
            json: mode.json,
            bar,
            total: 0,
            succeeded: 0,
            versions: BTreeMap::new(),
            failed: Listed::default(),
            drifted: Listed::default(),
            would_fail: Listed::default(),
            skipped: Listed::default(),
            code: 0,
        }
    }

    pub(crate) fn add(&mut self, outcome: Outcome<Done, Done>) {
        let (path, done) = match outcome {
            Outcome::Finished(path, Ok(done) | Err(done)) => (path, Some(done)),
            Outcome::Skipped(path) => (path, None),
        };
        self.total += 1;
        let shown = path.display().to_string();
        let entry = match &done {
            None => {
                self.skipped.add(|| shown.clone());
                json!({ "database": shown, "outcome": "skipped" })
            }
            Some(done) => {
                self.tally(&path, done);
                let mut entry = json!({
                    "database": shown,
                    "outcome": done.outcome(),
                    "exit_code": done.code,
                });
                if let Some(doc) = &done.doc {
                    entry["result"] = doc.clone();
                }
                if let Some(error) = &done.error {
                    entry["error"] = error.clone();
                }
                entry
            }
        };
        if self.json {
            let lead = if self.total == 1 { "\n" } else { ",\n" };
            print(&format!("{lead}{entry}"));
        }
        if let Some(bar) = &self.bar
            && done.is_some()
        {
            bar.inc(1);
            let bad = self.failed.count + self.drifted.count + self.would_fail.count;
            if bad > 0 {
                bar.set_message(format!("{bad} not ok"));
            }
        }
    }

    fn tally(&mut self, path: &std::path::Path, done: &Done) {
        self.code = worst(self.code, done.code);
        if let Some(v) = done.version()
            && done.error.is_none()
        {
            *self.versions.entry(v).or_default() += 1;
        }
        let line = || {
            let detail = done.detail();
            if detail.is_empty() {
                path.display().to_string()
            } else {
                format!("{}: {detail}", path.display())
            }
        };
        match done.outcome() {
            "succeeded" => self.succeeded += 1,
            "drifted" => self.drifted.add(line),
            "would_fail" => self.would_fail.add(line),
            _ => self
                .failed
                .add(|| format!("{} (exit {})", line(), done.code)),
        }
    }

    /// Prints the summary (or closes the JSON document); the exit code.
    pub(crate) fn finish(self, summary: &Summary, problem: Option<String>) -> u8 {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let code = if problem.is_some() {
            worst(self.code, 1)
        } else {
            self.code
        };
        let stopped = summary.stopped.map(|s| match s {
            Stopped::AfterFailure => "after_failure",
            Stopped::CanaryFailed => "canary_failed",
        });
        if self.json {
            let versions: serde_json::Map<String, Value> = self
                .versions
                .iter()
                .map(|(v, n)| (v.to_string(), json!(n)))
                .collect();
            let doc = json!({
                "databases": self.total,
                "succeeded": self.succeeded,
                "failed": self.failed.count,
                "drifted": self.drifted.count,
                "would_fail": self.would_fail.count,
                "skipped": self.skipped.count,
                "versions": versions,
                "stopped": stopped,
                "problem": problem,
                "exit_code": code,
            });
            print(&format!("\n],\"summary\":{doc}}}\n"));
            return code;
        }
        let mut out = String::new();
        let mut counts = vec![format!("{} succeeded", self.succeeded)];
        for (n, word) in [
            (self.failed.count, "failed"),
            (self.drifted.count, "drifted"),
            (self.would_fail.count, "would fail"),
            (self.skipped.count, "skipped"),
        ] {
            if n > 0 {
                counts.push(format!("{n} {word}"));
            }
        }
        out.push_str(&format!(
            "{} on {} database{}: {}\n",
            self.command,
            self.total,
            if self.total == 1 { "" } else { "s" },
            counts.join(", ")
        ));
        for (version, n) in self.versions.iter().rev() {
            out.push_str(&format!("  {n} at version {version}\n"));
        }
        self.failed.print(&mut out, "Failed", "");
        self.would_fail.print(&mut out, "Would fail", "");
        self.drifted
            .print(&mut out, "Drifted", ", differ from this build");
        let why = match summary.stopped {
            Some(Stopped::CanaryFailed) => ", not started because a canary failed",
            _ => ", not started after the first failure (--keep-going goes on)",
        };
        self.skipped.print(&mut out, "Skipped", why);
        print(&out);
        if let Some(problem) = problem {
            output::error(None, &problem);
        }
        code
    }
}

/// Writes to stdout; a closed pipe is not an error.
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_code_is_a_failure_then_a_disagreement_then_usage_then_busy() {
        let fold = |codes: &[u8]| codes.iter().fold(0, |a, b| worst(a, *b));
        assert_eq!(fold(&[0, 4, 0]), 4);
        assert_eq!(fold(&[4, 2, 4]), 2);
        assert_eq!(fold(&[2, 3, 4]), 3);
        assert_eq!(fold(&[3, 1, 4, 2]), 1);
        assert_eq!(fold(&[0, 0]), 0);
    }

    #[test]
    fn a_list_names_the_first_ones_and_counts_the_rest() {
        let mut listed = Listed::default();
        for i in 0..(SHOWN + 7) {
            listed.add(|| format!("db{i}"));
        }
        let mut out = String::new();
        listed.print(&mut out, "Failed", "");
        assert!(
            out.starts_with(&format!("Failed ({}):\n  db0\n", SHOWN + 7)),
            "{out}"
        );
        assert!(out.ends_with("  ... and 7 more\n"), "{out}");
        assert_eq!(out.lines().count(), SHOWN + 2);
    }
}
