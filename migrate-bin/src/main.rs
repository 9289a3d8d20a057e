//! The `migrate` command over the repository's own `migrations.toml`.

migrate_macros::embed_migrations!("migrations.toml");

fn main() -> std::process::ExitCode {
    migrate_bin::run(&MIGRATIONS)
}
