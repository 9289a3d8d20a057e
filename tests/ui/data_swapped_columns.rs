// The data proof: a rebuild's copy swaps two columns' values.
migrate_macros::embed_migrations!("ui/data_swapped_columns.toml");

fn main() {}
