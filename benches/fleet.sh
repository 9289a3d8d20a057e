#!/usr/bin/env bash
# A fleet of N databases, each empty, brought to the repository's history
# (its 15 migrations) several ways, side by side in one run:
#
#   loop        a shell loop over the single-database CLI, `migrate --database F apply`
#   xargs -P J  the same command, one process per database, J at once
#   fleet -j J  one `migrate --databases 'DIR/*.db' apply -j J`
#
# with J = JOBS (default: the number of cores, the fleet's default) and
# J = WIDE (default 16): applying is bound by the latency of fsync, not by
# the CPU, so more databases at once than cores pays off, for xargs as for
# the fleet. Each run applies with the defaults (a backup of each existing
# file before its first change, next to it), so all do the same work per
# database.
#
# Printed: databases per second for each, the peak RSS of the fleet over
# all N (/usr/bin/time -v), fsync + fdatasync calls per database for the
# single CLI and for the fleet (strace -f -c, on FSYNC_N databases), and,
# with CALLGRIND=1, instructions per database (valgrind --tool=callgrind,
# which counts the same whatever else the machine is doing).
#
# usage: benches/fleet.sh [N] [LOOP_N]     defaults: 10000 and 500
#   The side-by-side runs work on LOOP_N databases each (a rate needs no
#   more, and each directory then holds as many files); a last fleet run
#   (-j WIDE) works on all N, for its peak RSS. Its rate is lower: every
#   backup lists its directory to rotate older backups, so in one flat
#   directory of N databases (and N backups) each costs O(N).
#   MIGRATE=path/to/migrate (default target/release/migrate), JOBS, WIDE,
#   FSYNC_N (default 100).
#
# Wall-clock rates move with the machine's load: on a shared machine,
# compare the figures of one run (their ratios), not runs of different days.
set -euo pipefail

N=${1:-10000}
LOOP_N=${2:-500}
WIDE=${WIDE:-16}
BIN=$(realpath "${MIGRATE:-target/release/migrate}")
JOBS=${JOBS:-$(nproc)}
FSYNC_N=${FSYNC_N:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# N empty files named t00000.db ... in $work/NAME.
fleet_dir() {
    mkdir "$work/$1"
    (cd "$work/$1" && seq -f 't%05g.db' 0 $(($2 - 1)) | xargs touch)
}
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }
# Every database at version 15, or the run is not counted.
verify() {
    local bad
    bad=$("$BIN" --databases "$1/*.db" --json version |
        grep -c '"outcome":"succeeded","result":{"database":"[^"]*","version":15}' || true)
    [ "$bad" = "$2" ] || { echo "$1: only $bad of $2 databases at version 15" >&2; exit 1; }
}

echo "migrate: $BIN; $(nproc) cores; JOBS=$JOBS; WIDE=$WIDE; N=$N; LOOP_N=$LOOP_N"
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

fleet_dir loop "$LOOP_N"
t0=$(now)
for f in "$work"/loop/*.db; do "$BIN" --database "$f" -q apply; done
t1=$(now)
verify "$work/loop" "$LOOP_N"
loop=$(rate "$LOOP_N" "$t0" "$t1")
echo "loop:          $LOOP_N databases in $(secs "$t0" "$t1") s: $loop databases/s"

declare -A rates
for j in "$JOBS" "$WIDE"; do
    fleet_dir "xargs-$j" "$LOOP_N"
    t0=$(now)
    (cd "$work/xargs-$j" && ls | xargs -P "$j" -I{} "$BIN" --database {} -q apply)
    t1=$(now)
    verify "$work/xargs-$j" "$LOOP_N"
    rates[xargs-$j]=$(rate "$LOOP_N" "$t0" "$t1")
    echo "xargs -P $j: $LOOP_N databases in $(secs "$t0" "$t1") s: ${rates[xargs-$j]} databases/s"
done

for j in "$JOBS" "$WIDE"; do
    fleet_dir "fleet-$j" "$LOOP_N"
    t0=$(now)
    "$BIN" --databases "$work/fleet-$j/*.db" -j "$j" -q apply >/dev/null
    t1=$(now)
    verify "$work/fleet-$j" "$LOOP_N"
    rates[fleet-$j]=$(rate "$LOOP_N" "$t0" "$t1")
    echo "fleet -j $j: $LOOP_N databases in $(secs "$t0" "$t1") s: ${rates[fleet-$j]} databases/s"
done

fleet_dir fleet "$N"
t0=$(now)
/usr/bin/time -v -o "$work/time.txt" "$BIN" --databases "$work/fleet/*.db" -j "$WIDE" apply >"$work/fleet.txt"
t1=$(now)
head -2 "$work/fleet.txt"
verify "$work/fleet" "$N"
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
echo "fleet -j $WIDE: $N databases in $(secs "$t0" "$t1") s: $(rate "$N" "$t0" "$t1") databases/s; peak RSS $rss KiB"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
for j in "$JOBS" "$WIDE"; do
    echo "at $j: fleet / loop $(ratio "${rates[fleet-$j]}" "$loop")x, fleet / xargs $(ratio "${rates[fleet-$j]}" "${rates[xargs-$j]}")x"
done

# fsync + fdatasync calls (strace's summary of every process).
syncs() { awk '/fsync|fdatasync/ { n += $4 } END { print n + 0 }' "$1"; }
fleet_dir sync-one "$FSYNC_N"
strace -f -c -o "$work/one.strace" -e trace=fsync,fdatasync \
    sh -c 'for f in "$1"/*.db; do "$2" --database "$f" -q apply; done' sh "$work/sync-one" "$BIN"
fleet_dir sync-fleet "$FSYNC_N"
strace -f -c -o "$work/fleet.strace" -e trace=fsync,fdatasync \
    "$BIN" --databases "$work/sync-fleet/*.db" -j "$JOBS" -q apply >/dev/null
one=$(syncs "$work/one.strace")
many=$(syncs "$work/fleet.strace")
echo "fsync+fdatasync per database: single CLI $(awk -v a="$one" -v n="$FSYNC_N" 'BEGIN{printf "%.1f", a/n}'), fleet $(awk -v a="$many" -v n="$FSYNC_N" 'BEGIN{printf "%.1f", a/n}') ($FSYNC_N databases each)"

if [ "${CALLGRIND:-0}" = 1 ]; then
    ir() { awk '/^summary:|^totals:/ { print $2; exit }' "$1"; }
    fleet_dir cg-one 1
    valgrind --tool=callgrind --callgrind-out-file="$work/one.cg" \
        "$BIN" --database "$work/cg-one/t00000.db" -q apply 2>/dev/null
    fleet_dir cg-fleet "$FSYNC_N"
    valgrind --tool=callgrind --callgrind-out-file="$work/fleet.cg" \
        "$BIN" --databases "$work/cg-fleet/*.db" -j 1 -q apply >/dev/null 2>&1
    echo "instructions per database: single CLI $(ir "$work/one.cg"), fleet $(awk -v a="$(ir "$work/fleet.cg")" -v n="$FSYNC_N" 'BEGIN{printf "%d", a/n}') (callgrind, -j 1, $FSYNC_N databases)"
fi
