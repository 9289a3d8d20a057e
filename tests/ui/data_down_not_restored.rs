// The data proof: up then down does not bring back the values.
migrate_macros::embed_migrations!("ui/data_down_not_restored.toml");

fn main() {}
