migrate_macros::embed_migrations!("ui/keep_backups_zero.toml");

fn main() {}
