// The data proof: a column forgotten in a rebuild's copy.
migrate_macros::embed_migrations!("ui/data_forgotten_column.toml");

fn main() {}
