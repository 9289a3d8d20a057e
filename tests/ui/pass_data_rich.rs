// A rich history (triggers, views, generated columns, WITHOUT ROWID, FTS5, JSON)
// builds without false alarms from the data proof.
migrate_macros::embed_migrations!("ui/pass_data_rich.toml");

fn main() {
    assert_eq!(MIGRATIONS.len(), 7);
}
