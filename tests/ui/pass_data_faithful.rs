// Faithful rebuilds and renames: no declaration needed.
migrate_macros::embed_migrations!("ui/pass_data_faithful.toml");

fn main() {
    assert_eq!(MIGRATIONS.len(), 8);
}
