//! What a fresh database at each version needs, as the build-time proof
//! found it: plain data, filled by the proof (`proof::fresh`), embedded by
//! `embed_migrations!`, and read by the run-time fresh path
//! (`sqlite::runner::fresh`), which creates an empty database at the latest
//! version (or `--to`) in one transaction instead of running every
//! migration.
//!
//! It is stored as per-version deltas (the objects a version created,
//! redefined or removed, the tables whose rows it changed, the settings it
//! changed) so that its size grows with the changes a history makes, not
//! with the number of versions times the size of the schema, and any
//! version can be built by folding the deltas up to it. The list layer only
//! holds and folds it: it never runs SQL.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The deltas of every version, version 1 first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshImage {
    /// Index 0 is version 1.
    pub steps: Vec<FreshStep>,
}

/// What one version changed, as the proof's database showed it afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshStep {
    /// Why a database at this version (and any later one) cannot be made
    /// from the image, e.g. "version 7 calls random()": the fresh path
    /// stops before it and the versions from here on run one by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocker: Option<String>,
    /// Objects gone after this version, by lower-case name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
    /// Objects new or redefined by this version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<SchemaObject>,
    /// Tables whose rows this version changed, each with all its rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<TableRows>,
    /// Settings this version changed (`user_version`, `application_id`,
    /// `auto_vacuum`, `journal_mode`), with their value afterwards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<(String, String)>,
}

/// One row of `sqlite_master`, as SQLite stores it: executing `sql` on a
/// database creates the object with exactly this text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaObject {
    /// `table`, `index`, `trigger` or `view`.
    pub kind: String,
    /// As stored.
    pub name: String,
    /// The table it belongs to.
    pub table: String,
    /// The `CREATE` statement, as stored.
    pub sql: String,
    /// Its `sqlite_master` rowid in the proof's database: where it was
    /// created in the history, which orders the objects of one kind.
    pub position: i64,
}

/// The rows of one table after a version, as SQL (SQLite `special`
/// tables such as `sqlite_sequence` and `sqlite_stat1` included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRows {
    /// The table, lower-case.
    pub table: String,
    /// `INSERT` statements that put every row back (rowids included);
    /// empty when the table holds none.
    pub inserts: Vec<String>,
}

/// A database at one version, folded from the deltas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreshTarget {
    /// Every object, in creation order.
    pub objects: Vec<SchemaObject>,
    /// The rows of every table that holds some, keyed by lower-case name.
    pub rows: Vec<TableRows>,
    /// Every setting some version up to the target changed.
    pub settings: Vec<(String, String)>,
}

impl FreshImage {
    /// The image as embedded: JSON, which serde writes and reads fast.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An embedded image; `None` for an empty or unreadable one (a list
    /// that was never proven), which sends `apply` one by one.
    pub fn decode(text: &str) -> Option<FreshImage> {
        if text.is_empty() {
            return None;
        }
        serde_json::from_str(text).ok()
    }

    /// The first version at or before `target` that cannot be made from
    /// the image, with why.
    pub fn blocker(&self, target: u32) -> Option<(u32, &str)> {
        self.steps
            .iter()
            .zip(1u32..)
            .take_while(|(_, v)| *v <= target)
            .find_map(|(step, v)| step.blocker.as_deref().map(|b| (v, b)))
    }

    /// The database at `version`, folded from the deltas of versions 1 to
    /// `version`; `None` past the image's end.
    pub fn at(&self, version: u32) -> Option<FreshTarget> {
        let count = usize::try_from(version).ok()?;
        if count > self.steps.len() {
            return None;
        }
        let mut objects: HashMap<String, SchemaObject> = HashMap::new();
        let mut rows: HashMap<String, &TableRows> = HashMap::new();
        let mut settings: Vec<(String, String)> = Vec::new();
        for step in &self.steps[..count] {
            for name in &step.dropped {
                objects.remove(name);
            }
            for object in &step.objects {
                objects.insert(object.name.to_lowercase(), object.clone());
            }
            for table in &step.rows {
                rows.insert(table.table.clone(), table);
            }
            for (name, value) in &step.settings {
                settings.retain(|(n, _)| n != name);
                settings.push((name.clone(), value.clone()));
            }
        }
        let mut objects: Vec<SchemaObject> = objects.into_values().collect();
        objects.sort_by_key(|o| o.position);
        // Rows of a table that is gone, or empty, need nothing; SQLite's
        // own tables are kept even empty, to be created.
        let rows = rows
            .into_iter()
            .filter(|(name, table)| {
                name.starts_with("sqlite_")
                    || (!table.inserts.is_empty()
                        && objects
                            .iter()
                            .any(|o| o.kind == "table" && o.name.eq_ignore_ascii_case(name)))
            })
            .map(|(_, table)| table.clone())
            .collect();
        Some(FreshTarget {
            objects,
            rows,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str, sql: &str, position: i64) -> SchemaObject {
        SchemaObject {
            kind: "table".into(),
            name: name.into(),
            table: name.into(),
            sql: sql.into(),
            position,
        }
    }

    #[test]
    fn folding_the_deltas_gives_each_version() {
        let image = FreshImage {
            steps: vec![
                FreshStep {
                    objects: vec![object("a", "CREATE TABLE a (x)", 2)],
                    rows: vec![TableRows {
                        table: "a".into(),
                        inserts: vec!["INSERT INTO a VALUES (1)".into()],
                    }],
                    settings: vec![("user_version".into(), "1".into())],
                    ..FreshStep::default()
                },
                FreshStep {
                    dropped: vec!["a".into()],
                    objects: vec![object("B", "CREATE TABLE B (y)", 3)],
                    settings: vec![("user_version".into(), "2".into())],
                    ..FreshStep::default()
                },
                FreshStep {
                    blocker: Some("version 3 calls random()".into()),
                    ..FreshStep::default()
                },
            ],
        };
        let one = image.at(1).unwrap();
        assert_eq!(one.objects, [object("a", "CREATE TABLE a (x)", 2)]);
        assert_eq!(one.rows.len(), 1);
        let two = image.at(2).unwrap();
        assert_eq!(two.objects, [object("B", "CREATE TABLE B (y)", 3)]);
        assert!(
            two.rows.is_empty(),
            "the rows of a dropped table go with it"
        );
        assert_eq!(two.settings, [("user_version".into(), "2".into())]);
        assert_eq!(image.blocker(2), None);
        assert_eq!(image.blocker(3), Some((3, "version 3 calls random()")));
        assert!(image.at(4).is_none());
        assert_eq!(FreshImage::decode(&image.encode()), Some(image));
        assert_eq!(FreshImage::decode(""), None);
    }
}
