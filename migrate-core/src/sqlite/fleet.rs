//! Many databases at once: a fleet of SQLite files with the same schema (a
//! database per tenant or per user), each brought up to date by the same
//! [`Migrator`] code path as a single one.
//!
//! A [`Fleet`] runs a piece of work on every path of an iterator, on a
//! fixed number of threads, and hands each result to a callback on the
//! calling thread as soon as it is known. The paths are taken from the
//! iterator only when a thread is free, and no result is kept once the
//! callback has seen it, so memory does not grow with the fleet: a glob
//! over a million files needs the same as one over ten.
//!
//! Nothing is shared between the databases but the threads: each keeps its
//! own lock, its own backup and its own `schema_migrations`, exactly as when
//! it is migrated alone. That is also why a fleet run is resumable by
//! nature: running it again finds nothing pending where it succeeded, and
//! does what is still pending elsewhere.

use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, mpsc};

use crate::{ApplyReport, Error, Migrator};

/// How to run a fleet: how many databases at once, and what a failure
/// stops. The default runs as many databases at once as the machine has
/// cores, and after the first failure starts no new database (those
/// already running finish, so none is left half-done).
///
/// # Examples
///
/// ```
/// use migrate_core::{Migration, Migrator};
/// use migrate_core::fleet::{Fleet, Outcome};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY)"])];
/// let dir = tempfile::tempdir()?;
/// let tenants: Vec<_> = (1..=20).map(|n| dir.path().join(format!("tenant-{n}.db"))).collect();
///
/// let mut versions = Vec::new();
/// let summary = Fleet::new().jobs(4).apply(&Migrator::new(&list), &tenants, |outcome| {
///     if let Outcome::Finished(_, Ok(report)) = outcome {
///         versions.push(report.version);
///     }
/// });
/// assert_eq!((summary.succeeded, summary.failed, summary.skipped), (20, 0, 0));
/// assert_eq!(summary.stopped, None);
/// assert!(versions.iter().all(|v| *v == 1));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fleet {
    jobs: NonZeroUsize,
    keep_going: bool,
    canary: usize,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet::new()
    }
}

/// What became of one database of the fleet, as given to the callback.
#[derive(Debug)]
pub enum Outcome<T, E> {
    /// The work ran on this path, with this result.
    Finished(PathBuf, Result<T, E>),
    /// The work was not started on this path: the run stopped before
    /// reaching it (see [`Summary::stopped`]). The database is as it was.
    Skipped(PathBuf),
}

/// Why a run stopped starting databases before the end of the paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// A database failed, and the policy is to stop (the default, without
    /// [`Fleet::keep_going`]).
    AfterFailure,
    /// One of the first [`Fleet::canary`] databases failed.
    CanaryFailed,
}

/// The counts of a finished run. The results themselves went to the
/// callback; a fleet keeps none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Databases whose work returned `Ok`.
    pub succeeded: u64,
    /// Databases whose work returned `Err`.
    pub failed: u64,
    /// Databases not started, because the run stopped.
    pub skipped: u64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<Stopped>,
}

impl Fleet {
    /// The default policy: one database per core at once, stop starting new
    /// ones after the first failure, no canary.
    #[must_use]
    pub fn new() -> Self {
        Fleet {
            jobs: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            keep_going: false,
            canary: 0,
        }
    }

    /// How many databases run at once (`-j`); 0 counts as 1.
    #[must_use]
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = NonZeroUsize::new(jobs).unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Go on after a failure (`--keep-going`): every database is tried, and
    /// the failed ones are reported. A failing canary stops the run all the
    /// same.
    #[must_use]
    pub fn keep_going(mut self, yes: bool) -> Self {
        self.keep_going = yes;
        self
    }

    /// Run the first `k` databases (in the iterator's order) first, and go
    /// on to the rest only if every one of them succeeded (`--canary K`).
    /// After the first failing canary no other database is started, whatever
    /// [`Self::keep_going`] says. 0 (the default) has no canary.
    #[must_use]
    pub fn canary(mut self, k: usize) -> Self {
        self.canary = k;
        self
    }

    /// Applies `migrator` to every database of `paths` (each opened, and
    /// created if missing, as [`Migrator::apply_to_path`] does), calling
    /// `on_result` with each outcome. For anything else per database (a
    /// backup first, a trial run, a status), see [`Self::run`].
    pub fn apply<I, P, R>(&self, migrator: &Migrator<'_>, paths: I, on_result: R) -> Summary
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
        R: FnMut(Outcome<ApplyReport, Error>),
    {
        self.run(paths, |path| migrator.apply_to_path(path), on_result)
    }

    /// Runs `work` on every path of `paths`, at most [`Self::jobs`] at
    /// once, and calls `on_result` on the calling thread with each outcome
    /// as soon as it is known (in the order they finish), then with every
    /// path skipped after the run stopped. A path is taken from the
    /// iterator only when a thread is free to start it.
    ///
    /// A panic in `work` is not a result: it is raised again here, once the
    /// databases already running have finished.
    ///
    /// # Examples
    ///
    /// A backup of each database before it changes, next to it, with the
    /// same code path as `migrate apply`:
    ///
    /// ```
    /// use migrate_core::rusqlite::{Connection, OpenFlags};
    /// use migrate_core::{Migration, Migrator, backup};
    /// use migrate_core::fleet::{Fleet, Outcome};
    /// use std::time::Duration;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])];
    /// let dir = tempfile::tempdir()?;
    /// let tenants: Vec<_> = (1..=3).map(|n| dir.path().join(format!("t{n}.db"))).collect();
    /// for t in &tenants {
    ///     Connection::open(t)?.execute_batch("CREATE TABLE notes (body TEXT)")?;
    /// }
    /// let migrator = Migrator::new(&list);
    /// let summary = Fleet::new().run(&tenants, |path| {
    ///     let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    ///     let dir = path.parent().unwrap_or(path).to_path_buf();
    ///     migrator
    ///         .clone()
    ///         .before_changes(move |version| {
    ///             let reader = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    ///             backup::backup_rotating(&reader, &dir, &name, version, 5, Duration::from_secs(5))?;
    ///             Ok(())
    ///         })
    ///         .apply_to_path(path)
    /// }, |outcome| {
    ///     if let Outcome::Finished(path, Err(e)) = outcome {
    ///         eprintln!("{}: {e}", path.display());
    ///     }
    /// });
    /// assert_eq!(summary.succeeded, 3);
    /// // Each database and its own backup, at version 0.
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 6);
    /// # Ok(())
    /// # }
    /// ```
    pub fn run<I, P, T, E, W, R>(&self, paths: I, work: W, mut on_result: R) -> Summary
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
        T: Send,
        E: Send,
        W: Fn(&Path) -> Result<T, E> + Sync,
        R: FnMut(Outcome<T, E>),
    {
        let jobs = self.jobs.get();
        let mut paths = paths.into_iter().map(Into::into);
        let mut summary = Summary::default();
        // Never more than `jobs` paths wait or run: the loop below sends
        // only while fewer than `jobs` are in flight.
        let (job_tx, job_rx) = mpsc::sync_channel::<PathBuf>(jobs);
        let job_rx = Mutex::new(job_rx);
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                let done_tx = done_tx.clone();
                let (job_rx, work) = (&job_rx, &work);
                scope.spawn(move || {
                    loop {
                        let job = job_rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(path) = job else { break };
                        let result = catch_unwind(AssertUnwindSafe(|| work(&path)));
                        if done_tx.send((path, result)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            let (mut started, mut finished, mut in_flight) = (0usize, 0usize, 0usize);
            loop {
                while summary.stopped.is_none() && in_flight < jobs {
                    // The canaries run first and alone: nothing else starts
                    // until each of them has succeeded.
                    if started >= self.canary && finished < self.canary {
                        break;
                    }
                    let Some(path) = paths.next() else { break };
                    if job_tx.send(path).is_err() {
                        break;
                    }
                    started += 1;
                    in_flight += 1;
                }
                if in_flight == 0 {
                    break;
                }
                let Ok((path, result)) = done_rx.recv() else {
                    break;
                };
                in_flight -= 1;
                let canary = finished < self.canary;
                finished += 1;
                let result = match result {
                    Ok(result) => result,
                    Err(panic) => {
                        drop(job_tx);
                        resume_unwind(panic);
                    }
                };
                if result.is_ok() {
                    summary.succeeded += 1;
                } else {
                    summary.failed += 1;
                    if canary {
                        summary.stopped = Some(Stopped::CanaryFailed);
                    } else if !self.keep_going {
                        summary.stopped.get_or_insert(Stopped::AfterFailure);
                    }
                }
                on_result(Outcome::Finished(path, result));
            }
            drop(job_tx);
        });
        for path in paths {
            summary.skipped += 1;
            on_result(Outcome::Skipped(path));
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Migration;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn names(n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| PathBuf::from(format!("db{i:03}"))).collect()
    }

    /// What each path came to, in the order the callback saw them.
    fn outcomes(
        fleet: Fleet,
        n: usize,
        failing: &[usize],
    ) -> (Summary, Vec<(String, &'static str)>) {
        let mut seen = Vec::new();
        let summary = fleet.run(
            names(n),
            |p| {
                let i: usize = p.to_string_lossy()[2..].parse().unwrap_or(0);
                if failing.contains(&i) {
                    Err("boom")
                } else {
                    Ok(i)
                }
            },
            |o| {
                seen.push(match o {
                    Outcome::Finished(p, Ok(_)) => (p.display().to_string(), "ok"),
                    Outcome::Finished(p, Err(_)) => (p.display().to_string(), "failed"),
                    Outcome::Skipped(p) => (p.display().to_string(), "skipped"),
                });
            },
        );
        (summary, seen)
    }

    #[test]
    fn every_path_gets_exactly_one_outcome() {
        let (summary, mut seen) = outcomes(Fleet::new().jobs(3).keep_going(true), 50, &[7, 30]);
        assert_eq!(
            (summary.succeeded, summary.failed, summary.skipped),
            (48, 2, 0)
        );
        assert_eq!(summary.stopped, None);
        seen.sort();
        let expected: Vec<String> = names(50).iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            seen.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(seen[7].1, "failed");
        assert_eq!(seen[30].1, "failed");
    }

    #[test]
    fn one_job_stops_right_after_the_first_failure() {
        let (summary, seen) = outcomes(Fleet::new().jobs(1), 10, &[3, 5]);
        assert_eq!(
            (summary.succeeded, summary.failed, summary.skipped),
            (3, 1, 6)
        );
        assert_eq!(summary.stopped, Some(Stopped::AfterFailure));
        // In order with one job; the skipped ones come last.
        assert_eq!(seen[3], ("db003".to_owned(), "failed"));
        assert!(seen[4..].iter().all(|s| s.1 == "skipped"));
        assert_eq!(seen[4].0, "db004");
    }

    #[test]
    fn with_several_jobs_the_running_ones_finish_and_no_new_one_starts() {
        let (summary, _) = outcomes(Fleet::new().jobs(4), 100, &[0]);
        assert_eq!(summary.stopped, Some(Stopped::AfterFailure));
        // At most the three others in flight with the failure finish.
        assert!(summary.succeeded <= 3, "{summary:?}");
        assert_eq!(summary.succeeded + summary.failed + summary.skipped, 100);
    }

    #[test]
    fn a_failing_canary_stops_even_with_keep_going() {
        let (summary, seen) = outcomes(Fleet::new().jobs(4).canary(3).keep_going(true), 20, &[1]);
        assert_eq!(summary.stopped, Some(Stopped::CanaryFailed));
        // Only canaries ran: the first three paths.
        assert!(summary.succeeded + summary.failed <= 3);
        assert_eq!(summary.skipped, 20 - summary.succeeded - summary.failed);
        assert!(
            seen.iter()
                .filter(|s| s.1 != "skipped")
                .all(|s| ["db000", "db001", "db002"].contains(&s.0.as_str()))
        );
    }

    #[test]
    fn canaries_finish_before_any_other_database_starts() {
        let running = AtomicUsize::new(0);
        let canaries_done = AtomicUsize::new(0);
        let summary = Fleet::new().jobs(8).canary(2).run(
            names(30),
            |p| {
                let i: usize = p.to_string_lossy()[2..].parse().unwrap_or(0);
                running.fetch_add(1, Ordering::SeqCst);
                if i >= 2 {
                    assert_eq!(canaries_done.load(Ordering::SeqCst), 2, "{i} started early");
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    canaries_done.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<_, ()>(())
            },
            |_| {},
        );
        assert_eq!(summary.succeeded, 30);
        assert_eq!(running.load(Ordering::SeqCst), 30);
    }

    #[test]
    fn no_more_than_jobs_paths_are_taken_ahead_of_the_results() {
        // The iterator is pulled lazily: with 2 jobs, at most 2 paths are
        // out of it and not yet reported.
        let pulled = AtomicUsize::new(0);
        let mut reported = 0usize;
        let paths = (0..1000).map(|i| {
            pulled.fetch_add(1, Ordering::SeqCst);
            PathBuf::from(format!("db{i}"))
        });
        let summary = Fleet::new().jobs(2).run(
            paths,
            |_| Ok::<_, ()>(()),
            |_| {
                reported += 1;
                assert!(pulled.load(Ordering::SeqCst) <= reported + 2);
            },
        );
        assert_eq!(summary.succeeded, 1000);
    }

    #[test]
    fn apply_brings_every_database_up_to_date_and_reports_the_broken_one() {
        let list = [
            Migration::new(1, "Create users", ["CREATE TABLE users (id TEXT)"]),
            Migration::new(2, "Index users", ["CREATE INDEX idx ON users(id)"]),
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let mut paths: Vec<PathBuf> = (0..12)
            .map(|i| dir.path().join(format!("{i}.db")))
            .collect();
        let broken = dir.path().join("broken.db");
        std::fs::write(
            &broken,
            b"this is not a database, it is text of some length",
        )
        .expect("write");
        paths.insert(5, broken.clone());
        let mut errors = Vec::new();
        let summary =
            Fleet::new()
                .jobs(3)
                .keep_going(true)
                .apply(&Migrator::new(&list), &paths, |o| {
                    if let Outcome::Finished(p, Err(e)) = o {
                        errors.push((p, e.code()));
                    }
                });
        assert_eq!((summary.succeeded, summary.failed), (12, 1));
        assert_eq!(errors, [(broken.clone(), "not_a_database")]);
        for p in paths.iter().filter(|p| **p != broken) {
            let conn = rusqlite::Connection::open(p).expect("open");
            assert_eq!(
                Migrator::new(&list)
                    .current_version(&conn)
                    .expect("version"),
                2
            );
        }
        // Again: nothing pending, nothing failing but the broken one.
        let again = Fleet::new()
            .keep_going(true)
            .apply(&Migrator::new(&list), &paths, |o| {
                if let Outcome::Finished(_, Ok(r)) = o {
                    assert!(r.applied.is_empty());
                }
            });
        assert_eq!((again.succeeded, again.failed), (12, 1));
    }

    #[test]
    #[should_panic(expected = "a bug in the work")]
    fn a_panic_in_the_work_is_raised_on_the_calling_thread() {
        Fleet::new().jobs(2).run(
            names(5),
            |_| -> Result<(), ()> { panic!("a bug in the work") },
            |_| {},
        );
    }
}
