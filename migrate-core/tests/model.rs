//! A model-based randomized test of the runner: random sequences of
//! operations (apply, apply --to, --single-transaction, concurrent appliers,
//! dry runs, builds older, newer or edited, repair, baseline, backups and
//! restores, and the application's own writes) run against a real SQLite
//! file in a temporary directory, and after every step the file is compared
//! with a model of what it must hold: its version, its record (versions,
//! descriptions, checksums, who applied them), its tables, columns and
//! indexes, every row of the application's tables, and SQLite's integrity
//! and foreign-key checks.
//!
//! Run it alone with `cargo test -p migrate-toml-core --test model`. By
//! default it runs 128 cases of 1 to 20 steps; more with e.g.
//! `PROPTEST_CASES=2000 MODEL_STEPS=40 cargo test -p migrate-toml-core
//! --release --test model`. `PROPTEST_VERBOSE=1` prints each step as it is
//! applied. A failure is shrunk to a short sequence of steps and saved in
//! `migrate-core/tests/model.proptest-regressions`, which later runs replay
//! first. In every assertion, `left` is what the library returned or the
//! file holds, `right` what the model says it must be.
//!
//! The migrations come from a fixed pool of eight (tables with foreign keys,
//! added columns, a data insert, a rebuild of the parent table, an index, and
//! a migration that fails on the application's data: a UNIQUE index over
//! names the application may have duplicated, after statements that already
//! wrote rows). A build is a prefix of that list (3 to 8 migrations, so
//! older and newer than the database), possibly with one migration's SQL
//! edited (a comment added: another checksum, the same schema).
//!
//! Some steps run while another connection holds the write lock: the
//! library is given a busy timeout of 20 ms on a connection whose own is
//! 2 s, and must give up (`busy`, nothing changed) after the former.
//! `MODEL_STATS=1` (with `-- --nocapture`) prints how often each kind of
//! outcome was met. The files are made in `/dev/shm` where it exists, else
//! in the temporary directory; `MODEL_TMPDIR=/some/dir` chooses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use migrate_core::backup::{backup_to_new, open_backup, restore_from, restore_keeping};
use migrate_core::rusqlite::{self, Connection};
use migrate_core::schema::Schema;
use migrate_core::{Error, Migrations, Migrator, Problem, Progress, Trial};
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

/// One migration of the pool.
struct Spec {
    description: &'static str,
    sql: &'static [&'static str],
}

const SPECS: [Spec; 8] = [
    Spec {
        description: "Create users table",
        sql: &["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"],
    },
    Spec {
        description: "Create posts table",
        sql: &["CREATE TABLE posts (id INTEGER PRIMARY KEY, \
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, \
                body TEXT NOT NULL)"],
    },
    Spec {
        description: "Add email to users",
        sql: &["ALTER TABLE users ADD COLUMN email TEXT"],
    },
    Spec {
        description: "Seed the admin user",
        sql: &["INSERT INTO users (name, email) VALUES ('admin', 'admin@example.com')"],
    },
    Spec {
        // The parent of posts, rebuilt: with foreign keys enforced, the
        // DROP would cascade into every post.
        description: "Rebuild users with created_at",
        sql: &[
            "CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             email TEXT COLLATE NOCASE, created_at TEXT NOT NULL DEFAULT '2000-01-01')",
            "INSERT INTO users_new (id, name, email) SELECT id, name, email FROM users",
            "DROP TABLE users",
            "ALTER TABLE users_new RENAME TO users",
        ],
    },
    Spec {
        description: "Index posts by user",
        sql: &["CREATE INDEX idx_posts_user ON posts(user_id)"],
    },
    Spec {
        // Fails on duplicate names, after its first three statements wrote.
        description: "Unique nicknames, with welcome posts",
        sql: &[
            "ALTER TABLE users ADD COLUMN nickname TEXT",
            "UPDATE users SET nickname = name",
            "INSERT INTO posts (user_id, body) SELECT id, 'welcome' FROM users ORDER BY id",
            "CREATE UNIQUE INDEX idx_users_nickname ON users(nickname)",
        ],
    },
    Spec {
        description: "Create tags table",
        sql: &[
            "CREATE TABLE tags (post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE, \
             tag TEXT NOT NULL, PRIMARY KEY (post_id, tag)) WITHOUT ROWID",
            "INSERT INTO tags (post_id, tag) SELECT id, 'welcome' FROM posts WHERE body = 'welcome'",
        ],
    },
];

const LATEST: u32 = 8;
/// The failing-on-data migration.
const UNIQUE_NAMES: u32 = 7;
/// Names the application gives its users; the seed is `admin`.
const NAMES: [&str; 2] = ["ann", "admin"];
/// What an edit puts before a migration's first SQL item. (After the last
/// one, SQLite would copy the comment of an `ADD COLUMN` into the table's
/// definition, and reject it: the proof refuses such a build.)
const EDIT: &str = "-- edited after it ran\n";
const TIMEOUT: Duration = Duration::from_secs(30);
/// The busy timeout given to the library while another connection holds
/// the lock, and the application connection's own.
const LOCKED_TIMEOUT: Duration = Duration::from_millis(20);
const APP_TIMEOUT: Duration = Duration::from_secs(2);

/// A build: the first `len` migrations of the pool, `edited` one's SQL
/// changed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct BuildId {
    len: u32,
    edited: Option<u32>,
}

impl fmt::Debug for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.edited {
            None => write!(f, "build({})", self.len),
            Some(k) => write!(f, "build({}, {k} edited)", self.len),
        }
    }
}

const FULL: BuildId = BuildId {
    len: LATEST,
    edited: None,
};

struct Built {
    migrations: Migrations,
    /// Recorded as `applied_by`, so the record says which build ran what.
    name: String,
}

fn toml(id: BuildId) -> String {
    let mut text = String::new();
    for v in 1..=id.len {
        let spec = &SPECS[v as usize - 1];
        let mut items: Vec<String> = spec.sql.iter().map(|s| (*s).to_owned()).collect();
        if id.edited == Some(v) {
            items[0].insert_str(0, EDIT);
        }
        let items: Vec<String> = items.iter().map(|s| format!("'''{s}'''")).collect();
        text.push_str(&format!(
            "[[migration]]\nversion = {v}\ndescription = \"{}\"\nsql = [{}]\n\n",
            spec.description,
            items.join(", ")
        ));
    }
    text
}

/// Every build, parsed and proven once.
fn builds() -> &'static HashMap<BuildId, Built> {
    static BUILDS: OnceLock<HashMap<BuildId, Built>> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let mut map = HashMap::new();
        for len in 1..=LATEST {
            for edited in std::iter::once(None).chain((1..=len).map(Some)) {
                let id = BuildId { len, edited };
                let migrations = Migrations::from_toml(&toml(id), "migrations.toml")
                    .unwrap_or_else(|e| panic!("{id:?}: {e}"));
                let name = format!("{id:?}");
                map.insert(id, Built { migrations, name });
            }
        }
        map
    })
}

fn built(id: BuildId) -> &'static Built {
    &builds()[&id]
}

fn migrator(id: BuildId) -> Migrator<'static> {
    let b = built(id);
    b.migrations.migrator().applied_by(&b.name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum recorded for version `v` when the original (or the edited)
/// SQL ran.
fn checksum(v: u32, edited: bool) -> String {
    let id = BuildId {
        len: LATEST,
        edited: edited.then_some(v),
    };
    hex(&built(id).migrations[v as usize - 1].checksum())
}

fn description(v: u32) -> &'static str {
    SPECS[v as usize - 1].description
}

/// Version 4 only writes data: its schema is version 3's.
fn schema_of(v: u32) -> u32 {
    if v == 4 { 3 } else { v }
}

// ---------------------------------------------------------------- the model

/// Who wrote a row of the record.
#[derive(Clone, Debug, PartialEq)]
enum By {
    Build(BuildId),
    Baseline,
}

/// One row of the record: which SQL it says ran, and who wrote it.
#[derive(Clone, Debug, PartialEq)]
struct Rec {
    edited: bool,
    by: By,
}

/// The application's rows.
#[derive(Clone, Debug, Default, PartialEq)]
struct Data {
    users: BTreeMap<i64, &'static str>,
    /// Post id: its user, and whether it is a welcome post (of version 7).
    posts: BTreeMap<i64, (i64, bool)>,
    /// Posts tagged `welcome` (by version 8).
    tags: BTreeSet<i64>,
}

/// What one database file must hold.
#[derive(Clone, Debug, Default, PartialEq)]
struct Db {
    /// `schema_migrations` exists.
    tracked: bool,
    /// The record: `recs[i]` is version `i + 1`.
    recs: Vec<Rec>,
    /// The version whose schema the file has.
    schema: u32,
    /// The columns of `users`, in order (`phone` was added by hand).
    users_cols: Vec<&'static str>,
    data: Data,
}

fn next_id<V>(map: &BTreeMap<i64, V>) -> i64 {
    map.keys().next_back().map_or(1, |k| k + 1)
}

impl Db {
    fn version(&self) -> u32 {
        self.recs.len() as u32
    }

    fn drift(&self) -> bool {
        self.users_cols.contains(&"phone")
    }

    /// The schema is exactly the one of the recorded version.
    fn consistent(&self) -> bool {
        !self.drift() && schema_of(self.schema) == schema_of(self.version())
    }

    fn has_users(&self) -> bool {
        !self.users_cols.is_empty()
    }

    fn has_posts(&self) -> bool {
        self.schema >= 2
    }

    fn duplicate_names(&self) -> bool {
        let names: BTreeSet<&str> = self.data.users.values().copied().collect();
        names.len() < self.data.users.len()
    }

    /// Whether migration `v` fails on this database.
    fn fails(&self, v: u32) -> bool {
        // A schema made by hand, not recorded: `users` exists already.
        (v == 1 && self.has_users()) || (v == UNIQUE_NAMES && self.duplicate_names())
    }

    /// What migration `v` does to the schema and the rows.
    fn run(&mut self, v: u32) {
        let data = &mut self.data;
        match v {
            1 => self.users_cols = vec!["id", "name"],
            3 => self.users_cols.push("email"),
            4 => {
                let id = next_id(&data.users);
                data.users.insert(id, "admin");
            }
            5 => self.users_cols = vec!["id", "name", "email", "created_at"],
            7 => {
                self.users_cols.push("nickname");
                for &user in data.users.keys() {
                    let id = next_id(&data.posts);
                    data.posts.insert(id, (user, true));
                }
            }
            8 => {
                data.tags = data
                    .posts
                    .iter()
                    .filter(|(_, (_, welcome))| *welcome)
                    .map(|(id, _)| *id)
                    .collect();
            }
            _ => {}
        }
        self.schema = v;
    }

    /// A file made by hand with version `n`'s schema (and a column added by
    /// hand when `drift`), without a record or rows.
    fn hand_made(n: u32, drift: bool) -> Db {
        let mut db = Db::default();
        for v in 1..=n {
            db.run(v);
        }
        db.data = Data::default();
        if drift {
            db.users_cols.push("phone");
        }
        db
    }

    /// What the application's `DELETE` of duplicate names removes, with
    /// the cascades of the foreign keys.
    fn delete_duplicates(&mut self) {
        let mut first: BTreeMap<&str, i64> = BTreeMap::new();
        for (&id, &name) in &self.data.users {
            first.entry(name).or_insert(id);
        }
        let keep: BTreeSet<i64> = first.values().copied().collect();
        let data = &mut self.data;
        data.users.retain(|id, _| keep.contains(id));
        data.posts.retain(|_, (user, _)| keep.contains(user));
        let posts: BTreeSet<i64> = data.posts.keys().copied().collect();
        data.tags.retain(|p| posts.contains(p));
    }
}

/// The problems `status` must report for `db` under `build`.
fn problems(db: &Db, build: BuildId) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, rec) in db.recs.iter().enumerate() {
        let v = i as u32 + 1;
        if v > build.len {
            out.push(Problem::UnknownVersion {
                version: i64::from(v),
                description: Some(description(v).to_owned()),
            });
        } else if rec.edited != (build.edited == Some(v)) {
            out.push(Problem::Modified {
                version: v,
                description: description(v).to_owned(),
            });
        }
    }
    out
}

/// An error, as much of it as the model predicts.
#[derive(Clone, Debug, PartialEq)]
struct Failure {
    code: &'static str,
    version: Option<u32>,
    /// The problems of an `Inconsistent` refusal.
    problems: Vec<Problem>,
    /// A single-transaction batch rolled back whole.
    batch: bool,
}

impl Failure {
    fn code(code: &'static str) -> Failure {
        Failure {
            code,
            version: None,
            problems: Vec::new(),
            batch: false,
        }
    }

    fn inconsistent(problems: Vec<Problem>) -> Failure {
        Failure {
            problems,
            ..Failure::code("inconsistent")
        }
    }

    fn migration(version: u32, batch: bool) -> Failure {
        Failure {
            version: Some(version),
            batch,
            ..Failure::code("migration_failed")
        }
    }

    fn of(error: &Error) -> Failure {
        Failure {
            code: error.code(),
            version: error.version(),
            problems: match error {
                Error::Inconsistent { problems } => problems.clone(),
                _ => Vec::new(),
            },
            batch: matches!(error, Error::BatchRolledBack { .. }),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tried {
    Succeeded,
    Failed(Failure),
    Skipped,
}

/// What the SUT's step must return, computed by the model's step.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Nothing,
    Apply {
        /// The version afterwards and the versions applied, or the failure.
        result: Result<(i64, Vec<u32>), Failure>,
        started: Vec<u32>,
        finished: Vec<u32>,
    },
    Concurrent {
        results: Vec<Result<i64, Failure>>,
        /// Every migration committed, by whichever thread.
        committed: Vec<u32>,
    },
    Trial(Result<Vec<(u32, Tried)>, Failure>),
    Repair(Result<Vec<u32>, Failure>),
    Baseline(Result<(), Failure>),
    Restore {
        result: Result<(), Failure>,
        /// What `foreign_history` must say of the backup (when it opens).
        foreign: Option<bool>,
    },
}

/// The model's state: the build in use, the database, the backups taken.
#[derive(Clone, Debug)]
struct State {
    /// The database file is in WAL mode (fixed for a case).
    wal: bool,
    build: BuildId,
    db: Db,
    backups: Vec<Db>,
    expect: Expect,
    /// The last step was refused (or a dry run): the file must be byte for
    /// byte as before (checked outside WAL mode, where the file is all).
    untouched: bool,
}

/// One step.
#[derive(Clone, Debug)]
enum Op {
    /// `apply` (`--to target`, `--single-transaction`).
    Apply {
        target: Option<u32>,
        single: bool,
    },
    /// `apply` on a connection inside a transaction of the caller's.
    ApplyInTransaction,
    /// Applies from several threads at once, each with its own connection.
    Concurrent {
        single: Vec<bool>,
    },
    /// `apply --dry-run`.
    Trial {
        target: Option<u32>,
    },
    /// Another build.
    Switch {
        len: u32,
        edited: Option<u32>,
    },
    /// This build with the SQL of an applied migration edited.
    Edit {
        version: u32,
    },
    Repair,
    Baseline {
        version: u32,
        force: bool,
    },
    /// Replaces the database with a new file made by hand with a version's
    /// schema (`drift`: a column added by hand too).
    HandMade {
        version: u32,
        drift: bool,
    },
    /// The application's own writes.
    InsertUser {
        name: usize,
    },
    InsertPost {
        user: usize,
    },
    DeleteDuplicateUsers,
    /// `backup_to_new`.
    Backup,
    /// Restores one of the backups taken (`keeping`: through
    /// `restore_keeping`, which backs the database up first), through the
    /// application's connection or `other`.
    Restore {
        backup: usize,
        keeping: bool,
        other: bool,
    },
    /// Closes the connection and opens another.
    Reopen,
    /// Adds a column to `users` by hand (schema drift).
    AddColumnByHand,
    /// Another connection holds the write lock (`BEGIN IMMEDIATE`) while
    /// this one, with a short busy timeout, tries to.
    WhileLocked(Locked),
}

/// What is tried while another connection holds the write lock.
#[derive(Clone, Debug)]
enum Locked {
    Apply {
        single: bool,
    },
    Repair,
    /// `Migrator::baseline` (which does not compare the schema).
    Baseline {
        version: u32,
    },
    Restore {
        backup: usize,
        keeping: bool,
    },
    /// Reads only: succeeds.
    Backup,
}

/// Whether `foreign_history` must call a backup holding `from` another
/// application's.
fn foreign(from: &Db, build: BuildId) -> bool {
    !problems(from, build).is_empty() || !from.consistent()
}

/// The outcome of an apply on `db`, which it updates.
fn model_apply(
    db: &mut Db,
    build: BuildId,
    target: Option<u32>,
    single: bool,
) -> (Result<i64, Failure>, Vec<u32>, Vec<u32>, Vec<u32>) {
    let problems = problems(db, build);
    if !problems.is_empty() {
        return (Err(Failure::inconsistent(problems)), vec![], vec![], vec![]);
    }
    let last = target.map_or(build.len, |t| t.min(build.len));
    let (mut started, mut finished, mut committed) = (vec![], vec![], vec![]);
    let mut work = db.clone();
    let mut failed = None;
    for v in db.version() + 1..=last {
        started.push(v);
        if work.fails(v) {
            failed = Some(v);
            break;
        }
        work.run(v);
        work.recs.push(Rec {
            edited: build.edited == Some(v),
            by: By::Build(build),
        });
        work.tracked = true;
        finished.push(v);
        if !single {
            *db = work.clone();
            committed.push(v);
        }
    }
    if single && failed.is_none() {
        *db = work;
        committed = finished.clone();
    }
    let result = match failed {
        Some(v) => Err(Failure::migration(v, single)),
        None => Ok(i64::from(db.version())),
    };
    (result, committed, started, finished)
}

impl State {
    fn step(&mut self, op: &Op) {
        let before = self.db.clone();
        self.expect = Expect::Nothing;
        let build = self.build;
        match op {
            Op::ApplyInTransaction => {
                self.expect = Expect::Apply {
                    result: Err(Failure::code("in_transaction")),
                    started: vec![],
                    finished: vec![],
                };
            }
            Op::Apply { target, single } => {
                let (result, committed, started, finished) =
                    model_apply(&mut self.db, build, *target, *single);
                self.expect = Expect::Apply {
                    result: result.map(|v| (v, committed)),
                    started,
                    finished,
                };
            }
            Op::Concurrent { single } => {
                // Run alone, a per-migration applier commits every
                // migration up to the first that fails; a batch commits all
                // or nothing. Together, each thread ends as it would alone
                // (a failing migration fails for each), and the migrations
                // are committed once.
                let before = self.db.clone();
                let mut results = Vec::new();
                let mut committed = Vec::new();
                let mut after = before.clone();
                for &s in single {
                    let mut alone = before.clone();
                    let (result, done, _, _) = model_apply(&mut alone, build, None, s);
                    if done.len() > committed.len() {
                        committed = done;
                        after = alone;
                    }
                    results.push(result);
                }
                let version = i64::from(after.version());
                self.db = after;
                for v in results.iter_mut().flatten() {
                    *v = version;
                }
                self.expect = Expect::Concurrent { results, committed };
            }
            Op::Trial { target } => {
                let problems = problems(&self.db, build);
                self.expect = Expect::Trial(if !problems.is_empty() {
                    Err(Failure::inconsistent(problems))
                } else {
                    let last = target.map_or(build.len, |t| t.min(build.len));
                    let mut work = self.db.clone();
                    let mut failed = false;
                    let mut out = Vec::new();
                    for v in self.db.version() + 1..=last {
                        let tried = if failed {
                            Tried::Skipped
                        } else if work.fails(v) {
                            failed = true;
                            Tried::Failed(Failure::migration(v, false))
                        } else {
                            work.run(v);
                            Tried::Succeeded
                        };
                        out.push((v, tried));
                    }
                    Ok(out)
                });
            }
            Op::Switch { len, edited } => {
                self.build = BuildId {
                    len: *len,
                    edited: *edited,
                };
            }
            Op::Edit { version } => {
                self.build.edited = Some(*version);
            }
            Op::Repair => {
                let problems = problems(&self.db, build);
                let blocking: Vec<Problem> = problems
                    .iter()
                    .filter(|p| !matches!(p, Problem::Modified { .. }))
                    .cloned()
                    .collect();
                self.expect = Expect::Repair(if blocking.is_empty() {
                    for (i, rec) in self.db.recs.iter_mut().enumerate() {
                        rec.edited = build.edited == Some(i as u32 + 1);
                    }
                    self.db.tracked = true;
                    Ok(problems
                        .iter()
                        .map(|p| match p {
                            Problem::Modified { version, .. } => *version,
                            _ => unreachable!(),
                        })
                        .collect())
                } else {
                    Err(Failure::inconsistent(blocking))
                });
            }
            Op::Baseline { version, force } => {
                let db = &mut self.db;
                let matches = !db.drift() && schema_of(db.schema) == schema_of(*version);
                self.expect = Expect::Baseline(if !force && !matches {
                    Err(Failure::code("baseline_mismatch"))
                } else if !db.recs.is_empty() {
                    Err(Failure::code("already_tracked"))
                } else {
                    db.recs = (1..=*version)
                        .map(|v| Rec {
                            edited: build.edited == Some(v),
                            by: By::Baseline,
                        })
                        .collect();
                    db.tracked = true;
                    db.schema = *version;
                    Ok(())
                });
            }
            Op::HandMade { version, drift } => {
                self.db = Db::hand_made(*version, *drift);
            }
            Op::InsertUser { name } => {
                let users = &mut self.db.data.users;
                users.insert(next_id(users), NAMES[*name]);
            }
            Op::InsertPost { user } => {
                let data = &mut self.db.data;
                let user = *data.users.keys().nth(user % data.users.len()).unwrap();
                data.posts.insert(next_id(&data.posts), (user, false));
            }
            Op::DeleteDuplicateUsers => self.db.delete_duplicates(),
            Op::Backup => self.backups.push(self.db.clone()),
            Op::Restore {
                backup, keeping, ..
            } => {
                let from = self.backups[backup % self.backups.len()].clone();
                self.expect = if from.tracked {
                    let foreign = foreign(&from, build);
                    if *keeping {
                        self.backups.push(self.db.clone());
                    }
                    self.db = from;
                    Expect::Restore {
                        result: Ok(()),
                        foreign: Some(foreign),
                    }
                } else {
                    Expect::Restore {
                        result: Err(Failure::code("not_a_backup")),
                        foreign: None,
                    }
                };
            }
            Op::Reopen => {}
            Op::AddColumnByHand => self.db.users_cols.push("phone"),
            Op::WhileLocked(Locked::Apply { single: _ }) => {
                let problems = problems(&self.db, build);
                let result = if !problems.is_empty() {
                    Err(Failure::inconsistent(problems))
                } else if self.db.version() >= build.len {
                    Ok((i64::from(self.db.version()), vec![]))
                } else {
                    Err(Failure::code("busy"))
                };
                self.expect = Expect::Apply {
                    result,
                    started: vec![],
                    finished: vec![],
                };
            }
            Op::WhileLocked(Locked::Repair) => {
                self.expect = Expect::Repair(Err(Failure::code("busy")));
            }
            Op::WhileLocked(Locked::Baseline { .. }) => {
                self.expect = Expect::Baseline(Err(Failure::code("busy")));
            }
            Op::WhileLocked(Locked::Restore { backup, .. }) => {
                let from = &self.backups[backup % self.backups.len()];
                self.expect = Expect::Restore {
                    result: Err(Failure::code(if from.tracked {
                        "busy"
                    } else {
                        "not_a_backup"
                    })),
                    foreign: from.tracked.then(|| foreign(from, build)),
                };
            }
            Op::WhileLocked(Locked::Backup) => self.backups.push(self.db.clone()),
        }
        let refused = match &self.expect {
            Expect::Nothing => false,
            Expect::Apply { result, .. } => result.is_err(),
            Expect::Concurrent { results, .. } => results.iter().all(Result::is_err),
            Expect::Trial(_) => true,
            Expect::Repair(r) => r.is_err(),
            Expect::Baseline(r) => r.is_err(),
            Expect::Restore { result, .. } => result.is_err(),
        };
        self.untouched = refused && self.db == before;
    }
}

fn target() -> impl Strategy<Value = Option<u32>> {
    prop::option::weighted(0.5, 1..=LATEST)
}

/// Mostly builds without the migration that fails on data, so that the
/// application writes rows before it runs.
fn build_len() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 3..=UNIQUE_NAMES - 1, 2 => UNIQUE_NAMES..=LATEST]
}

struct Model;

impl ReferenceStateMachine for Model {
    type State = State;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<State> {
        (any::<bool>(), build_len())
            .prop_map(|(wal, len)| State {
                wal,
                build: BuildId { len, edited: None },
                db: Db::default(),
                backups: Vec::new(),
                expect: Expect::Nothing,
                untouched: false,
            })
            .boxed()
    }

    fn transitions(state: &State) -> BoxedStrategy<Op> {
        let db = &state.db;
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (
                5,
                (target(), prop::bool::weighted(0.3))
                    .prop_map(|(target, single)| Op::Apply { target, single })
                    .boxed(),
            ),
            (
                1,
                prop::collection::vec(prop::bool::weighted(0.3), 1..=3)
                    .prop_map(|single| Op::Concurrent { single })
                    .boxed(),
            ),
            (1, target().prop_map(|target| Op::Trial { target }).boxed()),
            (
                2,
                build_len()
                    .prop_flat_map(|len| (Just(len), prop::option::weighted(0.3, 1..=len)))
                    .prop_map(|(len, edited)| Op::Switch { len, edited })
                    .boxed(),
            ),
            (1, Just(Op::Repair).boxed()),
            (1, Just(Op::ApplyInTransaction).boxed()),
            (
                1,
                (1..=state.build.len, prop::bool::weighted(0.2))
                    .prop_map(|(version, force)| Op::Baseline { version, force })
                    .boxed(),
            ),
            (
                1,
                (1..=LATEST, prop::bool::weighted(0.3))
                    .prop_map(|(version, drift)| Op::HandMade { version, drift })
                    .boxed(),
            ),
            (2, Just(Op::Backup).boxed()),
            (1, Just(Op::Reopen).boxed()),
        ];
        if db.recs.is_empty() && (1..=state.build.len).contains(&db.schema) {
            // A file made by hand: mostly its own version.
            let version = db.schema;
            ops.push((
                4,
                any::<bool>()
                    .prop_map(move |force| Op::Baseline { version, force })
                    .boxed(),
            ));
        }
        let editable = db.version().min(state.build.len);
        if editable > 0 {
            ops.push((
                2,
                (1..=editable)
                    .prop_map(|version| Op::Edit { version })
                    .boxed(),
            ));
        }
        if db.has_users() && !db.drift() {
            ops.push((1, Just(Op::AddColumnByHand).boxed()));
        }
        let mut locked = vec![
            prop::bool::weighted(0.3)
                .prop_map(|single| Locked::Apply { single })
                .boxed(),
            Just(Locked::Repair).boxed(),
            (1..=state.build.len)
                .prop_map(|version| Locked::Baseline { version })
                .boxed(),
            Just(Locked::Backup).boxed(),
        ];
        if !state.backups.is_empty() {
            locked.push(
                (0..8_usize, any::<bool>())
                    .prop_map(|(backup, keeping)| Locked::Restore { backup, keeping })
                    .boxed(),
            );
        }
        ops.push((2, Union::new(locked).prop_map(Op::WhileLocked).boxed()));
        if db.has_users() {
            ops.push((
                5,
                (0..NAMES.len())
                    .prop_map(|name| Op::InsertUser { name })
                    .boxed(),
            ));
            ops.push((1, Just(Op::DeleteDuplicateUsers).boxed()));
        }
        if db.has_posts() && !db.data.users.is_empty() {
            ops.push((
                2,
                (0..8_usize)
                    .prop_map(|user| Op::InsertPost { user })
                    .boxed(),
            ));
        }
        if !state.backups.is_empty() {
            ops.push((
                3,
                (0..8_usize, any::<bool>(), prop::bool::weighted(0.3))
                    .prop_map(|(backup, keeping, other)| Op::Restore {
                        backup,
                        keeping,
                        other,
                    })
                    .boxed(),
            ));
        }
        Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &State, op: &Op) -> bool {
        let db = &state.db;
        match op {
            Op::Edit { version } => *version >= 1 && *version <= db.version().min(state.build.len),
            Op::Baseline { version, force } => {
                *version >= 1
                    && *version <= state.build.len
                    // Forced only where the schema is that version's, give or
                    // take a column added by hand: the model does not predict
                    // migrations running on another schema.
                    && (!force
                        || !db.recs.is_empty()
                        || schema_of(db.schema) == schema_of(*version))
            }
            Op::Switch { len, edited } => {
                (1..=LATEST).contains(len) && edited.is_none_or(|k| (1..=*len).contains(&k))
            }
            Op::InsertUser { .. } | Op::DeleteDuplicateUsers => db.has_users(),
            Op::InsertPost { .. } => db.has_posts() && !db.data.users.is_empty(),
            Op::Restore { .. } | Op::WhileLocked(Locked::Restore { .. }) => {
                !state.backups.is_empty()
            }
            Op::AddColumnByHand => db.has_users() && !db.drift(),
            _ => true,
        }
    }

    fn apply(mut state: State, op: &Op) -> State {
        state.step(op);
        state
    }
}

// ------------------------------------------------------ the system under test

struct Sut {
    dir: tempfile::TempDir,
    path: PathBuf,
    conn: Connection,
    backups: Vec<PathBuf>,
}

fn open(path: &Path, wal: bool) -> Connection {
    let conn = Connection::open(path).unwrap();
    if wal {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    // The application enforces its foreign keys.
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    conn
}

/// Applies with `m`, noting which migrations started and finished.
fn apply_noting(
    m: Migrator<'_>,
    conn: &mut Connection,
) -> (Result<migrate_core::ApplyReport, Error>, Vec<u32>, Vec<u32>) {
    let (mut started, mut finished) = (Vec::new(), Vec::new());
    let result = m.apply_with(conn, |p| match p {
        Progress::Started(m) => started.push(m.version()),
        Progress::Finished(m, _) => finished.push(m.version()),
    });
    (result, started, finished)
}

fn rows<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> Vec<(i64, T)> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn strings(conn: &Connection, sql: &str, param: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([param], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

impl Sut {
    /// Restores backup `backup` (modulo their number), after asking
    /// `foreign_history` about it.
    /// Through `other` connection than the application's, when asked (as
    /// `migrate restore` does while the application runs).
    fn restore(
        &mut self,
        state: &State,
        op: &Op,
        backup: usize,
        keeping: bool,
        timeout: Duration,
        other: bool,
    ) {
        let Expect::Restore { result, foreign } = &state.expect else {
            unreachable!()
        };
        let source = self.backups[backup % self.backups.len()].clone();
        match open_backup(&source, TIMEOUT) {
            Ok(from) => {
                let said = built(state.build)
                    .migrations
                    .foreign_history(&from)
                    .unwrap();
                assert_eq!(
                    Some(said.is_some()),
                    *foreign,
                    "foreign_history of the backup said {said:?}"
                );
            }
            Err(e) => assert_eq!(Err(Failure::of(&e)), *result, "open_backup"),
        }
        let mut another = other.then(|| Connection::open(&self.path).unwrap());
        let conn = another.as_mut().unwrap_or(&mut self.conn);
        let got = if keeping {
            let dir = self.dir.path().to_owned();
            restore_keeping(conn, &source, timeout, |current| {
                backup_to_new(current, &dir, "kept", timeout).map(Some)
            })
            .map(|kept| self.backups.push(kept.unwrap()))
        } else {
            restore_from(conn, &source, timeout)
        };
        if let Some(another) = another {
            another.close().map_err(|(_, e)| e).unwrap();
        }
        assert_eq!(got.map_err(|e| Failure::of(&e)), *result, "{op:?} returned");
    }

    fn reopen(&mut self, wal: bool) {
        let old = std::mem::replace(&mut self.conn, Connection::open_in_memory().unwrap());
        old.close().map_err(|(_, e)| e).unwrap();
        self.conn = open(&self.path, wal);
    }

    fn step(&mut self, state: &State, op: Op) {
        let build = state.build;
        let wal = state.wal;
        let before = (!wal && state.untouched).then(|| file_bytes(&self.path));
        match op {
            Op::ApplyInTransaction => {
                self.conn.execute_batch("BEGIN").unwrap();
                let (result, started, finished) = apply_noting(migrator(build), &mut self.conn);
                self.conn.execute_batch("ROLLBACK").unwrap();
                let got = Expect::Apply {
                    result: result
                        .map(|r| (r.version, r.applied.iter().map(|(v, _)| *v).collect()))
                        .map_err(|e| Failure::of(&e)),
                    started,
                    finished,
                };
                assert_eq!(got, state.expect, "{op:?} returned");
            }
            Op::Apply { target, single } => {
                let m = migrator(build).target(target).single_transaction(single);
                let (result, started, finished) = apply_noting(m, &mut self.conn);
                let got = Expect::Apply {
                    result: result
                        .map(|r| (r.version, r.applied.iter().map(|(v, _)| *v).collect()))
                        .map_err(|e| Failure::of(&e)),
                    started,
                    finished,
                };
                assert_eq!(got, state.expect, "{op:?} returned");
            }
            Op::Concurrent { ref single } => {
                let barrier = Barrier::new(single.len());
                let path = &self.path;
                let outcomes: Vec<(Result<i64, Failure>, Vec<u32>)> = std::thread::scope(|s| {
                    let handles: Vec<_> = single
                        .iter()
                        .map(|&single| {
                            let barrier = &barrier;
                            s.spawn(move || {
                                let mut conn = Connection::open(path).unwrap();
                                barrier.wait();
                                let m = migrator(build).single_transaction(single);
                                let (result, _, finished) = apply_noting(m, &mut conn);
                                // What this thread committed: a batch commits
                                // only when it succeeds.
                                let committed = match (&result, single) {
                                    (Err(_), true) => Vec::new(),
                                    _ => finished,
                                };
                                (
                                    result.map(|r| r.version).map_err(|e| Failure::of(&e)),
                                    committed,
                                )
                            })
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect()
                });
                let mut committed: Vec<u32> =
                    outcomes.iter().flat_map(|(_, c)| c.clone()).collect();
                committed.sort_unstable();
                let got = Expect::Concurrent {
                    results: outcomes.into_iter().map(|(r, _)| r).collect(),
                    committed,
                };
                assert_eq!(got, state.expect, "{op:?} returned");
            }
            Op::Trial { target } => {
                let got = migrator(build)
                    .target(target)
                    .trial(&mut self.conn)
                    .map(|trials| {
                        trials
                            .into_iter()
                            .map(|(v, t)| {
                                (
                                    v,
                                    match t {
                                        Trial::Succeeded(..) => Tried::Succeeded,
                                        Trial::Failed(_, e) => Tried::Failed(Failure::of(&e)),
                                        Trial::NotTried(_) => Tried::Skipped,
                                    },
                                )
                            })
                            .collect()
                    })
                    .map_err(|e| Failure::of(&e));
                assert_eq!(Expect::Trial(got), state.expect, "{op:?} returned");
            }
            Op::Switch { .. } | Op::Edit { .. } => {}
            Op::Repair => {
                let got = migrator(build)
                    .repair(&mut self.conn)
                    .map_err(|e| Failure::of(&e));
                assert_eq!(Expect::Repair(got), state.expect, "{op:?} returned");
            }
            Op::Baseline { version, force } => {
                let got = built(build)
                    .migrations
                    .baseline(&mut self.conn, version, force)
                    .map_err(|e| Failure::of(&e));
                assert_eq!(Expect::Baseline(got), state.expect, "{op:?} returned");
            }
            Op::HandMade { version, drift } => {
                let old = std::mem::replace(&mut self.conn, Connection::open_in_memory().unwrap());
                old.close().map_err(|(_, e)| e).unwrap();
                for suffix in ["", "-journal", "-wal", "-shm"] {
                    let mut name = self.path.clone().into_os_string();
                    name.push(suffix);
                    let _ = std::fs::remove_file(name);
                }
                self.conn = open(&self.path, wal);
                let schema = built(BuildId {
                    len: version,
                    edited: None,
                })
                .migrations
                .final_schema();
                self.conn.execute_batch(schema).unwrap();
                if drift {
                    self.conn
                        .execute_batch("ALTER TABLE users ADD COLUMN phone TEXT")
                        .unwrap();
                }
            }
            Op::InsertUser { name } => {
                self.conn
                    .execute("INSERT INTO users (name) VALUES (?1)", [NAMES[name]])
                    .unwrap();
            }
            Op::InsertPost { user } => {
                self.conn
                    .execute(
                        "INSERT INTO posts (user_id, body) \
                         VALUES ((SELECT id FROM users ORDER BY id LIMIT 1 OFFSET \
                         ?1 % (SELECT count(*) FROM users)), 'hello')",
                        [user as i64],
                    )
                    .unwrap();
            }
            Op::DeleteDuplicateUsers => {
                self.conn
                    .execute_batch(
                        "DELETE FROM users WHERE id NOT IN (SELECT min(id) FROM users GROUP BY name)",
                    )
                    .unwrap();
            }
            Op::Backup => {
                let path = backup_to_new(&self.conn, self.dir.path(), "app", TIMEOUT).unwrap();
                self.backups.push(path);
            }
            Op::Restore {
                backup,
                keeping,
                other,
            } => {
                self.restore(state, &op, backup, keeping, TIMEOUT, other);
            }
            Op::Reopen => self.reopen(wal),
            Op::AddColumnByHand => {
                self.conn
                    .execute_batch("ALTER TABLE users ADD COLUMN phone TEXT")
                    .unwrap();
            }
            Op::WhileLocked(ref action) => {
                let other = Connection::open(&self.path).unwrap();
                other.execute_batch("BEGIN IMMEDIATE").unwrap();
                // The application's connection has a busy timeout of its
                // own; the library's calls must wait theirs, not this one.
                self.conn.busy_timeout(APP_TIMEOUT).unwrap();
                let started = Instant::now();
                match *action {
                    Locked::Apply { single } => {
                        let m = migrator(build)
                            .busy_timeout(LOCKED_TIMEOUT)
                            .single_transaction(single);
                        let (result, started, finished) = apply_noting(m, &mut self.conn);
                        let got = Expect::Apply {
                            result: result
                                .map(|r| (r.version, r.applied.iter().map(|(v, _)| *v).collect()))
                                .map_err(|e| Failure::of(&e)),
                            started,
                            finished,
                        };
                        assert_eq!(got, state.expect, "{op:?} returned");
                    }
                    Locked::Repair => {
                        let got = migrator(build)
                            .busy_timeout(LOCKED_TIMEOUT)
                            .repair(&mut self.conn)
                            .map_err(|e| Failure::of(&e));
                        assert_eq!(Expect::Repair(got), state.expect, "{op:?} returned");
                    }
                    Locked::Baseline { version } => {
                        let got = migrator(build)
                            .busy_timeout(LOCKED_TIMEOUT)
                            .baseline(&mut self.conn, version)
                            .map_err(|e| Failure::of(&e));
                        assert_eq!(Expect::Baseline(got), state.expect, "{op:?} returned");
                    }
                    Locked::Restore { backup, keeping } => {
                        self.restore(state, &op, backup, keeping, LOCKED_TIMEOUT, false);
                    }
                    Locked::Backup => {
                        let path =
                            backup_to_new(&self.conn, self.dir.path(), "app", LOCKED_TIMEOUT)
                                .unwrap();
                        self.backups.push(path);
                    }
                }
                let took = started.elapsed();
                other.execute_batch("ROLLBACK").unwrap();
                assert!(
                    took < APP_TIMEOUT / 2,
                    "{op:?} took {took:?}: it was given a busy timeout of {LOCKED_TIMEOUT:?}, \
                     and waited about the connection's own ({APP_TIMEOUT:?}) instead"
                );
            }
        }
        if let Some(before) = before {
            assert!(
                before == file_bytes(&self.path),
                "{op:?} was refused but changed the database file"
            );
        }
    }
}

/// Everything the file must hold, compared with the model.
fn check(sut: &Sut, state: &State) {
    let conn = &sut.conn;
    let db = &state.db;
    let build = state.build;
    let m = migrator(build);

    // The record.
    assert_eq!(
        m.current_version(conn).unwrap(),
        i64::from(db.version()),
        "current_version"
    );
    let history = m.history(conn).unwrap();
    let got: Vec<_> = history
        .iter()
        .map(|r| {
            (
                r.version,
                r.description.clone(),
                r.checksum.clone(),
                r.applied_by.clone(),
                r.duration_ms.is_some(),
            )
        })
        .collect();
    let want: Vec<_> = db
        .recs
        .iter()
        .enumerate()
        .map(|(i, rec)| {
            let v = i as u32 + 1;
            (
                i64::from(v),
                Some(description(v).to_owned()),
                Some(checksum(v, rec.edited)),
                Some(match rec.by {
                    By::Build(id) => built(id).name.clone(),
                    By::Baseline => format!("baseline by {}", built(build).migrations.build()),
                }),
                matches!(rec.by, By::Build(_)),
            )
        })
        .collect();
    assert_eq!(
        got, want,
        "history (version, description, checksum, applied_by, has duration)"
    );
    let status = m.status(conn).unwrap();
    assert_eq!(status.current_version, i64::from(db.version()), "status");
    assert_eq!(status.applied, history, "status.applied");
    let pending: Vec<u32> = (db.version() + 1..=build.len).collect();
    assert_eq!(status.pending, pending, "status.pending");
    let problems = problems(db, build);
    assert_eq!(status.problems, problems, "status.problems");

    // `check`: the schema is its version's exactly where the model says so.
    let report = built(build).migrations.check(conn).unwrap();
    let unknown = db.version() > build.len;
    let differ = !unknown && !db.consistent();
    assert_eq!(
        !report.differences.is_empty(),
        differ,
        "check's differences: {:?}",
        report.differences
    );
    assert_eq!(
        report.is_clean(),
        pending.is_empty() && problems.is_empty() && !differ,
        "check is_clean"
    );
    let live = Schema::read(conn).unwrap().fingerprint();
    let expected = built(FULL).migrations.expected_schema(db.schema).unwrap();
    assert_eq!(
        live == expected,
        !db.drift(),
        "schema fingerprint against version {}'s",
        db.schema
    );

    // The objects and columns, independently of the library.
    let mut stmt = conn
        .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite%' ORDER BY 1, 2")
        .unwrap();
    let objects: BTreeSet<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut want = BTreeSet::new();
    let mut add = |kind: &str, name: &str| want.insert((kind.to_owned(), name.to_owned()));
    let s = db.schema;
    if db.tracked {
        add("table", "schema_migrations");
    }
    if s >= 1 {
        add("table", "users");
    }
    if s >= 2 {
        add("table", "posts");
    }
    if s >= 6 {
        add("index", "idx_posts_user");
    }
    if s >= 7 {
        add("index", "idx_users_nickname");
    }
    if s >= 8 {
        add("table", "tags");
    }
    assert_eq!(objects, want, "tables and indexes");
    let columns = |table: &str| {
        strings(
            conn,
            "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
            table,
        )
    };
    assert_eq!(columns("users"), db.users_cols, "columns of users");
    if s >= 2 {
        assert_eq!(
            columns("posts"),
            ["id", "user_id", "body"],
            "columns of posts"
        );
    }
    if s >= 8 {
        assert_eq!(columns("tags"), ["post_id", "tag"], "columns of tags");
    }

    // Every row.
    if db.has_users() {
        let users: Vec<(i64, String)> = rows(conn, "SELECT id, name FROM users ORDER BY id");
        let want: Vec<(i64, String)> = db
            .data
            .users
            .iter()
            .map(|(id, n)| (*id, (*n).to_owned()))
            .collect();
        assert_eq!(users, want, "rows of users (id, name)");
    }
    if db.has_posts() {
        let posts: Vec<(i64, (i64, bool))> =
            rows::<i64>(conn, "SELECT id, user_id FROM posts ORDER BY id")
                .into_iter()
                .zip(rows::<bool>(
                    conn,
                    "SELECT id, body = 'welcome' FROM posts ORDER BY id",
                ))
                .map(|((id, user), (_, welcome))| (id, (user, welcome)))
                .collect();
        let want: Vec<_> = db.data.posts.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(posts, want, "rows of posts (id, (user_id, welcome))");
    }
    if s >= 8 {
        let tags: Vec<(i64, String)> = rows(conn, "SELECT post_id, tag FROM tags ORDER BY 1");
        let want: Vec<(i64, String)> = db
            .data
            .tags
            .iter()
            .map(|p| (*p, "welcome".to_owned()))
            .collect();
        assert_eq!(tags, want, "rows of tags");
    }

    // SQLite's own checks, and the connection as the runner must leave it.
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "integrity_check");
    let violations: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(violations, 0, "foreign_key_check");
    let enforced: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(enforced, "foreign_keys left off on the connection");
    assert!(
        conn.is_autocommit(),
        "the connection was left in a transaction"
    );
    let leftovers: Vec<String> = std::fs::read_dir(sut.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial."))
        .collect();
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
}

/// Where the cases make their files: `MODEL_TMPDIR`, else `/dev/shm` where
/// there is one (a memory file system, where the commits' fsyncs cost
/// nothing, and the run's time does not depend on what else uses the disk),
/// else the system's temporary directory.
fn scratch() -> PathBuf {
    if let Some(dir) = std::env::var_os("MODEL_TMPDIR") {
        return dir.into();
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && tempfile::tempdir_in(shm).is_ok() {
        return shm.to_owned();
    }
    std::env::temp_dir()
}

struct RunnerTest;

impl StateMachineTest for RunnerTest {
    type SystemUnderTest = Sut;
    type Reference = Model;

    fn init_test(state: &State) -> Sut {
        let dir = tempfile::tempdir_in(scratch()).unwrap();
        let path = dir.path().join("app.db");
        let conn = open(&path, state.wal);
        Sut {
            dir,
            path,
            conn,
            backups: Vec::new(),
        }
    }

    fn apply(mut sut: Sut, state: &State, op: Op) -> Sut {
        sut.step(state, op);
        sut
    }

    fn check_invariants(sut: &Sut, state: &State) {
        check(sut, state);
        if std::env::var_os("MODEL_STATS").is_some() {
            tally(state);
        }
    }

    fn teardown(sut: Sut, _state: State) {
        drop(sut);
        if std::env::var_os("MODEL_STATS").is_some() {
            let tallies = TALLIES.lock().unwrap();
            let lines: Vec<String> = tallies.iter().map(|(k, n)| format!("{n:6} {k}")).collect();
            eprintln!("outcomes so far:\n{}", lines.join("\n"));
        }
    }
}

/// How often each kind of outcome was met (`MODEL_STATS=1`, with
/// `-- --nocapture`): what the generated cases cover.
static TALLIES: std::sync::Mutex<BTreeMap<String, usize>> = std::sync::Mutex::new(BTreeMap::new());

fn tally(state: &State) {
    let short = |f: &Failure| match f.version {
        Some(v) => format!("{} at {v}{}", f.code, if f.batch { " (batch)" } else { "" }),
        None => f.code.to_owned(),
    };
    let label = match &state.expect {
        Expect::Nothing => return,
        Expect::Apply {
            result: Ok((_, applied)),
            ..
        } => {
            format!(
                "apply: ok, {}",
                if applied.is_empty() {
                    "nothing to do"
                } else {
                    "applied some"
                }
            )
        }
        Expect::Apply { result: Err(f), .. } => format!("apply: {}", short(f)),
        Expect::Concurrent { results, committed } => format!(
            "concurrent: {} threads, {}, {} committed",
            results.len(),
            results
                .iter()
                .find_map(|r| r.as_ref().err())
                .map_or("ok".to_owned(), short),
            committed.len()
        ),
        Expect::Trial(Ok(t)) => format!(
            "trial: ok, {}",
            if t.iter().any(|(_, t)| matches!(t, Tried::Failed(_))) {
                "one fails"
            } else {
                "all succeed"
            }
        ),
        Expect::Trial(Err(f)) => format!("trial: {}", short(f)),
        Expect::Repair(Ok(v)) => format!("repair: ok, {} repaired", v.len()),
        Expect::Repair(Err(f)) => format!("repair: {}", short(f)),
        Expect::Baseline(Ok(())) => "baseline: ok".to_owned(),
        Expect::Baseline(Err(f)) => format!("baseline: {}", short(f)),
        Expect::Restore {
            result: Ok(()),
            foreign,
        } => {
            format!("restore: ok, foreign {}", foreign.unwrap_or_default())
        }
        Expect::Restore { result: Err(f), .. } => format!("restore: {}", short(f)),
    };
    *TALLIES.lock().unwrap().entry(label).or_default() += 1;
}

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn config() -> Config {
    Config {
        cases: env_or("PROPTEST_CASES", 128),
        // Relative to the package: migrate-core/tests/.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/model.proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn steps() -> std::ops::RangeInclusive<usize> {
    1..=env_or("MODEL_STEPS", 20) as usize
}

prop_state_machine! {
    #![proptest_config(config())]

    #[test]
    fn the_runner_keeps_the_database_as_the_model_says(sequential steps() => RunnerTest);
}

/// The pool itself: every build proves, an edit changes the checksum and
/// not the schema, and a file made from `final_schema` has its version's.
#[test]
fn the_pool_of_builds_is_what_the_model_assumes() {
    for (id, b) in builds() {
        for v in 0..=id.len {
            assert_eq!(
                b.migrations.expected_schema(v),
                built(FULL).migrations.expected_schema(v),
                "{id:?} at {v}"
            );
        }
    }
    for v in 1..=LATEST {
        assert_ne!(checksum(v, false), checksum(v, true));
        let conn = Connection::open_in_memory().unwrap();
        let b = built(BuildId {
            len: v,
            edited: None,
        });
        conn.execute_batch(b.migrations.final_schema()).unwrap();
        assert_eq!(
            Some(Schema::read(&conn).unwrap().fingerprint()),
            b.migrations.expected_schema(v),
            "final_schema of version {v}"
        );
        assert_eq!(schema_of(v) == schema_of(v - 1), v == 4);
    }
}

/// The defect the model found, one library call at a time: while another
/// connection holds the write lock, each call given a busy timeout of
/// 20 ms must give up after about that, not after the connection's own
/// timeout (here 1 s; after any `Migrator` call on the connection, that
/// migrator's, 30 s by default), and say the timeout it waited.
#[test]
fn a_locked_database_is_given_up_after_the_callers_busy_timeout() {
    let full = built(FULL);
    let m = full.migrations.migrator().busy_timeout(LOCKED_TIMEOUT);
    let dir = tempfile::tempdir_in(scratch()).unwrap();
    let path = dir.path().join("app.db");
    let mut conn = Connection::open(&path).unwrap();
    // Up to version 7: `apply` has something to do, so needs the lock.
    migrator(FULL).target(Some(7)).apply(&mut conn).unwrap();
    let backup = backup_to_new(&conn, dir.path(), "app", TIMEOUT).unwrap();
    conn.busy_timeout(Duration::from_secs(1)).unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    type Call<'a> = Box<dyn Fn(&mut Connection) -> Result<(), Error> + 'a>;
    let calls: Vec<(&str, Call<'_>)> = vec![
        ("Migrator::apply", Box::new(|c| m.apply(c).map(drop))),
        ("Migrator::repair", Box::new(|c| m.repair(c).map(drop))),
        ("Migrator::baseline", Box::new(|c| m.baseline(c, 1))),
        (
            "backup::restore_from",
            Box::new(|c| restore_from(c, &backup, LOCKED_TIMEOUT)),
        ),
        (
            "backup::restore_keeping",
            Box::new(|c| restore_keeping(c, &backup, LOCKED_TIMEOUT, |_| Ok(None)).map(drop)),
        ),
    ];
    let mut wrong = Vec::new();
    for (name, call) in &calls {
        conn.busy_timeout(Duration::from_secs(1)).unwrap();
        let started = Instant::now();
        let result = call(&mut conn);
        let took = started.elapsed();
        let busy = matches!(&result, Err(Error::Busy { timeout }) if *timeout == LOCKED_TIMEOUT);
        if !busy || took > Duration::from_millis(500) {
            wrong.push(format!("{name}: {result:?} after {took:?}"));
        }
    }
    other.execute_batch("ROLLBACK").unwrap();
    assert!(
        wrong.is_empty(),
        "given a busy timeout of {LOCKED_TIMEOUT:?} on a connection whose own is 1 s:\n{}",
        wrong.join("\n")
    );
}
