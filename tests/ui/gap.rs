migrate_macros::embed_migrations!("ui/gap.toml");

fn main() {}
