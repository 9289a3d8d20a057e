#!/usr/bin/env bash
# A fleet of N databases, each empty, brought to the repository's history
# (its 15 migrations) three ways, side by side in one run:
#
#   loop    a shell loop over the single-database CLI, `migrate --database F apply`
#   xargs   the same command, one process per database, JOBS at once (`xargs -P`)
#   fleet   one `migrate --databases 'DIR/*.db' apply -j JOBS`
#
# Each run applies with the defaults (a backup of each existing file before
# its first change, next to it), so all three do the same work per database.
# Printed: databases per second for each, the fleet's peak RSS for all N
# (/usr/bin/time -v), fsync + fdatasync calls per database for the single
# CLI and for the fleet (strace -f -c, on FSYNC_N databases), and, with
# CALLGRIND=1, instructions per database (valgrind --tool=callgrind, which
# counts the same whatever else the machine is doing).
#
# usage: benches/fleet.sh [N] [LOOP_N]     defaults: 10000 and 1000
#   The loop and xargs run on LOOP_N databases (a rate needs no more); the
#   fleet runs on all N. MIGRATE=path/to/migrate (default
#   target/release/migrate), JOBS (default: nproc), FSYNC_N (default 100).
#
# Wall-clock rates move with the machine's load: on a shared machine,
# compare the three of one run (their ratios), not runs of different days.
set -euo pipefail

N=${1:-10000}
LOOP_N=${2:-1000}
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

echo "migrate: $BIN; $(nproc) cores; JOBS=$JOBS; N=$N; LOOP_N=$LOOP_N"

fleet_dir loop "$LOOP_N"
t0=$(now)
for f in "$work"/loop/*.db; do "$BIN" --database "$f" -q apply; done
t1=$(now)
verify "$work/loop" "$LOOP_N"
loop=$(rate "$LOOP_N" "$t0" "$t1")
echo "loop:  $LOOP_N databases in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s: $loop databases/s"

fleet_dir xargs "$LOOP_N"
t0=$(now)
(cd "$work/xargs" && ls | xargs -P "$JOBS" -I{} "$BIN" --database {} -q apply)
t1=$(now)
verify "$work/xargs" "$LOOP_N"
xargs_rate=$(rate "$LOOP_N" "$t0" "$t1")
echo "xargs: $LOOP_N databases in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s: $xargs_rate databases/s"

fleet_dir fleet "$N"
t0=$(now)
/usr/bin/time -v -o "$work/time.txt" "$BIN" --databases "$work/fleet/*.db" -j "$JOBS" apply >"$work/fleet.txt"
t1=$(now)
head -2 "$work/fleet.txt"
verify "$work/fleet" "$N"
fleet=$(rate "$N" "$t0" "$t1")
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
echo "fleet: $N databases in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s: $fleet databases/s; peak RSS $rss KiB"
echo "fleet / loop: $(awk -v a="$fleet" -v b="$loop" 'BEGIN{printf "%.1f", a/b}')x; fleet / xargs: $(awk -v a="$fleet" -v b="$xargs_rate" 'BEGIN{printf "%.1f", a/b}')x"

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
