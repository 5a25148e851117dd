#!/usr/bin/env bash
# REST read path, the node against Orthanc, in one run, on the same data: N small instances, one
# series each (bench/gen_small.py --per-series 1), pushed by DCMTK storescu into
#   1. dicomnode serve  (basic auth as admin:admin, the Slicebox API)
#   2. Orthanc 1.10     (basic auth enabled, one registered user, minimal temp config, no plugins)
# then wrk (keep-alive, --latency) on each endpoint for DURATION seconds:
#   dicomnode GET /api/metadata/flatseries?count=20     vs Orthanc GET /series?expand&since=0&limit=20
#   dicomnode GET /api/system/health                    vs Orthanc GET /system
# Prints a markdown table: req/s, p50, p99, server peak RSS, and the req/s ratio (ours / Orthanc).
# Both servers answer the same 20 series with patient/study/series attributes (Orthanc's expand).
#
# usage: bench/rest_bench.sh [N] [DURATION]     (defaults 10000 and 15)
# environment: THREADS (wrk -t, default 2), CONNECTIONS (wrk -c, default 16), NETNS=0 (no private
#   network namespace), KEEP=1 (keep the temp dir), RES (results folder, default bench/out).
# Needs: dcmtk, orthanc (apt-get install -y orthanc; its service must not be running), wrk,
# python3 with numpy + pydicom, curl, swift for the build.
set -euo pipefail
self="$(realpath "$0")"
cd "$(dirname "$self")/.."
N="${1:-${N:-10000}}"; DURATION="${2:-${DURATION:-15}}"
THREADS="${THREADS:-2}"; CONNECTIONS="${CONNECTIONS:-16}"
log() { echo "rest_bench: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }
for tool in /usr/bin/storescu wrk curl python3; do command -v "$tool" > /dev/null || die "$tool is missing (apt-get install -y dcmtk wrk curl)"; done
ORTHANC="$(command -v Orthanc || true)"; [ -n "$ORTHANC" ] || die "Orthanc is missing (apt-get install -y orthanc)"

if [ -z "${REST_BENCH_IN_NETNS:-}" ]; then
    BIN=.build/release/dicomnode
    if [ ! -x "$BIN" ] || [ -n "$(find Sources Package.swift -newer "$BIN" -print -quit)" ]; then
        log "building: swift build -c release --product dicomnode"
        swift build -c release --product dicomnode >&2
    fi
    export BIN="$(realpath "$BIN")"
    if [ "${NETNS:-1}" = 1 ] && command -v ip > /dev/null && unshare --net true 2> /dev/null; then
        exec unshare --net env REST_BENCH_IN_NETNS=1 N="$N" DURATION="$DURATION" bash -c 'ip link set lo up && exec bash "$0" "$N" "$DURATION"' "$self"
    fi
fi

base=/tmp; [ -d /work ] && [ -w /work ] && base=/work
work="$(mktemp -d "$base/rest_bench.XXXXXX")"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then kill -TERM "$pid"; sleep 2; kill -KILL "$pid" 2> /dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for _ in $(seq 300); do curl -sf -u admin:admin -o /dev/null "$1" && return 0; sleep 0.1; done; die "no answer from $1"; }

data="$work/small$N"
log "generating $N instances, one series each, into $data"
python3 bench/gen_small.py "$data" "$N" --per-series 1 --seed rest >&2
res="${RES:-bench/out}"; mkdir -p "$res"
table="$res/rest_summary.md"
auth="Authorization: Basic $(printf admin:admin | base64)"

# wrk on one URL; prints "req/s p50_ms p99_ms".
measure() {
    local out; out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$auth" "$1")
    echo "$out" >&2
    local rps p50 p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    [ -z "$non2xx" ] || die "non-2xx answers from $1: $non2xx"
    to_ms() { python3 -c "import sys,re; v=sys.argv[1]; m=re.match(r'([0-9.]+)(us|ms|s)', v); print(round(float(m.group(1)) * {'us': 0.001, 'ms': 1, 's': 1000}[m.group(2)], 3))" "$1"; }
    echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
push() { TCP_NODELAY=1 /usr/bin/storescu -xe +sd -aec "$1" 127.0.0.1 "$2" "$data" > /dev/null 2>&1 || die "storescu into $1 failed"; }
rss() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$1/status"; }

declare -A R
# 1. dicomnode
port=$(free_port); http=$(free_port)
"$BIN" serve --data "$work/node" --port "$port" --http-port "$http" --ae DICOMNODE --log-level warning 2> "$work/node.log" &
pid=$!
wait_http "http://127.0.0.1:$http/api/system/health"
t0=$(date +%s.%N); push DICOMNODE "$port"; log "dicomnode: pushed $N in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"
count=$(curl -sf -u admin:admin "http://127.0.0.1:$http/api/metadata/flatseries?count=1000000" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$count" = "$N" ] || die "dicomnode holds $count series, not $N"
R[node_flat]=$(measure "http://127.0.0.1:$http/api/metadata/flatseries?count=20")
R[node_health]=$(measure "http://127.0.0.1:$http/api/system/health")
R[node_rss]=$(rss "$pid")
kill -TERM "$pid"; wait "$pid" || true; pid=""

# 2. Orthanc
dir="$work/orthanc"; mkdir -p "$dir/storage" "$dir/index"
port=$(free_port); http=$(free_port)
cat > "$dir/orthanc.json" <<JSON
{ "Name": "rest-bench", "StorageDirectory": "$dir/storage", "IndexDirectory": "$dir/index",
  "StorageCompression": false, "Plugins": [ ], "LuaScripts": [ ],
  "HttpServerEnabled": true, "HttpPort": $http, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": true, "RegisteredUsers": { "admin": "admin" },
  "DicomServerEnabled": true, "DicomAet": "ORTHANC", "DicomPort": $port,
  "DicomCheckCalledAet": false, "DicomAlwaysAllowStore": true, "DicomAlwaysAllowEcho": true }
JSON
"$ORTHANC" "$dir/orthanc.json" > "$work/orthanc.log" 2>&1 &
pid=$!
wait_http "http://127.0.0.1:$http/system"
t0=$(date +%s.%N); push ORTHANC "$port"; log "Orthanc: pushed $N in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"
count=$(curl -sf -u admin:admin "http://127.0.0.1:$http/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountSeries"])')
[ "$count" = "$N" ] || die "Orthanc holds $count series, not $N"
R[orthanc_flat]=$(measure "http://127.0.0.1:$http/series?expand&since=0&limit=20")
R[orthanc_health]=$(measure "http://127.0.0.1:$http/system")
R[orthanc_rss]=$(rss "$pid")
kill -TERM "$pid"; wait "$pid" || true; pid=""

ratio() { python3 -c "print(round($1 / $2, 2))"; }
read -r nf50 nf99 <<< "$(echo "${R[node_flat]}" | cut -d' ' -f2-)"
{
echo "REST read path, $N series, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, basic auth on both ($(nproc) CPU, $(uname -r))"
echo
echo "| server | endpoint | req/s | p50 ms | p99 ms | peak RSS MiB | req/s vs Orthanc |"
echo "|---|---|---|---|---|---|---|"
set -- ${R[node_flat]};      echo "| dicomnode | GET /api/metadata/flatseries?count=20 | $1 | $2 | $3 | ${R[node_rss]} | $(ratio "$1" "$(echo "${R[orthanc_flat]}" | cut -d' ' -f1)") |"
set -- ${R[orthanc_flat]};   echo "| Orthanc | GET /series?expand&since=0&limit=20 | $1 | $2 | $3 | ${R[orthanc_rss]} | 1.00 |"
set -- ${R[node_health]};    echo "| dicomnode | GET /api/system/health | $1 | $2 | $3 | ${R[node_rss]} | $(ratio "$1" "$(echo "${R[orthanc_health]}" | cut -d' ' -f1)") |"
set -- ${R[orthanc_health]}; echo "| Orthanc | GET /system | $1 | $2 | $3 | ${R[orthanc_rss]} | 1.00 |"
} | tee "$table"
