#!/usr/bin/env bash
# Box-to-box transfer between two `dicomnode serve` processes (release build) on loopback:
# N small instances (bench/gen_small.py, 64×64 CT, ~9 KB each) stored into node A and N into node B
# with DCMTK storescu, then
#   push: A sends its N to B   (A's PUSH box POSTs each image, gzip, to B's /transactions/{token}/image)
#   poll: B sends its N to A   (A polls B, GETs each image, stores it, POSTs done)
# Every image is anonymized on the way out (Basic Profile + a forced PatientName), compressed with
# gzip, and fsynced and indexed on the receiving side before it counts. The clock runs from the
# send request until the receiver's incoming transaction reports all N received and FINISHED.
# Prints a markdown table: images, seconds, images/s, DICOM MB/s (uncompressed), receiver peak RSS.
#
# usage: bench/box_bench.sh [N]        (default 2000)
# environment: PARALLELISM (images in flight per box, default 4), BATCH (default 200),
#   KEEP=1 (keep the temp dir), RES (results folder, default bench/out).
# Needs: dcmtk (storescu), python3 with numpy + pydicom, curl, swift for the build.
set -euo pipefail
self="$(realpath "$0")"
cd "$(dirname "$self")/.."
N="${1:-${N:-2000}}"
PARALLELISM="${PARALLELISM:-4}"; BATCH="${BATCH:-200}"
log() { echo "box_bench: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }
for tool in /usr/bin/storescu curl python3; do command -v "$tool" > /dev/null || die "$tool is missing (apt-get install -y dcmtk curl)"; done

BIN=.build/release/dicomnode
if [ ! -x "$BIN" ] || [ -n "$(find Sources Package.swift -newer "$BIN" -print -quit)" ]; then
    log "building: swift build -c release --product dicomnode"
    swift build -c release --product dicomnode >&2
fi
BIN="$(realpath "$BIN")"

base="${WORKDIR:-/tmp}"; [ -z "${WORKDIR:-}" ] && [ -d /work ] && [ -w /work ] && base=/work
work="$(mktemp -d "$base/box_bench.XXXXXX")"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
api() { curl -sf -u admin:admin "$@"; }
wait_http() { for _ in $(seq 300); do api -o /dev/null "$1/system/health" && return 0; sleep 0.1; done; die "no answer from $1"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

log "generating 2 × $N instances"
python3 bench/gen_small.py "$work/src-a" "$N" --per-series 500 --seed boxbench-a > /dev/null
python3 bench/gen_small.py "$work/src-b" "$N" --per-series 500 --seed boxbench-b > /dev/null
bytes_per_image=$(( $(du -sb "$work/src-a" | cut -f1) / N ))

cat > "$work/config.json" <<EOF
{"logLevel": "warning", "boxes": {"pushIntervalSeconds": 0.5, "pollIntervalSeconds": 0.5, "batchSize": $BATCH, "parallelism": $PARALLELISM}}
EOF
declare -A dicom http
for n in a b; do
    dicom[$n]=$(free_port); http[$n]=$(free_port)
    "$BIN" serve --config "$work/config.json" --data "$work/$n" --port "${dicom[$n]}" --http-port "${http[$n]}" 2> "$work/$n.log" &
    pids+=($!)
    eval "pid_$n=$!"
done
A="http://127.0.0.1:${http[a]}/api"; B="http://127.0.0.1:${http[b]}/api"
wait_http "$A"; wait_http "$B"
log "storing the instances (storescu)"
TCP_NODELAY=1 /usr/bin/storescu -aec DICOMNODE +sd +r 127.0.0.1 "${dicom[a]}" "$work/src-a" > /dev/null 2>&1
TCP_NODELAY=1 /usr/bin/storescu -aec DICOMNODE +sd +r 127.0.0.1 "${dicom[b]}" "$work/src-b" > /dev/null 2>&1

# Every image id of a node, as a send body with a forced PatientName.
send_body() {
    python3 - "$1" <<'PY'
import json, sys, urllib.request, base64
base = sys.argv[1]
h = {'Authorization': 'Basic ' + base64.b64encode(b'admin:admin').decode()}
get = lambda p: json.load(urllib.request.urlopen(urllib.request.Request(base + p, headers=h)))
ids = [i['id'] for s in get('/metadata/flatseries?count=100000') for i in get(f"/metadata/images?seriesid={s['id']}&count=100000")]
print(json.dumps({"imageTagValuesSet": [{"imageId": i, "tagValues": [{"tagPath": {"tag": 0x00100010}, "value": "BENCH^BOX"}]} for i in ids]}))
PY
}
send_body "$A" > "$work/send-a.json"; send_body "$B" > "$work/send-b.json"
[ "$(json 'len(d["imageTagValuesSet"])' < "$work/send-a.json")" = "$N" ] || die "node A does not hold $N images"

url=$(api -X POST -H 'Content-Type: application/json' --data '{"name":"A"}' "$B/boxes/createconnection" | json 'd["baseUrl"]')
api -X POST -H 'Content-Type: application/json' --data "{\"name\":\"B\",\"baseUrl\":\"$url\"}" "$A/boxes/connect" > /dev/null

peak_rss() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }

# run NAME SENDER_API BOX_ID BODY RECEIVER_API RECEIVER_PID → one table row
run() {
    local name=$1 sender=$2 box=$3 body=$4 receiver=$5 rpid=$6
    local t0 t1
    t0=$(date +%s.%N)
    api -X POST -H 'Content-Type: application/json' --data @"$body" "$sender/boxes/$box/send" > /dev/null
    while true; do
        done_=$(api "$receiver/boxes/incoming" | json "any(t['status']=='FINISHED' and t['receivedImageCount']==$N for t in d)")
        [ "$done_" = True ] && break
        sleep 0.05
    done
    t1=$(date +%s.%N)
    python3 - "$name" "$t0" "$t1" "$N" "$bytes_per_image" "$(peak_rss "$rpid")" <<'PY'
import sys
name, t0, t1, n, per, rss = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
s = t1 - t0
print(f"| {name} | {n} | {s:.1f} | {n / s:.0f} | {n * per / s / 1e6:.1f} | {rss} |")
PY
}

res="${RES:-bench/out}"; mkdir -p "$res"
table="$res/box_summary.md"
{
    echo "Box transfer, $N instances of ~$((bytes_per_image / 1024)) KB, parallelism $PARALLELISM, batch $BATCH ($(nproc) cores, $(date -u +%Y-%m-%d))"
    echo
    echo "| mode | images | seconds | images/s | DICOM MB/s | receiver peak RSS MB |"
    echo "|---|---|---|---|---|---|"
    run "push A→B" "$A" 1 "$work/send-a.json" "$B" "$pid_b"
    run "poll B→A" "$B" 1 "$work/send-b.json" "$A" "$pid_a"
} | tee "$table"
grep -h " error " "$work/a.log" "$work/b.log" >&2 && die "errors in the node logs" || true
log "table written to $table"
