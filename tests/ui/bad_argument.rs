migrate_macros::embed_migrations!(migrations_toml);

fn main() {}
