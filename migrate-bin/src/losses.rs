//! `migrate declare-losses`: writes into migrations.toml the `loses` and
//! `down_loses` declarations the build's data proof needs, for a user
//! adopting a long existing history whose migrations never said what they
//! remove. It runs the same proof as the build
//! (`migrate_core::verify::needed_losses`), edits only those keys with
//! `toml_edit` (every other byte of the file stays as it was), checks that
//! the result proves, and lists what it declared, so that each entry is
//! reviewed in the diff.

use std::path::PathBuf;

use migrate_core::Migrations;
use migrate_core::verify::{NeededLosses, needed_losses, prove_manifest};

use crate::edit::{Failure, finish, locate, read, render, replace, validate};

/// Arguments of `migrate declare-losses`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DeclareArgs {
    /// The migrations.toml to edit [default: the one this program was built from, else ./migrations.toml]
    #[arg(long, value_name = "PATH", env = "MIGRATE_MANIFEST")]
    pub manifest: Option<PathBuf>,
}

/// Runs `migrate declare-losses`; the exit code.
pub fn run(args: &DeclareArgs, migrations: &Migrations) -> u8 {
    finish(declare(args, migrations))
}

fn declare(args: &DeclareArgs, migrations: &Migrations) -> Result<Vec<String>, Failure> {
    let (path, explicit) = locate(args.manifest.as_ref(), migrations);
    let current = read(path, migrations, explicit)?;
    let shown = current.shown.display().to_string();
    let invalid = |what: &str, diagnostics: Vec<migrate_core::manifest::Diagnostic>| {
        Failure::invalid(format!(
            "{shown}: {what}; nothing was written:\n{}",
            render(&diagnostics, &current.shown)
        ))
    };
    let manifest = validate(&current.text, &current.dir, None)
        .map_err(|d| invalid("is invalid, so no declaration was written; fix it first", d))?;
    let needed = needed_losses(&manifest, &current.text).map_err(|d| {
        invalid(
            "fails the build before its data is proved; fix it first",
            vec![d],
        )
    })?;
    if needed.is_empty() {
        return Ok(vec![format!(
            "Nothing to declare: every migration of {shown} keeps the data it does not declare \
             it loses."
        )]);
    }
    let mut doc: toml_edit::DocumentMut = current
        .text
        .parse()
        .map_err(|e| Failure::invalid(format!("{shown}: {e}")))?;
    let Some(entries) = doc
        .get_mut("migration")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
    else {
        return Err(Failure::invalid(format!(
            "{shown}: its migrations are an inline array (migration = [...]); declare-losses \
             can only edit [[migration]] tables"
        )));
    };
    let mut lines = Vec::new();
    for n in &needed {
        let Some(entry) = entries.iter_mut().find(|t| {
            t.get("version").and_then(toml_edit::Item::as_integer) == Some(n.version.into())
        }) else {
            continue;
        };
        set_list(entry, "loses", &n.loses);
        set_list(entry, "down_loses", &n.down_loses);
        lines.push(describe(n, &manifest));
    }
    let text = doc.to_string();
    // What is written must prove, as the build will.
    let edited = validate(&text, &current.dir, None)
        .map_err(|d| invalid("the declarations would make it invalid", d))?;
    prove_manifest(&edited, &text)
        .map_err(|d| invalid("the declarations would not make it build", vec![d]))?;
    replace(&current, &text).map_err(|e| Failure::path(format!("{shown}: cannot write: {e}")))?;
    lines.push(format!(
        "Declared what {} migration{} lose{} in {shown}; review the diff, then rebuild.",
        needed.len(),
        if needed.len() == 1 { "" } else { "s" },
        if needed.len() == 1 { "s" } else { "" },
    ));
    Ok(lines)
}

/// Sets `key` to `entries`, or removes it when there are none.
fn set_list(entry: &mut toml_edit::Table, key: &str, entries: &[String]) {
    if entries.is_empty() {
        entry.remove(key);
    } else {
        let list: toml_edit::Array = entries.iter().map(String::as_str).collect();
        entry.insert(key, toml_edit::value(list));
    }
}

/// `Version 11 ("…"): loses = ["users.legacy_score"] (removed: "users")`.
fn describe(n: &NeededLosses, manifest: &migrate_core::manifest::Manifest) -> String {
    let description = manifest
        .migrations
        .get(n.version)
        .map(|m| m.description().to_owned())
        .unwrap_or_default();
    let list = |entries: &[String]| {
        entries
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !n.loses.is_empty() {
        parts.push(format!("loses = [{}]", list(&n.loses)));
    }
    if !n.down_loses.is_empty() {
        parts.push(format!("down_loses = [{}]", list(&n.down_loses)));
    }
    let stale: Vec<String> = n
        .stale_loses
        .iter()
        .chain(&n.stale_down_loses)
        .cloned()
        .collect();
    if !stale.is_empty() {
        parts.push(format!("removed stale {}", list(&stale)));
    }
    format!(
        "Version {} ({description:?}): {}",
        n.version,
        parts.join("; ")
    )
}
