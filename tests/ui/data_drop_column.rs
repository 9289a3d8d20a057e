// The data proof: DROP COLUMN without a declaration.
migrate_macros::embed_migrations!("ui/data_drop_column.toml");

fn main() {}
