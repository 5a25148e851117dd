#!/usr/bin/env bash
# C-STORE receive speed, side by side in one run: DCMTK storescu (TCP_NODELAY=1, one association,
# explicit VR LE) sends N CT slices into
#   - dicomnode storescp (ours: temp file, fsync, rename, fsync dir before each success response)
#   - DCMTK storescp (no fsync) at its default PDU and at -pdu 131072
# usage: bench/receive_bench.sh [N] [REPS]   (defaults 2000, 3). Prints img/s, MB/s, peak RSS, ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"; reps="${2:-3}"
data="bench/out/ct$n"
[ -f "$data/ct$(printf %05d $((n - 1))).dcm" ] || python3 bench/gen_ct.py "$data" "$n"
swift build -c release --product dicomnode >/dev/null
bin="$(swift build -c release --show-bin-path)/dicomnode"
bytes=$(du -sb "$data" | cut -f1)
work=$(mktemp -d)
runs=bench/out/receive_runs.tsv
: > "$runs"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

run() {  # name, then the receiver command with PORT and OUT placeholders
    local name="$1"; shift
    local port; port=$(free_port)
    rm -rf "$work/out"; mkdir -p "$work/out"
    local cmd=("${@//PORT/$port}"); cmd=("${cmd[@]//OUT/$work/out}")
    TCP_NODELAY=1 "${cmd[@]}" > "$work/receiver.log" 2>&1 &
    local pid=$!
    wait_port "$port"
    local t0; t0=$(date +%s.%N)
    TCP_NODELAY=1 /usr/bin/storescu -aet BENCH -aec RECEIVER -xe +sd 127.0.0.1 "$port" "$data" > /dev/null 2>&1 || echo "storescu failed for $name" >&2
    local t1; t1=$(date +%s.%N)
    local rss; rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    local stored; stored=$(find "$work/out" -type f -name '*[0-9]*' ! -name '.*' | wc -l)
    printf "%s\t%s\t%s\t%s\n" "$name" "$(echo "$t1 - $t0" | bc)" "$rss" "$stored" >> "$runs"
    sync; sleep 1
}
for r in $(seq "$reps"); do
    run "dicomnode storescp (fsync)" "$bin" storescp --aet RECEIVER --output OUT PORT
    run "dicomnode storescp --no-fsync" "$bin" storescp --aet RECEIVER --output OUT --no-fsync PORT
    run "DCMTK storescp -pdu 131072" /usr/bin/storescp -aet RECEIVER -od OUT -pdu 131072 PORT
    run "DCMTK storescp (default)" /usr/bin/storescp -aet RECEIVER -od OUT PORT
done
rm -rf "$work"
python3 - "$n" "$bytes" "$runs" <<'PY'
import sys, statistics, collections
n, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
runs = collections.defaultdict(list)
for line in open(path):
    name, wall, rss, stored = line.rstrip("\n").split("\t")
    runs[name].append((float(wall), int(rss), int(stored)))
base = statistics.median(w for w, _, _ in runs["DCMTK storescp (default)"])
print(f"receive {n} CT slices ({size/1e6:.0f} MB) from storescu over one association, median of {len(runs[next(iter(runs))])} runs")
print(f"{'receiver':30} {'wall s':>7} {'img/s':>7} {'MB/s':>6} {'peak RSS MiB':>13} {'stored':>7} {'vs storescp':>12}")
for name, v in runs.items():
    w = statistics.median(x for x, _, _ in v)
    print(f"{name:30} {w:7.2f} {n/w:7.0f} {size/1e6/w:6.0f} {max(r for _, r, _ in v)/1024:13.1f} {min(s for _, _, s in v):7d} {base/w:11.2f}x")
PY
