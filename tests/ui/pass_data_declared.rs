// The data_* cases with their losses declared: the history builds.
migrate_macros::embed_migrations!("ui/pass_data_declared.toml");

fn main() {
    assert_eq!(MIGRATIONS.len(), 9);
    assert_eq!(MIGRATIONS[3].loses().collect::<Vec<_>>(), ["sessions"]);
}
