#!/usr/bin/env bash
# Extra build time of embedding N migrations (the macro's validation and
# SQLite proof, plus compiling the static data), for N = 1, 100, 1000, 5000:
# builds a crate that embeds N generated migrations, then times a rebuild
# after touching migrations.toml (dependencies already built), in the dev
# and release profiles. Usage: migrate-core/benches/build_cost.sh [N...]
#
# With --reversible first, each N is measured twice on the reversible
# workload: every migration with its down (which the proof runs after it,
# then applies the migration again), and the same migrations without downs.
# Usage: migrate-core/benches/build_cost.sh --reversible [N...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work="$root/target/build-cost"
workloads=(plain)
if [ "${1:-}" = --reversible ]; then
    workloads=(reversible reversible-without-downs)
    shift
fi
counts=("${@:-1 100 1000 5000}")
mkdir -p "$work"
cargo build -q --release -p migrate-toml-core --example workload --manifest-path "$root/Cargo.toml"
for n in ${counts[@]}; do
  for workload in "${workloads[@]}"; do
    name="embed-$n"
    [ "$workload" = plain ] || name="embed-$n-$workload"
    dir="$work/$name"
    mkdir -p "$dir/src"
    "$root/target/release/examples/workload" "$n" "$workload" > "$dir/migrations.toml"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$name"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
migrate-core = { package = "migrate-toml-core", path = "$root/migrate-core" }
migrate-macros = { package = "migrate-toml-macros", path = "$root/migrate-macros" }

[profile.dev.build-override]
opt-level = 3

[profile.release.build-override]
opt-level = 3

[workspace]
TOML
    cat > "$dir/src/main.rs" <<'RS'
migrate_macros::embed_migrations!();
fn main() {
    println!("{}", MIGRATIONS.len());
}
RS
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    for profile in dev release; do
        flag=$([ "$profile" = release ] && echo --release || true)
        CARGO_TARGET_DIR="$work/target" cargo build -q $flag --manifest-path "$dir/Cargo.toml"
        touch "$dir/migrations.toml"
        start=$(date +%s.%N)
        CARGO_TARGET_DIR="$work/target" cargo build -q $flag --manifest-path "$dir/Cargo.toml"
        end=$(date +%s.%N)
        # A second build with nothing changed must not re-run the macro.
        s2=$(date +%s.%N)
        CARGO_TARGET_DIR="$work/target" cargo build -q $flag --manifest-path "$dir/Cargo.toml"
        e2=$(date +%s.%N)
        label=$n
        [ "$workload" = plain ] || label="$n $workload"
        printf '%-30s %-8s rebuild after edit %6.2f s   no-op rebuild %5.2f s\n' \
            "$label" "$profile" "$(awk "BEGIN{print $end - $start}")" "$(awk "BEGIN{print $e2 - $s2}")"
    done
  done
done
