//! `cargo fuzz run prove`: the build-time proof. A manifest that parses is
//! proven (`migrate_core::verify::prove_manifest`: every migration applied
//! in order to a fresh in-memory SQLite through the runner); whatever the
//! SQL does, that must not panic, must give the same answer twice, must
//! point a rejection at a real place of the file, and a list it accepts
//! must apply to a new database and then check clean against the
//! fingerprints the proof embedded.
//!
//! The input is the `manifest` target's: `TOML \0 FILE1 \0 FILE2 ...`.
//!
//! Bounds, so the fuzzer finds bugs rather than SQL that runs forever:
//! every connection gets a budget of SQLite virtual-machine steps per
//! input (a recursive CTE is interrupted, and its migration rejected, as
//! with any SQLite error), the SQLite heap is capped, no database can be
//! attached (so neither `ATTACH` nor `VACUUM`, which attaches its copy,
//! writes a file: both fail as SQLite errors), and inputs whose SQL holds
//! `random` (not the same twice) are skipped.
#![no_main]

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Once, OnceLock};

use libfuzzer_sys::fuzz_target;

mod input;
use migrate_core::manifest::{Diagnostic, Manifest};
use migrate_core::rusqlite::{Connection, ffi};
use migrate_core::verify::{Proof, prove_manifest};
use migrate_core::{Migrations, Problem};

/// Progress-handler calls per input; one call every `STEP_OPS` VM steps.
const STEP_BUDGET: u32 = 2_000;
const STEP_OPS: c_int = 1_000;
/// SQLite's heap, at most.
const HEAP_LIMIT: i64 = 64 << 20;

static STEPS: AtomicU32 = AtomicU32::new(0);

/// `MIGRATE_FUZZ_VERBOSE=1`: say on stderr what became of each input, e.g.
/// `cargo +nightly fuzz run prove fuzz/corpus/prove/*` to see which seeds
/// prove and which are rejected, and why.
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("MIGRATE_FUZZ_VERBOSE").is_some())
}

unsafe extern "C" fn progress(_: *mut c_void) -> c_int {
    c_int::from(STEPS.fetch_add(1, Ordering::Relaxed) >= STEP_BUDGET)
}

/// Run by SQLite on every connection opened, the proof's own included.
unsafe extern "C" fn bound(
    db: *mut ffi::sqlite3,
    _: *mut *mut c_char,
    _: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection being opened.
    unsafe {
        ffi::sqlite3_progress_handler(db, STEP_OPS, Some(progress), std::ptr::null_mut());
        ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_ATTACHED, 0);
    }
    ffi::SQLITE_OK
}

/// A fresh budget, and the heap limits as set here (SQL can lower them with
/// `PRAGMA hard_heap_limit` and `soft_heap_limit`, for the whole process).
fn reset() {
    static INIT: Once = Once::new();
    // SAFETY: registering a plain function, once, before any connection.
    INIT.call_once(|| unsafe {
        assert_eq!(ffi::sqlite3_auto_extension(Some(bound)), ffi::SQLITE_OK);
    });
    STEPS.store(0, Ordering::Relaxed);
    // SAFETY: plain setters of process-wide limits.
    unsafe {
        ffi::sqlite3_hard_heap_limit64(HEAP_LIMIT);
        ffi::sqlite3_soft_heap_limit64(0);
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, files, with_files) = input::split(&input);

    let parsed = input::parse_input(text, &files, with_files);
    let manifest = match parsed {
        Ok(manifest) => manifest,
        Err(d) => {
            if verbose() {
                eprintln!("not parsed: {}", d[0].render("migrations.toml"));
            }
            return; // the manifest target's business
        }
    };
    let skip = |sql: &str| {
        let sql = sql.to_ascii_lowercase();
        sql.contains("random")
    };
    if manifest.migrations.iter().any(|m| m.sql().any(skip)) {
        if verbose() {
            eprintln!("skipped: holds `random`");
        }
        return;
    }

    reset();
    let first = prove_manifest(&manifest, text);
    reset();
    let again = prove_manifest(&manifest, text);
    assert_eq!(first, again, "proving twice differs");
    if verbose() {
        let steps = u64::from(STEPS.load(Ordering::Relaxed)) * STEP_OPS as u64;
        match &first {
            Ok(proof) => eprintln!("proven: {} versions", proof.fingerprints.len()),
            Err(d) => eprintln!("rejected: {}", d.render("migrations.toml")),
        }
        eprintln!(
            "  about {steps} SQLite steps of a budget of {}",
            u64::from(STEP_BUDGET) * STEP_OPS as u64
        );
    }

    let proof = match first {
        Err(d) => return check_rejection(text, &files, &manifest, &d),
        Ok(proof) => proof,
    };
    let n = manifest.migrations.len();
    assert_eq!(proof.fingerprints.len(), n);
    if !with_files {
        applies_and_checks_clean(text, &proof, n);
    }
});

/// A rejection points at a real place: in `migrations.toml` (within the
/// entry's or the statement's text) or in the `sql_file` it names.
fn check_rejection(text: &str, files: &[&str], manifest: &Manifest, d: &Diagnostic) {
    assert!(!d.message.trim().is_empty());
    match &d.file {
        None => {
            assert!(
                input::is_valid(text, d.location),
                "{d:?} is outside the text"
            );
            if d.span != (0..0) {
                assert!(
                    d.span.start <= d.span.end && d.span.end <= text.len(),
                    "{d:?}"
                );
                let at = input::offset_of(text, d.location).unwrap();
                assert!(
                    d.span.start <= at && at <= d.span.end,
                    "{d:?}: the location is outside the span"
                );
            }
        }
        Some(path) => {
            let k = manifest.sql_files.iter().position(|p| p == path);
            let file = k.and_then(|k| files.get(k)).unwrap_or_else(|| {
                panic!(
                    "{d:?} blames a file that was not read: {:?}",
                    manifest.sql_files
                )
            });
            assert!(input::is_valid(file, d.location), "{d:?} is outside {path}");
        }
    }
}

/// What the proof accepted applies to a new database, which then matches
/// the fingerprints embedded from the proof.
fn applies_and_checks_clean(text: &str, proof: &Proof, n: usize) {
    reset();
    let migrations = Migrations::from_toml(text, "migrations.toml")
        .unwrap_or_else(|e| panic!("from_toml refuses what the proof accepted: {e}"));
    for v in 1..=n as u32 {
        assert_eq!(
            migrations.expected_schema(v),
            Some(proof.fingerprints[v as usize - 1])
        );
    }
    assert_eq!(migrations.final_schema(), proof.schema.to_sql());

    reset();
    let mut conn = Connection::open_in_memory().unwrap();
    let report = match migrations.apply(&mut conn) {
        Ok(report) => report,
        // The budget is per input, and this is the input's third run.
        Err(_) if STEPS.load(Ordering::Relaxed) >= STEP_BUDGET => return,
        Err(e) => panic!("the proof accepted what does not apply: {e}"),
    };
    assert_eq!(report.version, n as i64);
    assert_eq!(report.applied.len(), n);

    reset();
    let check = match migrations.check(&conn) {
        Ok(check) => check,
        Err(_) if STEPS.load(Ordering::Relaxed) >= STEP_BUDGET => return,
        Err(e) => panic!("check fails after apply: {e}"),
    };
    assert!(
        check.is_clean(),
        "applied, yet not clean: pending {:?}, problems {:?}, differences {:?}",
        check.status.pending,
        check
            .status
            .problems
            .iter()
            .map(Problem::to_string)
            .collect::<Vec<_>>(),
        check
            .differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    );
}
