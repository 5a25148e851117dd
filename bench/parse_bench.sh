#!/usr/bin/env bash
# Parse speed: every file of a folder, one process each, side by side in one run:
#   dicomnode dump (ours, release build)  vs  DCMTK dcmdump +sd  vs  pydicom dcmread.
# usage: bench/parse_bench.sh [N_FILES] [REPS]   (defaults 2000 and 3; data in bench/out/ct<N>)
# Prints a table with wall time, files/s, MB/s, max RSS and the ratio to dcmdump; medians of REPS.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"; reps="${2:-3}"
data="bench/out/ct$n"
if [ ! -f "$data/ct$(printf %05d $((n - 1))).dcm" ]; then
    python3 bench/gen_ct.py "$data" "$n"
fi
swift build -c release --product dicomnode >/dev/null
bin="$(swift build -c release --show-bin-path)/dicomnode"
bytes=$(du -sb "$data" | cut -f1)
cat /dev/null > bench/out/parse_runs.tsv

pyread='import sys, os, pydicom
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    pydicom.dcmread(os.path.join(d, f))'

run() {  # name, command...
    local name="$1"; shift
    cat "$data"/* > /dev/null  # warm page cache
    /usr/bin/time -f "%e %M" -o /tmp/parse_bench_time "$@" > /dev/null
    read -r wall rss < /tmp/parse_bench_time
    printf "%s\t%s\t%s\n" "$name" "$wall" "$rss" >> bench/out/parse_runs.tsv
}
for r in $(seq "$reps"); do
    run "dicomnode dump" "$bin" dump "$data"
    run "dicomnode dump --quiet" "$bin" dump --quiet "$data"
    run "dcmdump +sd" /usr/bin/dcmdump +sd "$data"
    run "pydicom dcmread" python3 -c "$pyread" "$data"
done
python3 - "$n" "$bytes" <<'PY'
import sys, statistics, collections
n, size = int(sys.argv[1]), int(sys.argv[2])
runs = collections.defaultdict(list)
for line in open("bench/out/parse_runs.tsv"):
    name, wall, rss = line.rstrip("\n").split("\t")
    runs[name].append((float(wall), int(rss)))
base = statistics.median(w for w, _ in runs["dcmdump +sd"])
print(f"parse {n} files ({size/1e6:.1f} MB), median of {len(runs['dcmdump +sd'])} runs, page cache warm")
print(f"{'method':26} {'wall s':>7} {'files/s':>8} {'MB/s':>7} {'max RSS MiB':>12} {'speed vs dcmdump':>17}")
for name, v in runs.items():
    w = statistics.median(x for x, _ in v); rss = max(r for _, r in v) / 1024
    print(f"{name:26} {w:7.2f} {n/w:8.0f} {size/1e6/w:7.0f} {rss:12.1f} {base/w:16.2f}x")
PY
