//! The comparison harness: migrate-core against refinery, rusqlite_migration
//! and plain-rusqlite floors, on the generated workload of
//! `migrate-core/benches/workload`, interleaved round-robin so that machine
//! noise hits every contender alike. See RESULTS.md for how to run it.
//!
//! migrate-core and the floors run in this process. refinery and
//! rusqlite_migration each run in a worker process (`workers/`), because no
//! published release of either accepts rusqlite 0.43 and two releases of
//! libsqlite3-sys cannot be linked into one program. The workers are linked
//! against the very `libsqlite3.a` this build compiled, and the harness
//! refuses to run unless every process reports the same `sqlite_source_id()`
//! and compile options. Every sample is still taken in turn: the harness
//! sends one command, the process concerned times its call and answers, then
//! the next contender goes.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use migrate_core::{Migrations, Migrator};
use rusqlite::Connection;

#[path = "../shared/runner.rs"]
#[allow(dead_code)]
mod runner;
#[path = "../../../migrate-core/benches/workload/mod.rs"]
mod workload;

use runner::{Engine, Runner, Storage, Workload};

/// migrate-core, in this process.
#[derive(Default)]
struct Core {
    migrations: Option<Migrations>,
}

impl Core {
    fn list(&self) -> Result<&Migrations, String> {
        self.migrations
            .as_ref()
            .ok_or_else(|| "no workload loaded".to_owned())
    }
}

impl Engine for Core {
    fn load(&mut self, _workload: &Workload) {
        // The harness hands over the parsed list itself (see `run`).
    }

    fn apply(&mut self, name: &str, conn: &mut Connection) -> Result<(), String> {
        match name {
            "migrate-core" | "migrate-core-single-transaction" => {
                let list = self.list()?;
                let report = Migrator::new(list)
                    .single_transaction(name == "migrate-core-single-transaction")
                    .apply(conn)
                    .map_err(|e| e.to_string())?;
                if report.applied.len() != list.len() {
                    return Err(format!("applied {} migrations", report.applied.len()));
                }
                Ok(())
            }
            other => Err(format!("no contender {other:?} in this process")),
        }
    }

    fn check_database(&self, check: &str) -> Option<&'static str> {
        match check {
            "migrate-core:apply" | "migrate-core:current_version" | "floor:max(version)" => {
                Some("migrate-core")
            }
            _ => None,
        }
    }

    fn check(&mut self, name: &str, conn: &mut Connection) -> Result<Option<i64>, String> {
        let list = self.list()?;
        match name {
            "migrate-core:apply" => {
                let report = Migrator::new(list).apply(conn).map_err(|e| e.to_string())?;
                if !report.applied.is_empty() {
                    return Err("applied something at start-up".to_owned());
                }
                Ok(Some(report.version))
            }
            "migrate-core:current_version" => Migrator::new(list)
                .current_version(conn)
                .map(Some)
                .map_err(|e| e.to_string()),
            "floor:max(version)" => conn
                .prepare_cached("SELECT max(version) FROM schema_migrations")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map(Some)
                .map_err(|e| e.to_string()),
            other => Err(format!("no check {other:?} in this process")),
        }
    }

    fn floor_database(&self) -> &'static str {
        "migrate-core"
    }
}

/// Where a contender runs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Proc {
    Core,
    Refinery,
    RusqliteMigration,
}

impl Proc {
    fn label(self) -> &'static str {
        match self {
            Proc::Core => "harness",
            Proc::Refinery => "refinery worker",
            Proc::RusqliteMigration => "rusqlite_migration worker",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Proc::Core => "harness",
            Proc::Refinery => "refinery",
            Proc::RusqliteMigration => "rusqlite_migration",
        }
    }

    /// The worker's package directory and binary name.
    fn worker(self) -> Option<(&'static str, &'static str)> {
        match self {
            Proc::Core => None,
            Proc::Refinery => Some(("workers/refinery", "compare-refinery")),
            Proc::RusqliteMigration => {
                Some(("workers/rusqlite_migration", "compare-rusqlite-migration"))
            }
        }
    }
}

/// The contenders applying every migration to an empty database.
const APPLIERS: &[(&str, Proc)] = &[
    ("migrate-core", Proc::Core),
    // `apply --single-transaction`: the same, every migration in one
    // transaction, like rusqlite_migration and floor-one-transaction.
    ("migrate-core-single-transaction", Proc::Core),
    ("refinery", Proc::Refinery),
    ("rusqlite_migration", Proc::RusqliteMigration),
    ("floor-per-migration", Proc::Core),
    // The same, plus a history row like migrate-core's in each transaction.
    ("floor-per-migration+row", Proc::Core),
    ("floor-one-transaction", Proc::Core),
];

/// The start-up checks, on a database with every migration applied.
const CHECKS: &[(&str, Proc)] = &[
    ("migrate-core:apply", Proc::Core),
    ("migrate-core:current_version", Proc::Core),
    ("refinery:run", Proc::Refinery),
    ("refinery:get_last_applied_migration", Proc::Refinery),
    ("rusqlite_migration:to_latest", Proc::RusqliteMigration),
    (
        "rusqlite_migration:current_version",
        Proc::RusqliteMigration,
    ),
    ("floor:user_version", Proc::Core),
    ("floor:max(version)", Proc::Core),
];

/// A worker process, spoken to over its standard input and output.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

enum Process {
    Local(Box<Runner<Core>>),
    Remote(Worker),
}

impl Process {
    fn call(&mut self, command: &str) -> String {
        let reply = match self {
            Process::Local(runner) => runner.handle(command),
            Process::Remote(worker) => {
                writeln!(worker.stdin, "{command}").expect("send a command to a worker");
                worker.stdin.flush().expect("send a command to a worker");
                let mut line = String::new();
                worker
                    .stdout
                    .read_line(&mut line)
                    .expect("read a worker's reply");
                line.trim_end().to_owned()
            }
        };
        match reply.strip_prefix("ok") {
            Some(rest) => rest.trim().to_owned(),
            None => panic!("{command:?} failed: {reply}"),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Process::Remote(worker) = self {
            let _ = writeln!(worker.stdin, "quit");
            let _ = worker.stdin.flush();
            let _ = worker.child.wait();
        }
    }
}

/// What to run, from the command line and the environment.
struct Options {
    ns: Vec<usize>,
    storages: Vec<Storage>,
    apply: bool,
    check: bool,
    only: Option<Vec<String>>,
    apply_once: bool,
    build: bool,
    floors_in_workers: bool,
    apply_samples: Option<usize>,
    check_samples: usize,
    dir: PathBuf,
    out: Option<PathBuf>,
    command: String,
}

const USAGE: &str = "\
compare: migrate-core against refinery, rusqlite_migration and plain-rusqlite floors

  cargo bench --manifest-path benches/compare/Cargo.toml [-- OPTIONS]
  benches/compare/target/release/compare OPTIONS

  --quick                N = 100 and 1000, fewer samples (also COMPARE_QUICK=1)
  --n LIST               migration counts, comma-separated (also COMPARE_N); default 100,1000,5000
  --storage file|memory  only this storage (default both)
  --scenario apply|check only this scenario (default both)
  --only LIST            only these contenders or checks, comma-separated
  --samples K            samples per contender for `apply` (default by N; also COMPARE_SAMPLES)
  --check-samples K      samples per check (default 41, quick 15)
  --apply-once           apply N migrations once with the one contender of --only, print
                         the time and exit (for strace -f -c -e trace=fsync,fdatasync);
                         builds its worker only if missing
  --no-build             do not (re)build the worker processes
  --floors-in-workers    also run the floors in each worker (as floor-...@refinery and
                         floor-...@rusqlite_migration), to see what the process and its
                         rusqlite release change
  --dir DIR              where the databases go (default: the system temp dir)
  --out FILE             also write the Markdown report to FILE
";

fn options() -> Options {
    let mut args = env::args().skip(1).peekable();
    let quick_env = env::var("COMPARE_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let mut o = Options {
        ns: vec![100, 1000, 5000],
        storages: vec![Storage::File, Storage::Memory],
        apply: true,
        check: true,
        only: None,
        apply_once: false,
        build: true,
        floors_in_workers: false,
        apply_samples: env::var("COMPARE_SAMPLES")
            .ok()
            .and_then(|v| v.parse().ok()),
        check_samples: 41,
        dir: env::temp_dir(),
        out: None,
        command: String::new(),
    };
    let mut quick = quick_env;
    let mut ns_given = env::var("COMPARE_N").ok();
    let mut check_samples = None;
    let list = |s: String| -> Vec<String> { s.split(',').map(|x| x.trim().to_owned()).collect() };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--quick" => quick = true,
            "--n" => ns_given = Some(value("--n")),
            "--storage" => o.storages = vec![Storage::parse(&value("--storage")).expect("storage")],
            "--scenario" => match value("--scenario").as_str() {
                "apply" => o.check = false,
                "check" => o.apply = false,
                other => panic!("unknown scenario {other:?}\n\n{USAGE}"),
            },
            "--only" => o.only = Some(list(value("--only"))),
            "--samples" => o.apply_samples = Some(value("--samples").parse().expect("a number")),
            "--check-samples" => {
                check_samples = Some(value("--check-samples").parse().expect("a number"))
            }
            "--apply-once" => o.apply_once = true,
            "--no-build" => o.build = false,
            "--floors-in-workers" => o.floors_in_workers = true,
            "--dir" => o.dir = PathBuf::from(value("--dir")),
            "--out" => o.out = Some(PathBuf::from(value("--out"))),
            // Passed by `cargo bench` to every bench target.
            "--bench" => {}
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    o.ns = match ns_given {
        Some(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("N is a number"))
            .collect(),
        None if quick => vec![100, 1000],
        None => o.ns,
    };
    o.check_samples = check_samples.unwrap_or(if quick { 15 } else { 41 });
    if quick && o.apply_samples.is_none() {
        o.apply_samples = Some(5);
    }
    o.command = env::args().collect::<Vec<_>>().join(" ");
    o
}

/// Samples per contender for applying `n` migrations, unless set.
fn apply_samples(o: &Options, n: usize) -> usize {
    o.apply_samples.unwrap_or(match n {
        0..=200 => 21,
        201..=2000 => 9,
        _ => 5,
    })
}

/// A contender's name without the `@process` of a floor run in a worker.
fn base(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

fn selected(o: &Options, name: &str) -> bool {
    o.only
        .as_ref()
        .is_none_or(|only| only.iter().any(|x| x == name))
}

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn worker_binary(bin: &str) -> PathBuf {
    harness_dir().join("target/workers/release").join(bin)
}

/// Builds a worker against this build's `libsqlite3.a`.
fn build_worker(package: &str) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = harness_dir().join(package).join("Cargo.toml");
    eprintln!(
        "building {package} against {}",
        env!("COMPARE_SQLITE_LIB_DIR")
    );
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(harness_dir().join("target/workers"))
        .env("SQLITE3_LIB_DIR", env!("COMPARE_SQLITE_LIB_DIR"))
        .env("SQLITE3_STATIC", "1")
        .env("SQLITE3_NO_PKG_CONFIG", "1")
        .status()
        .expect("run cargo");
    assert!(status.success(), "building {package} failed");
}

fn spawn_worker(bin: &str, dir: &Path) -> Worker {
    let path = worker_binary(bin);
    let mut child = Command::new(&path)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); run without --no-build/--apply-once once to build it",
                path.display()
            )
        });
    Worker {
        stdin: child.stdin.take().expect("piped"),
        stdout: BufReader::new(child.stdout.take().expect("piped")),
        child,
    }
}

/// One measured case: a scenario on one storage (and, for checks, with or
/// without opening the connection), for one N.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Case {
    scenario: &'static str,
    storage: &'static str,
    mode: &'static str,
    n: usize,
}

/// Per case, per contender: nanoseconds per call, one per sample.
type Samples = BTreeMap<Case, Vec<(String, Vec<f64>)>>;

/// Runs the harness.
pub fn main() {
    let o = options();
    let mut needed: Vec<(&str, Proc)> = APPLIERS
        .iter()
        .filter(|_| o.apply || o.apply_once)
        .chain(CHECKS.iter().filter(|_| o.check && !o.apply_once))
        .filter(|(name, _)| selected(&o, name))
        .copied()
        .collect();
    if o.floors_in_workers {
        let copies: Vec<(&str, Proc)> = needed
            .iter()
            .filter(|(name, p)| name.starts_with("floor") && *p == Proc::Core)
            .flat_map(|(name, _)| {
                [Proc::Refinery, Proc::RusqliteMigration].map(|p| {
                    let label: &'static str =
                        Box::leak(format!("{name}@{}", p.short()).into_boxed_str());
                    (label, p)
                })
            })
            .filter(|(name, _)| *name != "floor:max(version)@refinery")
            .filter(|(name, _)| *name != "floor:max(version)@rusqlite_migration")
            .collect();
        needed.extend(copies);
    }
    if o.apply_once {
        assert!(
            needed.len() == 1 && o.ns.len() == 1,
            "--apply-once needs one contender (--only NAME) and one N (--n N)"
        );
    }
    assert!(!needed.is_empty(), "nothing selected");

    fs_create(&o.dir);
    let core = Runner::new(Core::default(), &o.dir, "compare-harness").expect("temp dir");
    let mut procs: BTreeMap<Proc, Process> = BTreeMap::new();
    procs.insert(Proc::Core, Process::Local(Box::new(core)));
    let sqlite = procs.get_mut(&Proc::Core).expect("core").call("info");
    let mut workers: Vec<Proc> = needed.iter().map(|(_, p)| *p).collect();
    workers.sort();
    workers.dedup();
    for p in workers {
        let Some((package, bin)) = p.worker() else {
            continue;
        };
        // `--apply-once` runs under strace: build only a missing worker
        // (run it once before tracing), so that cargo's own system calls
        // stay out of the count.
        if o.build && (!o.apply_once || !worker_binary(bin).exists()) {
            build_worker(package);
        }
        let mut process = Process::Remote(spawn_worker(bin, &o.dir));
        let theirs = process.call("info");
        if theirs != sqlite && env::var("COMPARE_ALLOW_SQLITE_MISMATCH").is_err() {
            panic!(
                "the {} runs another SQLite:\n  harness: {sqlite}\n  worker:  {theirs}",
                p.label()
            );
        }
        procs.insert(p, process);
    }

    // Before measuring: the build already happened, and someone may edit
    // the sources while this runs.
    let source = source_state();
    let started_load = loadavg();
    let started = Instant::now();
    let mut samples: Samples = BTreeMap::new();
    for &n in &o.ns {
        let text = workload::migrations_toml(n);
        let migrations = Migrations::from_toml(&text, "x").expect("the workload is valid");
        let items: Workload = migrations
            .iter()
            .map(|m| m.sql().map(str::to_owned).collect())
            .collect();
        let path = o
            .dir
            .join(format!("compare-workload-{}-{n}.txt", std::process::id()));
        runner::write_workload(&path, &items).expect("write the workload");
        if let Some(Process::Local(runner)) = procs.get_mut(&Proc::Core) {
            runner.engine.migrations = Some(migrations);
        }
        for process in procs.values_mut() {
            process.call(&format!("load {n} {}", path.display()));
        }
        let _ = std::fs::remove_file(&path);

        if o.apply_once {
            let (name, p) = needed[0];
            let storage = o.storages[0];
            let reply = procs
                .get_mut(&p)
                .expect("process")
                .call(&format!("apply {name} {} 1", storage.name()));
            let (nanos, digest) = reply.split_once(' ').expect("NANOS DIGEST");
            let nanos: f64 = nanos.parse().expect("nanos");
            println!(
                "{name}: applied {n} migrations to an empty {} database in {} (schema {digest})",
                storage.name(),
                format_ns(nanos)
            );
            return;
        }

        if o.apply {
            for &storage in &o.storages {
                let contenders: Vec<(&str, Proc)> = needed
                    .iter()
                    .filter(|(name, _)| APPLIERS.iter().any(|(a, _)| *a == base(name)))
                    .copied()
                    .collect();
                let case = Case {
                    scenario: "apply",
                    storage: storage.name(),
                    mode: "",
                    n,
                };
                let k = apply_samples(&o, n);
                eprintln!("apply N={n} {}: {k} samples each", storage.name());
                let result = round_robin(&mut procs, &contenders, k, |name, first| {
                    format!(
                        "apply {} {} {}",
                        base(name),
                        storage.name(),
                        u8::from(first)
                    )
                });
                // Every contender must have made the same schema.
                let digests: Vec<&String> = result.iter().map(|r| &r.2).collect();
                assert!(
                    digests.windows(2).all(|w| w[0] == w[1]),
                    "contenders made different schemas: {:?}",
                    result.iter().map(|r| (&r.0, &r.2)).collect::<Vec<_>>()
                );
                samples.insert(
                    case,
                    result.into_iter().map(|(name, s, _)| (name, s)).collect(),
                );
            }
        }

        if o.check {
            let contenders: Vec<(&str, Proc)> = needed
                .iter()
                .filter(|(name, _)| CHECKS.iter().any(|(c, _)| *c == base(name)))
                .copied()
                .collect();
            for &storage in &o.storages {
                let modes: &[&'static str] = match storage {
                    Storage::File => &["open", "warm"],
                    Storage::Memory => &["warm"],
                };
                for &mode in modes {
                    let case = Case {
                        scenario: "check",
                        storage: storage.name(),
                        mode,
                        n,
                    };
                    eprintln!(
                        "check N={n} {} {mode}: {} samples each",
                        storage.name(),
                        o.check_samples
                    );
                    // A warm-up call each (it also makes the database), then
                    // as many calls per sample as fill about 2 ms.
                    let mut reps = BTreeMap::new();
                    for &(name, p) in &contenders {
                        let process = procs.get_mut(&p).expect("process");
                        let command =
                            |r: u32| format!("check {} {} {mode} {r}", base(name), storage.name());
                        process.call(&command(1));
                        let reply = process.call(&command(1));
                        let nanos: f64 = reply.split(' ').next().unwrap().parse().unwrap();
                        let r = if mode == "open" {
                            1
                        } else {
                            (2e6 / nanos.max(1.0)).clamp(1.0, 1000.0) as u32
                        };
                        reps.insert(name, r);
                    }
                    let result =
                        round_robin(&mut procs, &contenders, o.check_samples, |name, _| {
                            format!(
                                "check {} {} {mode} {}",
                                base(name),
                                storage.name(),
                                reps[name]
                            )
                        });
                    for (name, _, version) in &result {
                        if version != "-" && !name.contains("user_version") {
                            assert_eq!(version, &n.to_string(), "{name} reports version {version}");
                        }
                    }
                    samples.insert(
                        case,
                        result
                            .into_iter()
                            .map(|(name, s, _)| {
                                let r = f64::from(reps[name.as_str()]);
                                (name, s.into_iter().map(|x| x / r).collect())
                            })
                            .collect(),
                    );
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let report = report(
        &o,
        &sqlite,
        &source,
        &samples,
        &started_load,
        elapsed.as_secs_f64(),
    );
    println!("{report}");
    if let Some(out) = &o.out {
        std::fs::write(out, &report).expect("write the report");
    }
}

fn fs_create(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the database directory");
}

/// Takes `k` samples of each contender, one contender after the other, the
/// starting contender moving on by one each round; returns per contender its
/// samples and the second word of its first reply (a digest or version).
fn round_robin(
    procs: &mut BTreeMap<Proc, Process>,
    contenders: &[(&str, Proc)],
    k: usize,
    command: impl Fn(&str, bool) -> String,
) -> Vec<(String, Vec<f64>, String)> {
    let mut result: Vec<(String, Vec<f64>, String)> = contenders
        .iter()
        .map(|(name, _)| ((*name).to_owned(), Vec::new(), String::new()))
        .collect();
    for round in 0..k {
        for i in 0..contenders.len() {
            let at = (round + i) % contenders.len();
            let (name, p) = contenders[at];
            let reply = procs
                .get_mut(&p)
                .expect("process")
                .call(&command(name, round == 0));
            let (nanos, word) = reply.split_once(' ').expect("NANOS WORD");
            result[at].1.push(nanos.parse().expect("nanos"));
            if round == 0 {
                result[at].2 = word.to_owned();
            }
        }
    }
    result
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn quartiles(v: &[f64]) -> (f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.75))
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Cores, processor and kernel, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "?".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({model}), Linux {}", kernel.trim())
}

/// The commit migrate-core was built from, and whether its sources differed.
fn source_state() -> String {
    let repo = harness_dir().join("../..");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        None => "not in a git checkout".to_owned(),
        Some(head) => {
            let dirty = git(&["status", "--porcelain", "--", "migrate-core"]).unwrap_or_default();
            let last =
                git(&["log", "-1", "--format=%h %s", "--", "migrate-core"]).unwrap_or_default();
            let head = format!("{head} (last change to migrate-core: {last})");
            if dirty.is_empty() {
                format!("commit {head}, unmodified")
            } else {
                let files: Vec<&str> = dirty.lines().filter_map(|l| l.get(3..)).collect();
                format!(
                    "commit {head} with uncommitted changes to {} (the build used the working tree)",
                    files.join(", ")
                )
            }
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

fn report(
    o: &Options,
    sqlite: &str,
    source: &str,
    samples: &Samples,
    load: &str,
    secs: f64,
) -> String {
    let mut r = String::new();
    let (version, rest) = sqlite.split_once('|').unwrap_or((sqlite, ""));
    let source_id = rest.split('|').next().unwrap_or("");
    let _ = writeln!(r, "Command: `{}`", o.command);
    let _ = writeln!(r, "Machine: {}.", machine());
    let _ = writeln!(r, "migrate-core: {source}.");
    let _ = writeln!(
        r,
        "SQLite {version} ({source_id}), the same archive in every process; \
         load average {load} at the start, {} at the end; {secs:.0} s.",
        loadavg()
    );
    let _ = writeln!(
        r,
        "Times are medians per call over the samples (p25–p75 beside); ratios are \
         medians over the floor's median for the same N and storage.\n"
    );
    let mut last = ("", "", "");
    for (case, rows) in samples {
        let key = (case.scenario, case.storage, case.mode);
        if key != last {
            last = key;
            let (title, floors): (String, [&str; 2]) = match case.scenario {
                "apply" => (
                    format!(
                        "Apply every migration to an empty database ({})",
                        case.storage
                    ),
                    ["floor-per-migration", "floor-one-transaction"],
                ),
                _ => (
                    format!(
                        "Start-up check, every migration applied ({}, {})",
                        case.storage,
                        if case.mode == "open" {
                            "including Connection::open"
                        } else {
                            "connection already open"
                        }
                    ),
                    ["floor:user_version", "floor:max(version)"],
                ),
            };
            let _ = writeln!(r, "\n### {title}\n");
            let _ = writeln!(
                r,
                "| N | contender | median | per migration | p25–p75 | samples | × {} | × {} |",
                floors[0], floors[1]
            );
            let _ = writeln!(r, "|---:|---|---:|---:|---:|---:|---:|---:|");
        }
        let floor = |name: &str| rows.iter().find(|(n, _)| n == name).map(|(_, s)| median(s));
        let floors: [Option<f64>; 2] = match case.scenario {
            "apply" => [floor("floor-per-migration"), floor("floor-one-transaction")],
            _ => [floor("floor:user_version"), floor("floor:max(version)")],
        };
        for (name, s) in rows {
            let m = median(s);
            let (lo, hi) = quartiles(s);
            let ratio = |f: Option<f64>| f.map_or("–".to_owned(), |f| format!("{:.2}", m / f));
            let per = if case.scenario == "apply" {
                format_ns(m / case.n as f64)
            } else {
                "–".to_owned()
            };
            let _ = writeln!(
                r,
                "| {} | {name} | {} | {per} | {}–{} | {} | {} | {} |",
                case.n,
                format_ns(m),
                format_ns(lo),
                format_ns(hi),
                s.len(),
                ratio(floors[0]),
                ratio(floors[1]),
            );
        }
    }
    r
}
