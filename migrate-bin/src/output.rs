//! What the commands print. Results go to stdout, errors to stderr as one
//! line each; a closed pipe (`migrate history | head`) is not an error.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use migrate_core::{ApplyReport, Migrations, Progress, Status};

fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// `migrate: error: PATH: message` on stderr.
pub fn error(path: Option<&Path>, message: &str) {
    let line = match path {
        Some(p) => format!("migrate: error: {}: {message}\n", p.display()),
        None => format!("migrate: error: {message}\n"),
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

pub fn progress(event: Progress<'_>) {
    match event {
        Progress::Started(m) => out(&format!(
            "Applying version {}: {} ... ",
            m.version(),
            m.description()
        )),
        Progress::Finished(_, took) => out(&format!("done in {}\n", duration(took))),
    }
}

pub fn applied(path: &Path, report: &ApplyReport) {
    let n = report.applied.len();
    if n == 0 {
        out(&format!(
            "Nothing to apply: {} is at version {}.\n",
            path.display(),
            report.version
        ));
    } else {
        let total: Duration = report.applied.iter().map(|(_, d)| *d).sum();
        out(&format!(
            "Applied {n} migration{} in {}: {} is now at version {}.\n",
            if n == 1 { "" } else { "s" },
            duration(total),
            path.display(),
            report.version
        ));
    }
}

pub fn version(status: &Status) {
    out(&format!("{}\n", status.current_version));
}

pub fn status(path: &Path, exists: bool, migrations: &Migrations, status: &Status) {
    let mut s = String::new();
    s.push_str(&format!(
        "Database: {}{}\n",
        path.display(),
        if exists { "" } else { " (does not exist yet)" }
    ));
    s.push_str(&format!(
        "Version:  {} (this build has 1 to {})\n",
        status.current_version,
        migrations.latest_version()
    ));
    s.push_str(&format!("\nApplied ({}):\n", status.applied.len()));
    if status.applied.is_empty() {
        s.push_str("  none\n");
    }
    for a in &status.applied {
        s.push_str(&format!(
            "  {:>5}  {}  {}\n",
            a.version,
            a.applied_at.as_deref().unwrap_or("-"),
            a.description.as_deref().unwrap_or("")
        ));
    }
    s.push_str(&format!("\nPending ({}):\n", status.pending.len()));
    if status.pending.is_empty() {
        s.push_str(if status.problems.is_empty() {
            "  none: the database is up to date\n"
        } else {
            "  none\n"
        });
    }
    for m in status.pending.iter().filter_map(|&v| migrations.get(v)) {
        s.push_str(&format!("  {:>5}  {}\n", m.version(), m.description()));
    }
    if !status.problems.is_empty() {
        s.push_str(&format!(
            "\nProblems ({}), `migrate apply` refuses to run until they are resolved:\n",
            status.problems.len()
        ));
        for p in &status.problems {
            s.push_str(&format!("  - {p}\n"));
        }
    }
    out(&s);
}

pub fn history(status: &Status) {
    if status.applied.is_empty() {
        out("No migrations applied.\n");
        return;
    }
    let mut s = format!(
        "{:>7}  {:<19}  {}\n",
        "version", "applied_at (UTC)", "description"
    );
    for a in &status.applied {
        s.push_str(&format!(
            "{:>7}  {:<19}  {}\n",
            a.version,
            a.applied_at.as_deref().unwrap_or("-"),
            a.description.as_deref().unwrap_or("")
        ));
    }
    out(&s);
}

pub fn schema(migrations: &Migrations) {
    out(&format!(
        "-- Schema after version {}, as the build applied every migration to SQLite.\n{}",
        migrations.latest_version(),
        migrations.final_schema()
    ));
}
