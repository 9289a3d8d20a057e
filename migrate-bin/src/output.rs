//! What the commands print.
//!
//! Human output goes to stdout through `anstream`, which drops the colours
//! when stdout is not a terminal or `NO_COLOR` is set; errors go to stderr as
//! one line each. With `--format json`, `status`, `history`, `version`,
//! `check`, `apply` and `apply --dry-run` print one JSON document each (the
//! shapes are documented in the README and fixed by snapshot tests), other
//! commands print one `{"message": …}` document per line, and errors are a
//! JSON document on stderr with a stable `code` (and the `backup` `apply`
//! took before it failed, if it took one). A closed pipe
//! (`migrate history | head`) is not an error.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use migrate_core::{
    AppliedMigration, ApplyReport, COMPARED_ROWS, Change, CheckReport, DataChange, DownPlan,
    DownReport, DownSource, Migration, Migrations, Problem, Progress, Status, TableChange, Trial,
};
use serde_json::{Value, json};

/// How to print, chosen by the global flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// `--format json`.
    pub json: bool,
    /// `-q`: no progress and no informational lines.
    pub quiet: bool,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode { json: false, quiet: false }) };
    /// The backup `apply` took, for its JSON document (or its error's).
    static BACKUP: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The losses the migrations `apply` runs declare, for its JSON document.
    static DECLARED: RefCell<Vec<Value>> = const { RefCell::new(Vec::new()) };
    /// A migration's "Applying …" line waits for its end.
    static LINE_OPEN: Cell<bool> = const { Cell::new(false) };
    /// The spinner of the migration running now, if any.
    static SPINNER: RefCell<Option<Spinner>> = const { RefCell::new(None) };
    /// On a fleet's worker thread: the JSON document of the database being
    /// run, kept for the fleet's report instead of printed.
    static CAPTURED: RefCell<Option<Option<Value>>> = const { RefCell::new(None) };
}

/// Runs `f`, one database of a fleet, on this thread with its output kept
/// instead of printed: the JSON document its command would print, and the
/// backup it took (which an error's document names too). Every command
/// prints through the same functions alone or in a fleet, so a fleet's
/// result per database is exactly what `--json` prints for one.
pub fn captured<T>(f: impl FnOnce() -> T) -> (T, Option<Value>, Option<String>) {
    configure(Mode {
        json: true,
        quiet: true,
    });
    CAPTURED.with(|c| *c.borrow_mut() = Some(None));
    let result = f();
    let doc = CAPTURED.with(|c| c.borrow_mut().take().flatten());
    let backup = BACKUP.with(|b| b.borrow_mut().take());
    (result, doc, backup)
}

/// Keeps `value` if this thread's output is [`captured`]; false otherwise.
fn keep(value: &Value) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(slot) => {
            *slot = Some(value.clone());
            true
        }
        None => false,
    })
}

/// Whether this thread's output is [`captured`].
fn capturing() -> bool {
    CAPTURED.with(|c| c.borrow().is_some())
}

pub fn configure(mode: Mode) {
    MODE.with(|m| m.set(mode));
    BACKUP.with(|b| b.borrow_mut().take());
    DECLARED.with(|d| d.borrow_mut().clear());
}

pub fn mode() -> Mode {
    MODE.with(Cell::get)
}

const GREEN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
const YELLOW: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
const RED: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
    .bold();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

fn out(text: &str) {
    let mut stdout = anstream::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn out_json(value: &Value) {
    if keep(value) {
        return;
    }
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// A usage error (exit code 2): `migrate: error: [PATH: ]message` on stderr.
pub fn error(path: Option<&Path>, message: &str) {
    failure(path, "usage", 2, message, None);
}

/// An error, as one line on stderr, or as a JSON document with its code.
pub fn failure(
    path: Option<&Path>,
    code: &str,
    exit_code: u8,
    message: &str,
    version: Option<u32>,
) {
    stop_spinner();
    if LINE_OPEN.with(|open| open.replace(false)) {
        out(&format!("{}\n", paint(RED, "failed")));
    }
    let text = if mode().json {
        let mut error = json!({
            "code": code,
            "message": message,
            "exit_code": exit_code,
            "database": path.map(|p| p.display().to_string()),
        });
        if let Some(v) = version {
            error["version"] = json!(v);
        }
        if let Some(backup) = BACKUP.with(|b| b.borrow().clone()) {
            error["backup"] = json!(backup);
        }
        format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({ "error": error })).unwrap_or_default()
        )
    } else {
        // A migration's progress line may be waiting for its end.
        let lead = match path {
            Some(p) => format!("migrate: error: {}: ", p.display()),
            None => "migrate: error: ".to_owned(),
        };
        format!("{}{message}\n", paint(RED, lead))
    };
    let mut stderr = anstream::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
}

fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// An informational line (`Backed up …`, `Recorded …`).
pub fn line(text: &str) {
    let mode = mode();
    if capturing() {
        // A fleet reports each database's result, not its messages.
    } else if mode.json {
        // One document per line, as documented: `restore` prints two.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", json!({ "message": text }));
        let _ = stdout.flush();
    } else if !mode.quiet {
        out(&format!("{text}\n"));
    }
}

/// `apply` backed the database up (or found the newest backup already
/// held it) and removed backups beyond the number kept.
pub fn backed_up(path: &Path, rotation: &migrate_core::backup::Rotation) {
    let dest = &rotation.path;
    if mode().json {
        BACKUP.with(|b| *b.borrow_mut() = Some(dest.display().to_string()));
        return;
    }
    if rotation.reused {
        line(&format!(
            "Backed up {}: unchanged since {}, which is kept",
            path.display(),
            dest.display()
        ));
    } else {
        line(&format!(
            "Backed up {} to {}",
            path.display(),
            dest.display()
        ));
    }
    if !rotation.removed.is_empty() {
        let names: Vec<String> = rotation
            .removed
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        line(&format!(
            "Removed {} older backup{}: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
    }
}

/// Shows a migration starting and finishing, with a spinner on a terminal
/// while one runs for more than a second.
pub fn progress(event: Progress<'_>) {
    show_progress("Applying", event);
}

/// [`progress`] for the steps of `down`.
pub fn rolling_back(event: Progress<'_>) {
    show_progress("Rolling back", event);
}

fn show_progress(verb: &str, event: Progress<'_>) {
    let mode = mode();
    if mode.json || mode.quiet {
        return;
    }
    match event {
        Progress::Started(m) => {
            out(&format!(
                "{verb} version {}: {} ... ",
                m.version(),
                m.description()
            ));
            LINE_OPEN.with(|open| open.set(true));
            if std::io::stdout().is_terminal() {
                SPINNER.with(|s| *s.borrow_mut() = Some(Spinner::start()));
            }
        }
        Progress::Finished(_, took) => {
            stop_spinner();
            LINE_OPEN.with(|open| open.set(false));
            out(&format!("{} in {}\n", paint(GREEN, "done"), duration(took)));
        }
    }
}

fn stop_spinner() {
    SPINNER.with(|s| drop(s.borrow_mut().take()));
}

/// An indicatif spinner that appears only after a second, so that quick
/// migrations print one clean line.
struct Spinner {
    stop: mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start() -> Spinner {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if stopped.recv_timeout(Duration::from_secs(1)) != Err(mpsc::RecvTimeoutError::Timeout)
            {
                return;
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("\n  {spinner} running for {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            let _ = stopped.recv();
            bar.finish_and_clear();
            // Back to the end of the "Applying …" line.
            out("\x1b[1A\x1b[999C");
        });
        Spinner {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn applied(path: &Path, migrations: &Migrations, report: &ApplyReport) {
    let mode = mode();
    if mode.json {
        let mut doc = json!({
            "database": path.display().to_string(),
            "backup": BACKUP.with(|b| b.borrow().clone()),
            "applied": report.applied.iter().map(|(v, took)| json!({
                "version": v,
                "description": migrations.get(*v).map(|m| m.description()),
                "duration_ms": ms(*took),
            })).collect::<Vec<_>>(),
            "adopted": report.adopted,
            "version": report.version,
        });
        let declared = DECLARED.with(|d| d.borrow().clone());
        if !declared.is_empty() {
            doc["declared_losses"] = json!(declared);
        }
        out_json(&doc);
        return;
    }
    if mode.quiet {
        return;
    }
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

/// The data the migrations `apply` is about to run declare they remove:
/// one line each, or kept for the JSON document.
pub fn declared_losses(losses: &[&Migration]) {
    let mode = mode();
    if mode.json {
        let docs = losses.iter().map(|m| {
            json!({
                "version": m.version(),
                "description": m.description(),
                "loses": m.loses().collect::<Vec<_>>(),
            })
        });
        DECLARED.with(|d| *d.borrow_mut() = docs.collect());
        return;
    }
    if mode.quiet {
        return;
    }
    let mut s = String::new();
    for m in losses {
        s.push_str(&format!(
            "Version {} ({:?}) declares it removes: {}\n",
            m.version(),
            m.description(),
            paint(YELLOW, m.loses().collect::<Vec<_>>().join(", "))
        ));
    }
    out(&s);
}

/// `down` (or `redo`) found nothing above the target.
pub fn nothing_to_roll_back(path: &Path, version: i64) {
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "backup": null,
            "rolled_back": [],
            "version": version,
        }));
        return;
    }
    line(&format!(
        "Nothing to roll back: {} is at version {version}.",
        path.display()
    ));
}

/// What `down` will run, before it asks.
pub fn down_plan(path: &Path, plan: &DownPlan) {
    let mode = mode();
    if mode.json || mode.quiet {
        return;
    }
    let mut s = format!(
        "{} is at version {}; rolling back to version {}:\n",
        path.display(),
        plan.from,
        plan.to
    );
    for step in &plan.steps {
        let stored = match step.source {
            DownSource::Database => " (down stored in the database by the build that applied it)",
            _ => "",
        };
        s.push_str(&format!(
            "  {:>5}  {}{stored}\n",
            step.version,
            paint(BOLD, &step.description)
        ));
        for sql in &step.sql {
            for line in sql.trim().lines() {
                s.push_str(&format!("         {}\n", paint(DIM, line)));
            }
        }
    }
    out(&s);
}

/// What `down` did.
pub fn rolled_back(path: &Path, plan: &DownPlan, report: &DownReport) {
    let description = |v: u32| {
        plan.steps
            .iter()
            .find(|s| s.version == v)
            .map(|s| s.description.clone())
    };
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "backup": BACKUP.with(|b| b.borrow().clone()),
            "rolled_back": report.reverted.iter().map(|(v, took)| json!({
                "version": v,
                "description": description(*v),
                "duration_ms": ms(*took),
            })).collect::<Vec<_>>(),
            "version": report.version,
        }));
        return;
    }
    let n = report.reverted.len();
    if n == 0 {
        line(&format!(
            "Nothing to roll back: {} is at version {}.",
            path.display(),
            report.version
        ));
        return;
    }
    let total: Duration = report.reverted.iter().map(|(_, d)| *d).sum();
    line(&format!(
        "Rolled back {n} migration{} in {}: {} is now at version {}.",
        if n == 1 { "" } else { "s" },
        duration(total),
        path.display(),
        report.version
    ));
}

/// What `redo` did.
pub fn redone(path: &Path, down: &DownReport, up: &ApplyReport) {
    let rolled: Vec<u32> = down.reverted.iter().map(|(v, _)| *v).collect();
    let applied: Vec<u32> = up.applied.iter().map(|(v, _)| *v).collect();
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "backup": BACKUP.with(|b| b.borrow().clone()),
            "rolled_back": rolled,
            "applied": applied,
            "version": up.version,
        }));
        return;
    }
    line(&format!(
        "Redone version {}: {} is at version {}.",
        rolled.first().copied().unwrap_or_default(),
        path.display(),
        up.version
    ));
}

pub fn version(path: &Path, status: &Status) {
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "version": status.current_version,
        }));
    } else {
        out(&format!("{}\n", status.current_version));
    }
}

fn row_json(a: &AppliedMigration) -> Value {
    json!({
        "version": a.version,
        "description": a.description,
        "applied_at": a.applied_at,
        "checksum": a.checksum,
        "duration_ms": a.duration_ms,
        "applied_by": a.applied_by,
    })
}

fn problem_json(p: &Problem) -> Value {
    let (kind, version, description) = match p {
        Problem::UnknownVersion {
            version,
            description,
        } => ("unknown_version", *version, description.clone()),
        Problem::NeverApplied {
            version,
            description,
        } => (
            "never_applied",
            i64::from(*version),
            Some(description.clone()),
        ),
        Problem::Modified {
            version,
            description,
        } => ("modified", i64::from(*version), Some(description.clone())),
    };
    json!({
        "kind": kind,
        "version": version,
        "description": description,
        "message": p.to_string(),
    })
}

fn pending_json(migrations: &Migrations, pending: &[u32]) -> Vec<Value> {
    pending
        .iter()
        .map(|&v| {
            json!({
                "version": v,
                "description": migrations.get(v).map(|m| m.description()),
            })
        })
        .collect()
}

pub fn status(path: &Path, exists: bool, migrations: &Migrations, status: &Status) {
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "exists": exists,
            "version": status.current_version,
            "latest": migrations.latest_version(),
            "up_to_date": status.pending.is_empty() && status.problems.is_empty(),
            "applied": status.applied.iter().map(row_json).collect::<Vec<_>>(),
            "pending": pending_json(migrations, &status.pending),
            "problems": status.problems.iter().map(problem_json).collect::<Vec<_>>(),
        }));
        return;
    }
    let mut s = String::new();
    s.push_str(&format!(
        "{} {}{}\n",
        paint(BOLD, "Database:"),
        path.display(),
        if exists { "" } else { " (does not exist yet)" }
    ));
    s.push_str(&format!(
        "{}  {} (this build has 1 to {})\n",
        paint(BOLD, "Version:"),
        status.current_version,
        migrations.latest_version()
    ));
    s.push_str(&format!(
        "\n{}\n",
        paint(BOLD, format!("Applied ({}):", status.applied.len()))
    ));
    if status.applied.is_empty() {
        s.push_str("  none\n");
    }
    for a in &status.applied {
        s.push_str(&format!(
            "  {}  {}  {}\n",
            paint(GREEN, format!("{:>5}", a.version)),
            a.applied_at.as_deref().unwrap_or("-"),
            a.description.as_deref().unwrap_or("")
        ));
    }
    s.push_str(&format!(
        "\n{}\n",
        paint(BOLD, format!("Pending ({}):", status.pending.len()))
    ));
    if status.pending.is_empty() {
        s.push_str(if status.problems.is_empty() {
            "  none: the database is up to date\n"
        } else {
            "  none\n"
        });
    }
    for m in status.pending.iter().filter_map(|&v| migrations.get(v)) {
        s.push_str(&format!(
            "  {}  {}\n",
            paint(YELLOW, format!("{:>5}", m.version())),
            m.description()
        ));
    }
    if !status.problems.is_empty() {
        s.push_str(&format!(
            "\n{}\n",
            paint(
                RED,
                format!(
                    "Problems ({}), `migrate apply` refuses to run until they are resolved:",
                    status.problems.len()
                )
            )
        ));
        for p in &status.problems {
            s.push_str(&format!("  - {p}\n"));
        }
    }
    out(&s);
}

/// "3 days ago" for a `YYYY-MM-DD HH:MM:SS` UTC time; empty when the text
/// is not such a time (rows written by other tools may hold anything).
fn ago(applied_at: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", applied_at)
        .and_then(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC))
    else {
        return String::new();
    };
    let seconds = now.as_second() - then.timestamp().as_second();
    let (n, unit) = match seconds {
        s if s < 0 => return "in the future".to_owned(),
        s if s < 60 => return "just now".to_owned(),
        s if s < 3_600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s if s < 86_400 * 31 => (s / 86_400, "day"),
        s if s < 86_400 * 365 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

pub fn history(path: &Path, applied: &[AppliedMigration]) {
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "applied": applied.iter().map(row_json).collect::<Vec<_>>(),
        }));
        return;
    }
    if applied.is_empty() {
        out("No migrations applied.\n");
        return;
    }
    let now = jiff::Timestamp::now();
    let rows: Vec<[String; 6]> = applied
        .iter()
        .map(|a| {
            let at = a.applied_at.clone().unwrap_or_else(|| "-".to_owned());
            [
                a.version.to_string(),
                ago(&at, now),
                at,
                a.duration_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms")),
                a.applied_by.clone().unwrap_or_else(|| "-".to_owned()),
                a.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "version",
        "",
        "applied_at (UTC)",
        "took",
        "applied by",
        "description",
    ];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3, w4) = (width(0), width(1), width(2), width(3), width(4));
    let mut s = paint(
        BOLD,
        format!(
            "{:>w0$}  {:<w2$}  {:<w1$}  {:>w3$}  {:<w4$}  {}",
            header[0], header[2], header[1], header[3], header[4], header[5]
        ),
    );
    s.push('\n');
    for r in &rows {
        let line = format!(
            "{}  {:<w2$}  {}  {:>w3$}  {:<w4$}  {}",
            paint(GREEN, format!("{:>w0$}", r[0])),
            r[2],
            paint(DIM, format!("{:<w1$}", r[1])),
            r[3],
            r[4],
            r[5]
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
    out(&s);
}

pub fn repaired(versions: &[u32]) {
    let list: Vec<String> = versions.iter().map(u32::to_string).collect();
    line(&format!(
        "Recorded this build's checksums for version{} {}.",
        if versions.len() == 1 { "" } else { "s" },
        list.join(", ")
    ));
}

pub fn check(path: &Path, migrations: &Migrations, report: &CheckReport) {
    let status = &report.status;
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "ok": report.is_clean(),
            "version": status.current_version,
            "pending": pending_json(migrations, &status.pending),
            "problems": status.problems.iter().map(problem_json).collect::<Vec<_>>(),
            "drift": report.differences.iter().map(|d| {
                let (change, expected, found) = match &d.change {
                    Change::Added => ("added", None, None),
                    Change::Missing => ("missing", None, None),
                    Change::Changed { expected, found } => {
                        ("changed", Some(expected.clone()), Some(found.clone()))
                    }
                };
                json!({
                    "kind": d.kind,
                    "name": d.name,
                    "change": change,
                    "expected": expected,
                    "found": found,
                    "message": d.to_string(),
                })
            }).collect::<Vec<_>>(),
        }));
        return;
    }
    let mut s = String::new();
    for p in &status.problems {
        s.push_str(&format!("{} {p}\n", paint(RED, "problem:")));
    }
    if !status.pending.is_empty() {
        let list: Vec<String> = status.pending.iter().map(u32::to_string).collect();
        s.push_str(&format!(
            "{} version{} {} not applied\n",
            paint(YELLOW, "pending:"),
            if status.pending.len() == 1 { "" } else { "s" },
            list.join(", ")
        ));
    }
    for d in &report.differences {
        s.push_str(&format!("{} {d}\n", paint(RED, "drift:")));
    }
    if report.is_clean() {
        s.push_str(&format!(
            "{} {} is at version {}, its record and schema are what this build expects.\n",
            paint(GREEN, "OK:"),
            path.display(),
            status.current_version
        ));
    } else {
        s.push_str(&format!(
            "{} {} does not agree with this build (version {}).\n",
            paint(RED, "FAILED:"),
            path.display(),
            status.current_version
        ));
    }
    out(&s);
}

/// Prints a trial run; true when a migration would fail.
pub fn trials(path: &Path, migrations: &Migrations, trials: &[(u32, Trial)]) -> bool {
    let description = |v: u32| migrations.get(v).map(|m| m.description().to_owned());
    show_trials(path, &description, trials, &TRIAL_UP)
}

/// Prints a trial run of `down`; true when a down would fail.
pub fn down_trials(path: &Path, plan: &DownPlan, trials: &[(u32, Trial)]) -> bool {
    let description = |v: u32| {
        plan.steps
            .iter()
            .find(|s| s.version == v)
            .map(|s| s.description.clone())
    };
    show_trials(path, &description, trials, &TRIAL_DOWN)
}

/// The words of a trial run of `apply` or of `down`.
struct TrialWords {
    /// The JSON key of the list of steps.
    key: &'static str,
    nothing: &'static str,
    failed: &'static str,
    succeeded: &'static str,
}

const TRIAL_UP: TrialWords = TrialWords {
    key: "migrations",
    nothing: "Nothing to try: nothing is pending in {}.",
    failed: "A migration would fail: fix it (or the data) before applying.",
    succeeded: "Every migration tried would succeed on the current data.",
};

const TRIAL_DOWN: TrialWords = TrialWords {
    key: "rolled_back",
    nothing: "Nothing to try: nothing to roll back in {}.",
    failed: "A down would fail: fix it (or the data) before rolling back.",
    succeeded: "Every down tried would succeed on the current data.",
};

fn show_trials(
    path: &Path,
    description: &dyn Fn(u32) -> Option<String>,
    trials: &[(u32, Trial)],
    words: &TrialWords,
) -> bool {
    let failed = trials.iter().any(|(_, t)| matches!(t, Trial::Failed(..)));
    if mode().json {
        out_json(&json!({
            "database": path.display().to_string(),
            "dry_run": true,
            "would_fail": failed,
            words.key: trials.iter().map(|(v, t)| {
                let mut doc = json!({
                    "version": v,
                    "description": description(*v),
                });
                match t {
                    Trial::Succeeded(took, data) => {
                        doc["outcome"] = json!("would_succeed");
                        doc["duration_ms"] = json!(ms(*took));
                        doc["data"] = data_json(data);
                    }
                    Trial::Failed(took, e) => {
                        doc["outcome"] = json!("would_fail");
                        doc["duration_ms"] = json!(ms(*took));
                        doc["error"] = json!({ "code": e.code(), "message": e.to_string() });
                    }
                    Trial::NotTried(why) => {
                        doc["outcome"] = json!("not_tried");
                        doc["reason"] = json!(why);
                    }
                }
                doc
            }).collect::<Vec<_>>(),
        }));
        return failed;
    }
    if trials.is_empty() {
        out(&format!(
            "{}\n",
            words.nothing.replace("{}", &path.display().to_string())
        ));
        return false;
    }
    let mut s = format!(
        "Trial run on {} (rolled back, nothing changed):\n",
        path.display()
    );
    for (version, trial) in trials {
        match trial {
            Trial::Succeeded(took, data) => {
                s.push_str(&format!(
                    "  {version:>5}  {} ({})\n",
                    paint(GREEN, "would succeed"),
                    duration(*took)
                ));
                for table in data.changes() {
                    for line in data_lines(table) {
                        s.push_str(&format!("          {line}\n"));
                    }
                }
            }
            Trial::Failed(took, e) => {
                s.push_str(&format!(
                    "  {version:>5}  {} after {}: {e}\n",
                    paint(RED, "WOULD FAIL"),
                    duration(*took)
                ));
            }
            Trial::NotTried(why) => s.push_str(&format!(
                "  {version:>5}  {}: {why}\n",
                paint(YELLOW, "not tried")
            )),
        }
    }
    s.push_str(if failed {
        words.failed
    } else {
        words.succeeded
    });
    s.push('\n');
    out(&s);
    failed
}

/// A trial's [`DataChange`], every table, for the JSON document.
fn data_json(data: &DataChange) -> Value {
    json!(
        data.tables
            .iter()
            .map(|t| json!({
                "table": t.table,
                "rows_before": t.rows_before,
                "rows_after": t.rows_after,
                "dropped_columns": t.dropped_columns,
                "renamed_from": t.renamed_from,
                "renamed_columns": t
                    .renamed_columns
                    .iter()
                    .map(|(from, to)| json!({ "from": from, "to": to }))
                    .collect::<Vec<_>>(),
                "changed_values": t
                    .changed_values
                    .iter()
                    .map(|v| json!({
                        "column": v.column,
                        "changed": v.changed,
                        "of": v.of,
                        "example": [v.example.0, v.example.1],
                    }))
                    .collect::<Vec<_>>(),
                "values_compared": !t.values_unchecked,
            }))
            .collect::<Vec<_>>()
    )
}

/// What a migration did to one table, in words: `deletes 3,201 of 9,000
/// rows of sessions`, `drops table user_tags (64 rows)`, `drops column
/// users.legacy_score`, `adds 12 rows to settings`, `creates table tags`,
/// `renames column users.name to full_name`, `changes 37 of 64 values of
/// users.age_range (e.g. '18-25' -> 18)`.
fn data_lines(t: &TableChange) -> Vec<String> {
    let rows = |n: u64| format!("{} row{}", thousands(n), if n == 1 { "" } else { "s" });
    let mut lines = Vec::new();
    match (t.rows_before, t.rows_after) {
        (None, Some(0)) => lines.push(format!("creates table {}", t.table)),
        (None, Some(n)) => lines.push(format!("creates table {} ({})", t.table, rows(n))),
        (Some(n), None) => lines.push(format!("drops table {} ({})", t.table, rows(n))),
        (Some(before), Some(after)) => {
            if let Some(old) = &t.renamed_from {
                lines.push(format!("renames table {old} to {}", t.table));
            }
            if after < before {
                lines.push(format!(
                    "deletes {} of {} rows of {}",
                    thousands(before - after),
                    thousands(before),
                    t.table
                ));
            } else if after > before {
                lines.push(format!("adds {} to {}", rows(after - before), t.table));
            }
        }
        (None, None) => {}
    }
    for column in &t.dropped_columns {
        lines.push(format!("drops column {}.{column}", t.table));
    }
    for (from, to) in &t.renamed_columns {
        lines.push(format!("renames column {}.{from} to {to}", t.table));
    }
    for v in &t.changed_values {
        lines.push(format!(
            "changes {} of {} values of {}.{} (e.g. {} -> {})",
            thousands(v.changed),
            thousands(v.of),
            t.table,
            v.column,
            v.example.0,
            v.example.1
        ));
    }
    if t.values_unchecked {
        lines.push(format!(
            "writes {}, too big for its values to be compared (over {} rows)",
            t.table,
            thousands(COMPARED_ROWS)
        ));
    }
    lines
}

/// `n` with a comma between groups of three digits: 3,201.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    s
}

pub fn schema(migrations: &Migrations) {
    let text = format!(
        "-- Schema after version {}, as the build applied every migration to SQLite.\n{}",
        migrations.latest_version(),
        migrations.final_schema()
    );
    if mode().json {
        out_json(&json!({
            "version": migrations.latest_version(),
            "schema": migrations.final_schema(),
        }));
    } else {
        out(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_core::ChangedValues;

    #[test]
    fn relative_times() {
        let now: jiff::Timestamp = "2026-11-24T12:00:00Z".parse().unwrap();
        assert_eq!(ago("2026-11-24 11:59:30", now), "just now");
        assert_eq!(ago("2026-11-24 11:00:00", now), "1 hour ago");
        assert_eq!(ago("2026-11-21 12:00:00", now), "3 days ago");
        assert_eq!(ago("2024-01-02 03:04:05", now), "2 years ago");
        assert_eq!(ago("not a time", now), "");
    }

    #[test]
    fn numbers_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(3201), "3,201");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn data_lines_in_words() {
        let t = |before, after, dropped: &[&str]| TableChange {
            table: "t".into(),
            rows_before: before,
            rows_after: after,
            dropped_columns: dropped.iter().map(|c| (*c).to_owned()).collect(),
            ..TableChange::default()
        };
        assert_eq!(
            data_lines(&t(Some(9000), Some(5799), &[])),
            ["deletes 3,201 of 9,000 rows of t"]
        );
        assert_eq!(
            data_lines(&t(Some(64), None, &[])),
            ["drops table t (64 rows)"]
        );
        assert_eq!(data_lines(&t(Some(1), Some(2), &[])), ["adds 1 row to t"]);
        assert_eq!(data_lines(&t(None, Some(0), &[])), ["creates table t"]);
        assert_eq!(
            data_lines(&t(None, Some(12), &[])),
            ["creates table t (12 rows)"]
        );
        assert_eq!(
            data_lines(&t(Some(3), Some(3), &["c"])),
            ["drops column t.c"]
        );
        let rewritten = TableChange {
            renamed_columns: vec![("name".into(), "full_name".into())],
            changed_values: vec![ChangedValues {
                column: "age_range".into(),
                changed: 1200,
                of: 3000,
                example: ("'18-25'".into(), "18".into()),
            }],
            ..t(Some(3000), Some(3000), &[])
        };
        assert_eq!(
            data_lines(&rewritten),
            [
                "renames column t.name to full_name",
                "changes 1,200 of 3,000 values of t.age_range (e.g. '18-25' -> 18)"
            ]
        );
        let big = TableChange {
            values_unchecked: true,
            ..t(Some(200_000), Some(200_000), &[])
        };
        assert_eq!(
            data_lines(&big),
            ["writes t, too big for its values to be compared (over 100,000 rows)"]
        );
    }
}
