//! What the commands print. Results go to stdout, errors to stderr as one
//! line each; a closed pipe (`migrate history | head`) is not an error.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use migrate_core::{
    AppliedMigration, ApplyReport, CheckReport, Migrations, Progress, Status, Trial,
};

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
    if !report.adopted.is_empty() {
        out(&format!(
            "Recorded checksums for {} migration(s) applied before checksums were kept.\n",
            report.adopted.len()
        ));
    }
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

pub fn history(applied: &[AppliedMigration]) {
    if applied.is_empty() {
        out("No migrations applied.\n");
        return;
    }
    let mut s = format!(
        "{:>7}  {:<19}  {:>9}  {:<20}  {}\n",
        "version", "applied_at (UTC)", "took", "applied by", "description"
    );
    for a in applied {
        s.push_str(&format!(
            "{:>7}  {:<19}  {:>9}  {:<20}  {}\n",
            a.version,
            a.applied_at.as_deref().unwrap_or("-"),
            a.duration_ms
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms")),
            a.applied_by.as_deref().unwrap_or("-"),
            a.description.as_deref().unwrap_or("")
        ));
    }
    out(&s);
}

pub fn line(text: &str) {
    out(&format!("{text}\n"));
}

pub fn repaired(versions: &[u32]) {
    let list: Vec<String> = versions.iter().map(u32::to_string).collect();
    out(&format!(
        "Recorded this build's checksums for version{} {}.\n",
        if versions.len() == 1 { "" } else { "s" },
        list.join(", ")
    ));
}

pub fn check(path: &Path, report: &CheckReport) {
    let mut s = String::new();
    let status = &report.status;
    for p in &status.problems {
        s.push_str(&format!("problem: {p}\n"));
    }
    if !status.pending.is_empty() {
        let list: Vec<String> = status.pending.iter().map(u32::to_string).collect();
        s.push_str(&format!(
            "pending: version{} {} not applied\n",
            if status.pending.len() == 1 { "" } else { "s" },
            list.join(", ")
        ));
    }
    for d in &report.differences {
        s.push_str(&format!("drift: {d}\n"));
    }
    if report.is_clean() {
        s.push_str(&format!(
            "OK: {} is at version {}, its record and schema are what this build expects.\n",
            path.display(),
            status.current_version
        ));
    } else {
        s.push_str(&format!(
            "FAILED: {} does not agree with this build (version {}).\n",
            path.display(),
            status.current_version
        ));
    }
    out(&s);
}

/// Prints a trial run; true when a migration would fail.
pub fn trials(path: &Path, trials: &[(u32, Trial)]) -> bool {
    if trials.is_empty() {
        out(&format!(
            "Nothing to try: nothing is pending in {}.\n",
            path.display()
        ));
        return false;
    }
    let mut s = format!(
        "Trial run on {} (rolled back, nothing changed):\n",
        path.display()
    );
    let mut failed = false;
    for (version, trial) in trials {
        match trial {
            Trial::Succeeded(took) => {
                s.push_str(&format!(
                    "  {version:>5}  would succeed ({})\n",
                    duration(*took)
                ));
            }
            Trial::Failed(took, e) => {
                failed = true;
                s.push_str(&format!(
                    "  {version:>5}  WOULD FAIL after {}: {e}\n",
                    duration(*took)
                ));
            }
            Trial::NotTried(why) => s.push_str(&format!("  {version:>5}  not tried: {why}\n")),
        }
    }
    s.push_str(if failed {
        "A migration would fail: fix it (or the data) before applying.\n"
    } else {
        "Every migration tried would succeed on the current data.\n"
    });
    out(&s);
    failed
}

pub fn schema(migrations: &Migrations) {
    out(&format!(
        "-- Schema after version {}, as the build applied every migration to SQLite.\n{}",
        migrations.latest_version(),
        migrations.final_schema()
    ));
}
