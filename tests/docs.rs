//! Completions, the man page, the examples in `help`, and the README's
//! command reference, which is generated from `--help` and must stay equal
//! to it.
//!
//! `fixture-repo` is `migrate` over the repository's migrations.toml. Clap
//! names the program in `Usage:` lines after the executable it was started
//! as, so the help is taken with `argv[0]` set to `migrate`: exactly what
//! the installed `migrate` prints.
//!
//! To regenerate the README's command reference after changing help texts:
//!
//! ```sh
//! UPDATE_README=1 cargo test -p migrate-tests --test docs
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use migrate_tests::Run;

const REPO: &str = env!("CARGO_BIN_EXE_fixture-repo");

const BEGIN: &str = "<!-- BEGIN GENERATED HELP -->";
const END: &str = "<!-- END GENERATED HELP -->";
const UPDATE: &str = "UPDATE_README=1 cargo test -p migrate-tests --test docs";

/// The commands the README and the tests expect at least: a parse of
/// `--help` that finds fewer is a broken parse, not a shorter list.
const KNOWN: [&str; 5] = ["status", "apply", "check", "completions", "man"];

/// `migrate ARGS…` run as the program `migrate`, with nothing from the
/// environment that changes its output (database, colours).
fn migrate(args: &[&str]) -> Run {
    let mut cmd = Command::new(REPO);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.arg0("migrate");
    }
    cmd.args(args)
        .env_remove("MIGRATE_DATABASE")
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {REPO}: {e}"));
    let mut run = Run::from(out);
    if cfg!(not(unix)) {
        // Without arg0, clap names the program after the executable's file.
        let file = Path::new(REPO).file_name().unwrap().to_string_lossy();
        for name in [file.as_ref(), "fixture-repo"] {
            run.stdout = run.stdout.replace(name, "migrate");
        }
    }
    run
}

/// Stdout of a run that must succeed quietly.
#[track_caller]
fn output_of(args: &[&str]) -> String {
    let run = migrate(args);
    run.expect_success();
    assert!(
        !run.stdout.is_empty(),
        "`migrate {}` printed nothing",
        args.join(" ")
    );
    run.stdout
}

/// The subcommands `migrate --help` lists under "Commands:", in its order,
/// without clap's own `help`.
fn commands() -> Vec<String> {
    let help = output_of(&["--help"]);
    let list: Vec<String> = help
        .lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command starts its line after two spaces; a wrapped description
        // is indented further.
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    for known in KNOWN {
        assert!(
            list.iter().any(|c| c == known),
            "`migrate --help` should list `{known}` under Commands:, found {list:?}:\n{help}"
        );
    }
    list
}

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

/// What goes between the markers: `migrate --help`, then `migrate help
/// COMMAND` for every command, each in a ```text block.
fn generated_help() -> String {
    let mut sections = vec![("migrate --help".to_owned(), output_of(&["--help"]))];
    for command in commands() {
        sections.push((
            format!("migrate help {command}"),
            output_of(&["help", &command]),
        ));
    }
    let mut text = format!(
        "{BEGIN}\n<!-- Generated from the help of `migrate` itself; do not edit by hand. \
         After changing a help text, run `{UPDATE}`. -->\n"
    );
    for (title, body) in sections {
        assert!(
            !body.contains("```"),
            "{title} contains a code fence, which would break the README:\n{body}"
        );
        let body = body.trim_end();
        text.push_str(&format!("\n### `{title}`\n\n```text\n{body}\n```\n"));
    }
    text.push('\n');
    text.push_str(END);
    text
}

/// The README split around its generated section: before BEGIN, the section
/// from BEGIN to END inclusive, after END.
fn split_readme(readme: &str) -> (&str, &str, &str) {
    let start = readme
        .find(BEGIN)
        .unwrap_or_else(|| panic!("README.md has no `{BEGIN}` marker"));
    let end = readme[start..]
        .find(END)
        .map(|i| start + i + END.len())
        .unwrap_or_else(|| panic!("README.md has no `{END}` marker after `{BEGIN}`"));
    assert_eq!(
        readme.matches(BEGIN).count() + readme.matches(END).count(),
        2,
        "README.md should hold each marker exactly once"
    );
    (&readme[..start], &readme[start..end], &readme[end..])
}

#[test]
fn readme_command_reference_is_the_current_help() {
    let path = readme_path();
    let readme = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let (before, current, after) = split_readme(&readme);
    let expected = generated_help();
    if current == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some_and(|v| v == "1") {
        std::fs::write(&path, format!("{before}{expected}{after}"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("updated the command reference in {}", path.display());
        return;
    }
    let (line, readme_line, help_line) = current
        .lines()
        .zip(expected.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i + 1, a, b))
        .unwrap_or_else(|| {
            let n = current.lines().count().min(expected.lines().count());
            (n + 1, "(end of section)", "(end of section)")
        });
    panic!(
        "README.md's command reference differs from the help `migrate` prints.\n\
         First difference at line {line} of the generated section:\n  \
         README: {readme_line:?}\n  help:   {help_line:?}\n\
         Run `{UPDATE}` to regenerate it, and commit README.md."
    );
}

#[test]
fn the_generated_section_covers_every_command() {
    let text = generated_help();
    assert!(text.contains("\n### `migrate --help`\n"));
    for command in commands() {
        assert!(
            text.contains(&format!("\n### `migrate help {command}`\n\n```text\n")),
            "the section should show `migrate help {command}`"
        );
        assert!(
            text.contains(&format!("Usage: migrate {command}")),
            "`migrate help {command}` should show its usage as `migrate {command}`"
        );
    }
}

/// The words of a script: runs of letters, digits and `-`, without leading
/// dashes (`--dry-run` is `dry-run`).
fn words(script: &str) -> BTreeSet<&str> {
    script
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .map(|w| w.trim_start_matches('-'))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn completions_generate_for_bash_zsh_and_fish() {
    let commands = commands();
    for shell in ["bash", "zsh", "fish"] {
        let script = output_of(&["completions", shell]);
        let words = words(&script);
        assert!(
            words.contains("migrate"),
            "the {shell} script should complete `migrate`:\n{script}"
        );
        assert!(
            !words.contains("fixture-repo"),
            "the {shell} script should name the program `migrate`, not the executable"
        );
        for command in commands
            .iter()
            .map(String::as_str)
            .chain(["apply", "check"])
        {
            assert!(
                words.contains(command),
                "the {shell} script should complete the subcommand `{command}`"
            );
        }
        for option in ["database", "busy-timeout", "dry-run"] {
            assert!(
                words.contains(option),
                "the {shell} script should complete the option --{option}"
            );
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let run = migrate(&["completions", "nosh"]);
    run.expect_code(2);
    assert_eq!(
        run.stdout, "",
        "nothing should be printed on stdout:\n{run}"
    );
    assert!(
        run.stderr.contains("nosh") && run.stderr.contains("bash"),
        "the error should name the value and the shells there are:\n{run}"
    );
    let run = migrate(&["completions"]);
    run.expect_code(2);
    assert_eq!(
        run.stdout, "",
        "nothing should be printed on stdout:\n{run}"
    );
}

#[test]
fn the_man_page_renders() {
    let page = output_of(&["man"]);
    // clap_mangen starts with the groff idiom defining the `Aq` string
    // (`.ie` / `.el`), then the title line; only roff requests come first.
    let header: Vec<&str> = page.lines().take_while(|l| !l.starts_with(".TH")).collect();
    assert!(
        header.len() < page.lines().count() && header.len() <= 2,
        "the page should start with a `.TH` title within its first lines:\n{page}"
    );
    assert!(
        header.iter().all(|l| l.starts_with('.')),
        "only roff requests should come before `.TH`:\n{page}"
    );
    let title = page.lines().find(|l| l.starts_with(".TH")).unwrap();
    assert!(
        title.starts_with(".TH migrate 1"),
        "the page should be migrate(1), not {title:?}"
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(
            page.lines().any(|l| l == section),
            "the page should have {section}:\n{page}"
        );
    }
    for command in commands() {
        // roff escapes every hyphen: `migrate\-declare\-losses(1)`.
        assert!(
            page.contains(&format!("migrate\\-{}(1)", command.replace('-', "\\-"))),
            "the page should list the subcommand `{command}`:\n{page}"
        );
    }
    assert!(
        page.contains("Example"),
        "the page should keep the examples of `migrate --help`"
    );
}

#[test]
fn every_help_shows_an_example() {
    let help = output_of(&["help"]);
    assert_eq!(
        help,
        output_of(&["--help"]),
        "`migrate help` and `migrate --help` should print the same"
    );
    assert!(
        help.lines().any(|l| l == "Examples:"),
        "`migrate help` should show examples:\n{help}"
    );
    for command in commands() {
        let help = output_of(&["help", &command]);
        let example = help
            .lines()
            .skip_while(|l| *l != "Example:" && *l != "Examples:")
            .skip(1)
            .find(|l| !l.trim().is_empty());
        let Some(example) = example else {
            panic!("`migrate help {command}` should end with an example:\n{help}");
        };
        assert!(
            example.starts_with(&format!("  migrate {command}")),
            "the example of `migrate help {command}` should run `migrate {command}`, \
             not {example:?}:\n{help}"
        );
        assert_eq!(
            help,
            output_of(&[&command, "--help"]),
            "`migrate help {command}` and `migrate {command} --help` should print the same"
        );
    }
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // The read end is closed before `migrate` writes: every write fails
    // with a broken pipe, which is what `migrate man | head -1` meets.
    for args in [&["man"][..], &["completions", "bash"][..]] {
        let (reader, writer) = std::io::pipe().expect("create a pipe");
        drop(reader);
        let mut cmd = Command::new(REPO);
        cmd.args(args)
            .env_remove("MIGRATE_DATABASE")
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped());
        let run = Run::from(cmd.output().expect("run migrate"));
        run.expect_code(0);
        assert_eq!(run.stderr, "", "a closed pipe should be quiet:\n{run}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_is_one_line_and_exit_code_1() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    for (args, what) in [
        (&["man"][..], "cannot write the manual page"),
        (
            &["completions", "zsh"][..],
            "cannot write the zsh completion script",
        ),
    ] {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(full)
            .expect("open /dev/full");
        let mut cmd = Command::new(REPO);
        cmd.args(args)
            .env_remove("MIGRATE_DATABASE")
            .stdin(Stdio::null())
            .stdout(file);
        let run = Run::from(cmd.output().expect("run migrate"));
        run.expect_code(1);
        assert!(
            !run.stderr.contains("panicked"),
            "the process panicked:\n{run}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "one line on stderr:\n{run}");
        assert!(
            run.stderr.starts_with(&format!("migrate: error: {what}: ")),
            "stderr should say what could not be written:\n{run}"
        );
    }
}
