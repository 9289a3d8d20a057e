// UPDATE and DELETE migrations change data on purpose: no declaration needed.
migrate_macros::embed_migrations!("ui/pass_data_update_delete.toml");

fn main() {
    assert_eq!(MIGRATIONS.len(), 6);
}
