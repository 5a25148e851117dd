#!/usr/bin/env bash
# Scale benchmark for `dicomnode serve` (durable and indexed receive):
#   1. ingest rate of N small instances (storescu, one association) into an empty node;
#   2. the same with 200,000 instances already indexed (the rest filled by `dicomnode index-fill`,
#      rows through the index's own insert path, no image files);
#   3. start-up time with 1,000,000 indexed instances.
# usage: bench/scale_bench.sh [N=5000] [AT=200000] [STARTUP_AT=1000000]
# Prints a markdown table. Needs DCMTK (/usr/bin/storescu) and pydicom + numpy (bench/gen_small.py).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}; AT=${2:-200000}; STARTUP_AT=${3:-1000000}
BIN=.build/release/dicomnode
if [ ! -x "$BIN" ] || [ -n "$(find Sources -newer "$BIN" -name '*.swift' | head -1)" ]; then
    swift build -c release --product dicomnode >&2
fi
W=$(mktemp -d "${BENCH_TMP:-/work}/scale-bench.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
python3 bench/gen_small.py "$W/a" "$N" --seed a >&2
python3 bench/gen_small.py "$W/b" "$N" --seed b >&2
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start_node() {  # waits for "node ready"; STARTUP_MS = how long that took
    local t0; t0=$(date +%s%N)
    "$BIN" serve --data "$W/data" --port "$PORT" >/dev/null 2>>"$W/serve.log" &
    NODE=$!
    until grep -q "node ready" "$W/serve.log" 2>/dev/null; do sleep 0.005; kill -0 $NODE || { cat "$W/serve.log" >&2; exit 1; }; done
    STARTUP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
stop_node() { kill -TERM $NODE; wait $NODE || true; : > "$W/serve.log"; }
push() {  # prints images/s
    local t0 t1; t0=$(date +%s%N)
    TCP_NODELAY=1 /usr/bin/storescu -aec DICOMNODE +sd 127.0.0.1 "$PORT" "$1" >&2
    t1=$(date +%s%N)
    python3 -c "print(f'{$N/(($t1-$t0)/1e9):.0f}')"
}
count() { python3 -c "import sqlite3; print(sqlite3.connect('$W/data/index.sqlite').execute('select count(*) from images').fetchone()[0])"; }

start_node
r_small=$(push "$W/a"); stop_node
c1=$(count)
"$BIN" index-fill --data "$W/data" --count $((AT - c1)) >&2
start_node
r_large=$(push "$W/b"); stop_node
c2=$(count)
"$BIN" index-fill --data "$W/data" --count $((STARTUP_AT - c2)) >&2
c3=$(count)
start_node
t_start=$STARTUP_MS
ms_ready=$(grep -o 'startup_ms=[0-9]*' "$W/serve.log" | tail -1 | cut -d= -f2)
stop_node
echo
echo "| measure | value |"
echo "|---|---|"
echo "| ingest, empty node ($N small instances), img/s | $r_small |"
echo "| ingest at $c1→$c2 indexed instances, img/s | $r_large |"
echo "| ratio (at $AT / empty) | $(python3 -c "print(f'{$r_large/$r_small:.2f}')") |"
echo "| start-up with $c3 indexed instances: process start → ready, ms | $t_start |"
echo "| of which repair + index open + listeners (node's own startup_ms) | $ms_ready |"
