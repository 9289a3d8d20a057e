//! The part of the harness every process runs: the harness itself (migrate-core
//! and the floors) and each worker (one competitor each). It is included with
//! `#[path]` and so compiles against each process's own rusqlite release;
//! all of them link the same SQLite archive.
//!
//! A process answers one command per line, one reply per line:
//!
//! | command | reply |
//! |---|---|
//! | `info` | `ok VERSION|SOURCE_ID|OPTION,OPTION,...` |
//! | `load N PATH` | `ok` (the workload file, see [`write_workload`]) |
//! | `apply NAME STORAGE VERIFY` | `ok NANOS DIGEST` (`DIGEST` is `-` unless `VERIFY` is 1) |
//! | `check NAME STORAGE open|warm REPS` | `ok NANOS VERSION` (`VERSION` is `-` when the call does not say) |
//! | `quit` | none |
//!
//! `STORAGE` is `file` (a database file in this process's temporary
//! directory, default journal mode and synchronous setting) or `memory`.
//! `apply` times only the contender's call, on a connection opened before and
//! closed after. `check ... open` times `Connection::open` and the check;
//! `check ... warm` times `REPS` checks on a connection kept open across
//! samples (its first sample, which prepares statements, is a warm-up the
//! caller discards), and replies the total.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::Connection;

/// The workload: for each migration in version order, its SQL items (each one
/// or more statements), exactly as migrate-core parsed them.
pub type Workload = Vec<Vec<String>>;

/// A contender's SQL as one text: its items joined, for tools that take one
/// string per migration.
pub fn joined(items: &[String]) -> String {
    items.join(";\n")
}

/// Bookkeeping tables the schema digest leaves out, so every contender's
/// result can be compared.
const BOOKKEEPING: &[&str] = &["schema_migrations", "refinery_schema_history"];

/// What one process measures: its contenders, apart from the floors that
/// [`Runner`] adds to every process.
pub trait Engine {
    /// Builds the contenders' migration lists from the workload (not timed).
    fn load(&mut self, workload: &Workload);
    /// Applies every migration to the empty database `conn` (timed).
    fn apply(&mut self, name: &str, conn: &mut Connection) -> Result<(), String>;
    /// The contender whose database a start-up check runs on (`None`: not one
    /// of this process's checks).
    fn check_database(&self, check: &str) -> Option<&'static str>;
    /// Runs one start-up check on a database the contender brought up to date
    /// (timed); returns the version it reports, when it reports one.
    fn check(&mut self, name: &str, conn: &mut Connection) -> Result<Option<i64>, String>;
    /// The contender whose database the floor checks use in this process.
    fn floor_database(&self) -> &'static str;
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Storage {
    File,
    Memory,
}

impl Storage {
    pub fn parse(s: &str) -> Result<Storage, String> {
        match s {
            "file" => Ok(Storage::File),
            "memory" => Ok(Storage::Memory),
            other => Err(format!("unknown storage {other:?}")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Storage::File => "file",
            Storage::Memory => "memory",
        }
    }
}

/// A database brought up to date once, for the start-up checks.
enum Prepared {
    File(PathBuf),
    Memory(Connection),
}

/// Serves the commands above for one engine.
pub struct Runner<E> {
    pub engine: E,
    dir: PathBuf,
    workload: Workload,
    n: usize,
    counter: u64,
    prepared: HashMap<(String, Storage), Prepared>,
    /// Connections kept open for `check ... warm` on files, one per check.
    warm: HashMap<String, Connection>,
}

impl<E: Engine> Runner<E> {
    /// A runner whose databases go in a new directory under `parent`.
    pub fn new(engine: E, parent: &Path, label: &str) -> io::Result<Self> {
        let dir = parent.join(format!("{label}-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(Runner {
            engine,
            dir,
            workload: Vec::new(),
            n: 0,
            counter: 0,
            prepared: HashMap::new(),
            warm: HashMap::new(),
        })
    }

    /// Answers one command line.
    pub fn handle(&mut self, line: &str) -> String {
        match self.try_handle(line) {
            Ok(reply) => reply,
            Err(e) => format!("err {}", e.replace('\n', " ")),
        }
    }

    fn try_handle(&mut self, line: &str) -> Result<String, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["info"] => Ok(format!("ok {}", sqlite_info()?)),
            ["load", n, path] => {
                self.reset();
                self.n = n.parse().map_err(|e| format!("bad N: {e}"))?;
                self.workload = read_workload(Path::new(path)).map_err(|e| e.to_string())?;
                if self.workload.len() != self.n {
                    return Err(format!("workload has {} migrations", self.workload.len()));
                }
                self.engine.load(&self.workload);
                Ok("ok".to_owned())
            }
            ["apply", name, storage, verify] => {
                let storage = Storage::parse(storage)?;
                let (nanos, digest) = self.apply(name, storage, *verify == "1")?;
                Ok(format!("ok {nanos} {}", digest.as_deref().unwrap_or("-")))
            }
            ["check", name, storage, mode, reps] => {
                let storage = Storage::parse(storage)?;
                let reps: u32 = reps.parse().map_err(|e| format!("bad REPS: {e}"))?;
                let (nanos, version) = self.check(name, storage, *mode == "open", reps)?;
                Ok(format!(
                    "ok {nanos} {}",
                    version.map_or("-".to_owned(), |v| v.to_string())
                ))
            }
            _ => Err(format!("unknown command {line:?}")),
        }
    }

    /// Reads commands from standard input until `quit` or its end.
    pub fn serve(&mut self) {
        let stdin = io::stdin();
        let mut out = io::stdout().lock();
        for line in stdin.lock().lines() {
            let line = line.expect("read a command");
            if line.trim() == "quit" {
                break;
            }
            let reply = self.handle(&line);
            writeln!(out, "{reply}").expect("write a reply");
            out.flush().expect("flush a reply");
        }
    }

    fn fresh_path(&mut self, what: &str) -> PathBuf {
        self.counter += 1;
        self.dir.join(format!("{what}-{}.db", self.counter))
    }

    fn open(
        &mut self,
        storage: Storage,
        what: &str,
    ) -> Result<(Connection, Option<PathBuf>), String> {
        match storage {
            Storage::File => {
                let path = self.fresh_path(what);
                let conn = Connection::open(&path).map_err(|e| e.to_string())?;
                Ok((conn, Some(path)))
            }
            Storage::Memory => Ok((
                Connection::open_in_memory().map_err(|e| e.to_string())?,
                None,
            )),
        }
    }

    /// Never inlined, so that `valgrind --tool=callgrind
    /// --toggle-collect='*run_apply*'` counts exactly one contender's call
    /// (see RESULTS.md, "Instruction counts").
    #[inline(never)]
    fn run_apply(&mut self, name: &str, conn: &mut Connection) -> Result<(), String> {
        match name {
            "floor-per-migration" => floor_per_migration(conn, &self.workload),
            "floor-per-migration+row" => floor_per_migration_with_row(conn, &self.workload),
            "floor-one-transaction" => floor_one_transaction(conn, &self.workload),
            other => self.engine.apply(other, conn),
        }
    }

    fn apply(
        &mut self,
        name: &str,
        storage: Storage,
        verify: bool,
    ) -> Result<(u128, Option<String>), String> {
        let (mut conn, path) = self.open(storage, "apply")?;
        let started = Instant::now();
        self.run_apply(name, &mut conn)?;
        let nanos = started.elapsed().as_nanos();
        let digest = if verify {
            Some(schema_digest(&conn)?)
        } else {
            None
        };
        drop(conn);
        if let Some(path) = path {
            remove_database(&path);
        }
        Ok((nanos, digest))
    }

    /// The database `contender` brought up to date, made on first use.
    fn prepared(&mut self, contender: &str, storage: Storage) -> Result<&mut Prepared, String> {
        let key = (contender.to_owned(), storage);
        if !self.prepared.contains_key(&key) {
            let (mut conn, path) = self.open(storage, contender)?;
            self.run_apply(contender, &mut conn)?;
            let prepared = match path {
                Some(path) => {
                    drop(conn);
                    Prepared::File(path)
                }
                None => Prepared::Memory(conn),
            };
            self.prepared.insert(key.clone(), prepared);
        }
        Ok(self.prepared.get_mut(&key).expect("just inserted"))
    }

    fn run_check(engine: &mut E, name: &str, conn: &mut Connection) -> Result<Option<i64>, String> {
        match name {
            "floor:user_version" => conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map(Some)
                .map_err(|e| e.to_string()),
            other => engine.check(other, conn),
        }
    }

    fn check(
        &mut self,
        name: &str,
        storage: Storage,
        open: bool,
        reps: u32,
    ) -> Result<(u128, Option<i64>), String> {
        let contender = match self.engine.check_database(name) {
            Some(contender) => contender,
            None if name.starts_with("floor:") => self.engine.floor_database(),
            None => return Err(format!("no check {name:?} in this process")),
        };
        self.prepared(contender, storage)?;
        let key = (contender.to_owned(), storage);
        let path = match self.prepared.get_mut(&key).expect("prepared") {
            Prepared::File(path) => path.clone(),
            Prepared::Memory(conn) => {
                if open {
                    return Err("a :memory: database cannot be opened again".to_owned());
                }
                return time_reps(reps, || Self::run_check(&mut self.engine, name, conn));
            }
        };
        if open {
            // Each repetition opens the file anew; closing it is not part
            // of a start-up check and stays out of the time. One untimed
            // open and check first, so that what the previous contender left
            // in this process (a large schema just freed and the heap
            // trimmed, cold caches) does not land on this one's sample: a
            // 17 µs `PRAGMA user_version` measured 20–70 µs right after a
            // check that loaded a 2,500-object schema.
            let mut total = 0;
            let mut version = None;
            for _ in 0..reps.max(1) {
                let mut conn = Connection::open(&path).map_err(|e| e.to_string())?;
                Self::run_check(&mut self.engine, name, &mut conn)?;
                drop(conn);
                let started = Instant::now();
                let mut conn = Connection::open(&path).map_err(|e| e.to_string())?;
                version = std::hint::black_box(Self::run_check(&mut self.engine, name, &mut conn)?);
                total += started.elapsed().as_nanos();
                drop(conn);
            }
            return Ok((total, version));
        }
        if !self.warm.contains_key(name) {
            let conn = Connection::open(&path).map_err(|e| e.to_string())?;
            self.warm.insert(name.to_owned(), conn);
        }
        let conn = self.warm.get_mut(name).expect("just inserted");
        time_reps(reps, || Self::run_check(&mut self.engine, name, conn))
    }

    fn reset(&mut self) {
        self.warm.clear();
        for (_, prepared) in self.prepared.drain() {
            if let Prepared::File(path) = prepared {
                remove_database(&path);
            }
        }
    }
}

impl<E> Drop for Runner<E> {
    fn drop(&mut self) {
        self.warm.clear();
        self.prepared.clear();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn time_reps(
    reps: u32,
    mut once: impl FnMut() -> Result<Option<i64>, String>,
) -> Result<(u128, Option<i64>), String> {
    let started = Instant::now();
    let mut version = None;
    for _ in 0..reps.max(1) {
        version = std::hint::black_box(once()?);
    }
    Ok((started.elapsed().as_nanos(), version))
}

fn remove_database(path: &Path) {
    let _ = fs::remove_file(path);
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = fs::remove_file(PathBuf::from(p));
    }
}

/// Floor (a): each migration in its own `BEGIN; ...; COMMIT`, no bookkeeping.
fn floor_per_migration(conn: &Connection, workload: &Workload) -> Result<(), String> {
    for items in workload {
        conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
        for item in items {
            conn.execute_batch(item).map_err(|e| e.to_string())?;
        }
        conn.execute_batch("COMMIT").map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Floor (a'): floor (a) plus a history row of migrate-core's shape and size
/// (same table, a 64-digit checksum and chain) in each migration's
/// transaction, prepared once: what storing the row costs by itself, which
/// no bookkeeping can avoid.
fn floor_per_migration_with_row(conn: &Connection, workload: &Workload) -> Result<(), String> {
    let e = |e: rusqlite::Error| e.to_string();
    let digest = "0123456789abcdef".repeat(4);
    for (i, items) in workload.iter().enumerate() {
        conn.execute_batch("BEGIN").map_err(e)?;
        if i == 0 {
            conn.execute_batch(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT,
                     applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, checksum TEXT,
                     chain TEXT, duration_ms REAL, applied_by TEXT)",
            )
            .map_err(e)?;
        }
        for item in items {
            conn.execute_batch(item).map_err(e)?;
        }
        conn.prepare_cached(
            "INSERT INTO schema_migrations \
             (version, description, checksum, chain, duration_ms, applied_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                i64::try_from(i + 1).unwrap_or(i64::MAX),
                format!("Backfill and extend t{}", i / 4),
                digest,
                digest,
                0.5,
                "migrate-core 0.1.0"
            ])
        })
        .map_err(e)?;
        conn.execute_batch("COMMIT").map_err(e)?;
    }
    Ok(())
}

/// Floor (b): every migration in one transaction, no bookkeeping.
fn floor_one_transaction(conn: &Connection, workload: &Workload) -> Result<(), String> {
    conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
    for items in workload {
        for item in items {
            conn.execute_batch(item).map_err(|e| e.to_string())?;
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())
}

/// A hash of the schema the migrations made (bookkeeping left out), to check
/// that every contender did the same work.
fn schema_digest(conn: &Connection) -> Result<String, String> {
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY name")
        .map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut count = 0;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let name: String = row.get(1).map_err(|e| e.to_string())?;
        let table: String = row.get(2).map_err(|e| e.to_string())?;
        if BOOKKEEPING.contains(&table.as_str()) || name.starts_with("sqlite_autoindex_") {
            continue;
        }
        count += 1;
        for i in 0..4 {
            let text: String = row.get(i).map_err(|e| e.to_string())?;
            for b in text.bytes().chain([0]) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    Ok(format!("{count}:{hash:016x}"))
}

/// The SQLite this process runs: version, source id and compile options.
pub fn sqlite_info() -> Result<String, String> {
    let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
    let (version, source): (String, String) = conn
        .query_row("SELECT sqlite_version(), sqlite_source_id()", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("PRAGMA compile_options")
        .map_err(|e| e.to_string())?;
    let options: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    Ok(format!("{version}|{source}|{}", options.join(",")))
}

/// Writes a workload: per migration `M COUNT`, then per item `I LEN` and the
/// item's bytes, each followed by a newline.
pub fn write_workload(path: &Path, workload: &Workload) -> io::Result<()> {
    let mut out = Vec::new();
    for items in workload {
        writeln!(out, "M {}", items.len())?;
        for item in items {
            writeln!(out, "I {}", item.len())?;
            out.extend_from_slice(item.as_bytes());
            out.push(b'\n');
        }
    }
    fs::write(path, out)
}

/// Reads what [`write_workload`] wrote.
pub fn read_workload(path: &Path) -> io::Result<Workload> {
    let mut text = String::new();
    fs::File::open(path)?.read_to_string(&mut text)?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut rest = text.as_str();
    let header = |rest: &mut &str, tag: &str| -> io::Result<usize> {
        let (line, after) = rest.split_once('\n').ok_or_else(|| bad("truncated"))?;
        *rest = after;
        line.strip_prefix(tag)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("bad header"))
    };
    let mut workload = Vec::new();
    while !rest.is_empty() {
        let count = header(&mut rest, "M ")?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let len = header(&mut rest, "I ")?;
            let item = rest.get(..len).ok_or_else(|| bad("truncated item"))?;
            items.push(item.to_owned());
            rest = rest
                .get(len..)
                .and_then(|r| r.strip_prefix('\n'))
                .ok_or_else(|| bad("item not followed by a newline"))?;
        }
        workload.push(items);
    }
    Ok(workload)
}

/// A worker's `main`: reads `--dir DIR` (default: the system temp dir) and
/// serves `engine` on standard input and output.
pub fn serve_worker<E: Engine>(engine: E, name: &str) {
    let mut args = std::env::args().skip(1);
    let mut dir = std::env::temp_dir();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = std::path::PathBuf::from(args.next().expect("--dir DIR")),
            other => panic!("unknown argument {other:?}"),
        }
    }
    Runner::new(engine, &dir, name).expect("temp dir").serve();
}
