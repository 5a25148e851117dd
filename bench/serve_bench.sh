#!/usr/bin/env bash
# C-STORE ingest, the node against its peers, in one run: DCMTK storescu (TCP_NODELAY=1, one
# association, explicit VR LE first: `storescu -xe +sd`) pushes the same N CT slices into
#   1. dicomnode serve   (ours: durable and indexed; --data DIR --port P --http-port H --ae DICOMNODE)
#   2. DCMTK storescp    (TCP_NODELAY=1, as shipped: plain files, no fsync, max PDU 16384)
#   3. Orthanc 1.10      (TCP_NODELAY=1, minimal temp config, "Plugins": [], SyncStorageArea=true
#                         = its default: one fdatasync per instance, SQLite index, max PDU 16384)
# one after the other, each into a fresh empty folder on free loopback ports, and prints a
# markdown table: seconds, img/s, MB/s, receiver peak RSS (VmHWM), receiver CPU, ratios of img/s.
# Every push must exit 0 and leave N Part 10 files ("DICM" at 128) in the receiver's folder;
# for Orthanc also GET /statistics CountInstances == N, for dicomnode N rows in index.sqlite's
# images table (skipped with a warning if that cannot be read). Otherwise the script fails loudly.
#
# usage: bench/serve_bench.sh [N] [ROUNDS]        (defaults 2000 and 1; or env N=, ROUNDS=)
#   ROUNDS > 1 repeats the receivers in rotated order (r1: 1 2 3, r2: 2 3 1, ...) and reports medians.
# environment (all optional):
#   RECEIVER_CMD  the node's command line; @BIN@ @DIR@ @PORT@ @HTTP@ are substituted. Default
#                 '@BIN@ serve --data @DIR@ --port @PORT@ --http-port @HTTP@ --ae DICOMNODE'.
#                 Stand-in before `serve` exists:
#                 RECEIVER_CMD='@BIN@ storescp --aet DICOMNODE --accept-any-ae --output @DIR@ @PORT@'
#   BIN           dicomnode binary (default .build/release/dicomnode, built with
#                 `swift build -c release --product dicomnode` only if missing or older than Sources/)
#   DATA          an existing folder of exactly N files to send (default: bench/out/ct<N> if it
#                 holds N files, else `gen_ct.py` generates them into the temp dir)
#   WORK_BASE     where the temp dir (generated data + receiver storage) goes (default /work if
#                 it exists, else /tmp); removed at exit unless KEEP=1
#   ASSOCS=K      push over K associations at once (K storescu, files dealt round-robin; default 1)
#   PDU128K=1     add a receiver: DCMTK storescp -pdu 131072
#   FLOOR=0       leave out the disk floor row (the N files copied with write + fdatasync + folder
#                 fsync each, no network: what per-image durability costs on this disk by itself;
#                 ASSOCS copiers at once)
#   NETNS=0       do not re-run inside `unshare --net` (default: re-run there with only lo up,
#                 because storescp and Orthanc cannot bind to 127.0.0.1 only; they bind 0.0.0.0)
#   PUSH_TIMEOUT  seconds allowed per push (default 600)
#   RES           folder for the raw runs (serve_runs.tsv) and the table (serve_summary.md);
#                 default bench/out
#   KEEP=1        keep the temp dir
# DCMTK tools are called as /usr/bin/... because pynetdicom's console scripts shadow them on PATH.
# Needs: dcmtk, orthanc (apt-get install -y orthanc; its service must not be running), python3
# with numpy + pydicom (for gen_ct.py), curl, and swift for the build.
set -euo pipefail
self="$(realpath "$0")"
for v in DATA BIN WORK_BASE RES; do  # paths given relative to the caller's directory
    if [ -n "${!v:-}" ]; then printf -v "$v" '%s' "$(realpath -m "${!v}")"; export "${v?}"; fi
done
cd "$(dirname "$self")/.."
N="${1:-${N:-2000}}"; ROUNDS="${2:-${ROUNDS:-1}}"; ASSOCS="${ASSOCS:-1}"
[[ "$N" =~ ^[1-9][0-9]*$ && "$ROUNDS" =~ ^[1-9][0-9]*$ && "$ASSOCS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N] [ROUNDS]" >&2; exit 2; }
RECEIVER_CMD="${RECEIVER_CMD:-@BIN@ serve --data @DIR@ --port @PORT@ --http-port @HTTP@ --ae DICOMNODE}"
log() { echo "serve_bench: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

for tool in /usr/bin/storescu /usr/bin/storescp /usr/bin/echoscu curl python3; do
    command -v "$tool" > /dev/null || die "$tool is missing (apt-get install -y dcmtk curl)"
done
ORTHANC="$(command -v Orthanc || true)"
[ -n "$ORTHANC" ] || die "Orthanc is missing (apt-get install -y orthanc)"

# Build (outside the network namespace) only if the binary is missing or older than the sources.
if [ -z "${SERVE_BENCH_IN_NETNS:-}" ]; then
    if [ -z "${BIN:-}" ]; then
        BIN=.build/release/dicomnode
        if [ ! -x "$BIN" ] || [ -n "$(find Sources Package.swift -newer "$BIN" -print -quit)" ]; then
            log "building: swift build -c release --product dicomnode"
            swift build -c release --product dicomnode >&2
        fi
    fi
    BIN="$(realpath "$BIN")"; export BIN
    [ -x "$BIN" ] || die "no dicomnode binary at $BIN"
    # Orthanc's DICOM port and storescp bind 0.0.0.0: keep the whole run in a private network
    # namespace with only loopback up, if this machine allows it.
    if [ "${NETNS:-1}" = 1 ] && command -v ip > /dev/null && unshare --net true 2> /dev/null; then
        exec unshare --net env SERVE_BENCH_IN_NETNS=1 N="$N" ROUNDS="$ROUNDS" \
            bash -c 'ip link set lo up && exec bash "$0" "$N" "$ROUNDS"' "$self"
    fi
    log "not using a network namespace (NETNS=0 or unshare --net not permitted): loopback ports only"
fi

# Temp dir: generated data (unless reused) and the receivers' storage, on a roomy file system.
base="${WORK_BASE:-}"; [ -n "$base" ] || { [ -d /work ] && [ -w /work ] && base=/work || base=/tmp; }
work="$(mktemp -d "$base/serve_bench.XXXXXX")"
pid=""; spid=""
cleanup() {
    if [ -n "$spid" ]; then kill -TERM $spid 2> /dev/null || true; fi
    if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then kill -KILL "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then log "kept $work"; else log "removing $work"; rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

count_files() { find "$1" -maxdepth 1 -type f | wc -l; }
if [ -n "${DATA:-}" ]; then
    data="$(realpath "$DATA")"
elif [ -d "bench/out/ct$N" ] && [ "$(count_files "bench/out/ct$N")" -eq "$N" ]; then
    data="$(realpath "bench/out/ct$N")"
else
    data="$work/ct$N"
    log "generating $N CT slices into $data"
    python3 bench/gen_ct.py "$data" "$N" >&2
fi
[ "$(count_files "$data")" -eq "$N" ] || die "$data does not hold exactly $N files"
bytes=$(find "$data" -maxdepth 1 -type f -printf '%s\n' | awk '{s += $1} END {print s}')
avail=$(df -B1 --output=avail "$work" | tail -1)
(( avail > 3 * bytes )) || die "$(df -h "$work" | tail -1): too little room for 2 copies of $bytes B"
# Deleting 1 GB right before the next receiver (ext4 frees blocks, maybe discards them) slows that
# receiver's fsyncs; so received files are kept until the end when there is room for all of them.
pushes=$((ROUNDS * (3 + ${PDU128K:-0} + ${FLOOR:-1})))
if (( avail > (pushes + 4) * bytes )); then defer_rm=1; else defer_rm=0; fi
if [ "$ASSOCS" -gt 1 ]; then  # the files dealt round-robin into one folder (of links) per association
    i=0
    for f in "$data"/*; do mkdir -p "$work/parts/p$((i % ASSOCS))"; ln -s "$f" "$work/parts/p$((i % ASSOCS))/"; i=$((i + 1)); done
fi
sync  # freshly generated data must not be written back during the first push
res="${RES:-bench/out}"; mkdir -p "$res"
runs="$res/serve_runs.tsv"
timings="$res/serve_timings.tsv"
printf 'round\treceiver\tseconds\tstored\tcount_instances\tpeak_rss_kib\tcpu_s\tstartup_s\n' > "$runs"
: > "$timings"
[ -n "${SERVE_BENCH_IN_NETNS:-}" ] && log "in a private network namespace (only lo up): $(ip -o link show up | awk -F': ' '{printf "%s ", $2}')"
log "data $data: $N files, $bytes B; temp dir $work; $(uname -r), $(nproc) CPU"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# Part 10 files (preamble + "DICM") anywhere under a folder: works for any storage layout.
count_dicom() {
    python3 - "$1" <<'PY'
import os, sys
n = 0
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        try:
            with open(os.path.join(root, f), "rb") as fh:
                n += fh.read(132)[128:] == b"DICM"
        except OSError:
            pass
print(n)
PY
}
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"; }
stop_receiver() {  # SIGTERM, up to 30 s for a graceful exit, then SIGKILL
    local t0; t0=$(date +%s.%N)
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2> /dev/null; then
        log "WARNING: $1 did not exit within 30 s of SIGTERM; killing it"
        kill -KILL "$pid" 2> /dev/null || true
    fi
    wait "$pid" 2> /dev/null || true
    pid=""
    stop_s=$(echo "$(date +%s.%N) - $t0" | bc)
}
receiver_failed() {  # name, message
    log "--- last lines of $1's log:"; tail -20 "$work/receiver.log" >&2 || true
    die "$1: $2"
}

# name, AE, storage folder to count in, then the receiver command; PORT/HTTP come from the
# caller's $port/$http. Starts the receiver, waits for C-ECHO, pushes, measures, stops it.
push() {
    local name="$1" ae="$2" store="$3"; shift 3
    : > "$work/receiver.log"
    local t0; t0=$(date +%s.%N)
    env TCP_NODELAY=1 "$@" >> "$work/receiver.log" 2>&1 &
    pid=$!
    local ready=""
    for _ in $(seq 1200); do  # up to 60 s
        kill -0 "$pid" 2> /dev/null || receiver_failed "$name" "exited before accepting C-ECHO"
        if timeout 5 /usr/bin/echoscu -aet BENCH -aec "$ae" 127.0.0.1 "$port" > /dev/null 2>&1; then ready=1; break; fi
        sleep 0.05
    done
    [ -n "$ready" ] || receiver_failed "$name" "no C-ECHO answer on port $port within 60 s"
    local startup; startup=$(echo "$(date +%s.%N) - $t0" | bc)
    if [ -n "${http:-}" ] && [ "$name" = Orthanc ]; then
        for _ in $(seq 200); do curl -sf "http://127.0.0.1:$http/system" > /dev/null && break; sleep 0.05; done
        curl -sf "http://127.0.0.1:$http/system" > /dev/null || receiver_failed "$name" "HTTP port $http not answering"
    fi
    cat "$data"/* > /dev/null  # same warm page cache for the sender every time
    local s0 s1 rc=0
    s0=$(date +%s.%N)
    # in the background + wait, so that a signal to this script is handled at once
    if [ "$ASSOCS" = 1 ]; then
        TCP_NODELAY=1 timeout "${PUSH_TIMEOUT:-600}" /usr/bin/storescu -aet BENCH -aec "$ae" -xe +sd \
            127.0.0.1 "$port" "$data" > "$work/storescu.log" 2>&1 &
        spid=$!
    else  # one storescu per part, all at once, each on its own association
        local a
        spid=""
        for a in $(seq 0 $((ASSOCS - 1))); do
            TCP_NODELAY=1 timeout "${PUSH_TIMEOUT:-600}" /usr/bin/storescu -aet "BENCH$a" -aec "$ae" -xe +sd \
                127.0.0.1 "$port" "$work/parts/p$a" > "$work/storescu.$a.log" 2>&1 &
            spid="$spid $!"
        done
    fi
    local one
    for one in $spid; do wait "$one" || rc=$?; done
    spid=""
    s1=$(date +%s.%N)
    if [ "$rc" -ne 0 ]; then tail -20 "$work"/storescu*.log >&2; receiver_failed "$name" "storescu exited $rc"; fi
    kill -0 "$pid" 2> /dev/null || receiver_failed "$name" "died during the push"
    local rss cpu count="-"
    rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    cpu=$(cpu_seconds "$pid")
    if [ "$name" = Orthanc ]; then
        count=$(curl -sf "http://127.0.0.1:$http/statistics" | python3 -c 'import json, sys; print(json.load(sys.stdin)["CountInstances"])') \
            || receiver_failed "$name" "GET /statistics failed"
    fi
    stop_receiver "$name"
    if [ -f "$store/index.sqlite" ]; then  # dicomnode serve's index: one row per image
        count=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from images").fetchone()[0])' \
            "$store/index.sqlite" 2> /dev/null) || { log "WARNING: could not count the images in $store/index.sqlite"; count=-; }
    fi
    local stored; stored=$(count_dicom "$store")
    [ "$stored" -eq "$N" ] || receiver_failed "$name" "$stored DICOM files under $store, expected $N"
    [ "$count" = - ] || [ "$count" -eq "$N" ] || receiver_failed "$name" "$count instances in its index, expected $N"
    local secs; secs=$(echo "$s1 - $s0" | bc)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$secs" "$stored" "$count" "$rss" "$cpu" "$startup" >> "$runs"
    log "round $round: $name $(printf '%.2f s, %.1f img/s, peak RSS %.1f MiB, CPU %.2f s, startup %.2f s, stop %.2f s' \
        "$secs" "$(echo "$N / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$cpu" "$startup" "$stop_s")"
    # dicomnode logs each C-STORE's receive_ms (command to last fragment) and commit_ms (the wait
    # for durability before the response): their medians and 90th percentiles, per round.
    if grep -q 'commit_ms=' "$work/receiver.log"; then
        local timing; timing=$(python3 - "$work/receiver.log" <<'PY'
import re, statistics, sys
rx, cm = [], []
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"receive_ms=([0-9.]+) commit_ms=([0-9.]+)", line)
    if m: rx.append(float(m[1])); cm.append(float(m[2]))
q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
print(f"{statistics.median(rx):.2f}\t{q(rx, 0.9):.2f}\t{statistics.median(cm):.2f}\t{q(cm, 0.9):.2f}\t{len(cm)}")
PY
)
        printf '%s\t%s\t%s\n' "$round" "$name" "$timing" >> "$timings"
        log "round $round: $name per image (ms, median / p90): receive $(cut -f1,2 <<< "$timing" | tr '\t' /), commit $(cut -f3,4 <<< "$timing" | tr '\t' /)"
    fi
    sync  # no write-back of this run's data during the next one
    if [ "$defer_rm" = 1 ]; then mkdir -p "$work/done"; mv "$store" "$work/done/$round-${store##*/}"; else rm -rf "$store"; sync; fi
    sleep 2
}

run_dicomnode() {
    local dir="$work/rx-dicomnode" cmd=()
    mkdir -p "$dir"
    port=$(free_port); http=$(free_port)
    local c="${RECEIVER_CMD//@BIN@/$BIN}"; c="${c//@DIR@/$dir}"; c="${c//@PORT@/$port}"; c="${c//@HTTP@/$http}"
    read -r -a cmd <<< "$c"
    push "dicomnode ${cmd[1]:-}" DICOMNODE "$dir" "${cmd[@]}"
}
run_storescp() {
    local dir="$work/rx-storescp"; mkdir -p "$dir"
    port=$(free_port); http=""
    push "DCMTK storescp" STORESCP "$dir" /usr/bin/storescp -aet STORESCP -od "$dir" "$port"
}
run_storescp_pdu() {
    local dir="$work/rx-storescp-pdu"; mkdir -p "$dir"
    port=$(free_port); http=""
    push "DCMTK storescp -pdu 131072" STORESCP "$dir" /usr/bin/storescp -aet STORESCP -pdu 131072 -od "$dir" "$port"
}
run_orthanc() {
    local dir="$work/rx-orthanc"; mkdir -p "$dir/storage" "$dir/index"
    port=$(free_port); http=$(free_port)
    cat > "$dir/orthanc.json" <<EOF
{ "Name": "serve-bench",
  "StorageDirectory": "$dir/storage", "IndexDirectory": "$dir/index",
  "StorageCompression": false, "Plugins": [ ], "LuaScripts": [ ],
  "HttpServerEnabled": true, "HttpPort": $http,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "DicomServerEnabled": true, "DicomAet": "ORTHANC", "DicomPort": $port,
  "DicomCheckCalledAet": false, "DicomAlwaysAllowStore": true, "DicomAlwaysAllowEcho": true,
  "SyncStorageArea": true }
EOF
    push "Orthanc" ORTHANC "$dir" "$ORTHANC" "$dir/orthanc.json"
}

# The disk's own limit for a durable receiver, without network, parsing or index: each file
# copied into a fresh folder with write + fdatasync, plus an fsync of the folder per file (what
# any receiver that acknowledges only durable images must at least pay), by ASSOCS copiers at
# once (threads; files dealt round-robin as to the storescu processes), like the senders.
run_floor() {
    local dir="$work/rx-floor"; mkdir -p "$dir"
    cat "$data"/* > /dev/null
    local out; out=$(python3 - "$data" "$dir" "$ASSOCS" <<'PY'
import os, sys, time, resource, threading
src, dst, copiers = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(os.listdir(src))
dfd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
def copy(share):
    for name in share:
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        fd = os.open(os.path.join(dst, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fdatasync(fd)
        os.close(fd)
        os.fsync(dfd)
threads = [threading.Thread(target=copy, args=(names[i::copiers],)) for i in range(copiers)]
t0 = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
seconds = time.monotonic() - t0
u = resource.getrusage(resource.RUSAGE_SELF)
print(f"{seconds:.3f} {u.ru_maxrss} {u.ru_utime + u.ru_stime:.2f}")
PY
)
    local secs rss cpu; read -r secs rss cpu <<< "$out"
    local stored; stored=$(count_dicom "$dir")
    [ "$stored" -eq "$N" ] || die "disk floor: $stored files copied, expected $N"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "disk floor (copy + fdatasync, no network)" "$secs" "$stored" "-" "$rss" "$cpu" "0" >> "$runs"
    log "round $round: disk floor $(printf '%.2f s, %.1f files/s' "$secs" "$(echo "$N / $secs" | bc -l)")"
    sync
    if [ "$defer_rm" = 1 ]; then mkdir -p "$work/done"; mv "$dir" "$work/done/$round-rx-floor"; else rm -rf "$dir"; sync; fi
    sleep 2
}

receivers=(run_dicomnode run_storescp run_orthanc)
[ "${PDU128K:-0}" = 1 ] && receivers+=(run_storescp_pdu)
[ "${FLOOR:-1}" = 1 ] && receivers+=(run_floor)
k=${#receivers[@]}
for round in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((k - 1))); do "${receivers[$(((i + round - 1) % k))]}"; done
done

python3 - "$N" "$bytes" "$runs" "$ROUNDS" "$RECEIVER_CMD" "$ASSOCS" "$timings" <<'PY' | tee "$res/serve_summary.md"
import sys, csv, statistics, collections, os
n, size, path, rounds, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
assocs, timing_path = int(sys.argv[6]), sys.argv[7]
runs = collections.defaultdict(list)
for r in csv.DictReader(open(path), delimiter="\t"):
    runs[r["receiver"]].append(r)
med = lambda name, key: statistics.median(float(r[key]) for r in runs[name])
speed = {name: n / med(name, "seconds") for name in runs}
over = "one association" if assocs == 1 else f"{assocs} associations at once (one storescu each, files dealt round-robin)"
print(f"C-STORE of {n} CT slices ({size / 1e6:.1f} MB) by `TCP_NODELAY=1 storescu -xe` over {over}; "
      + ("one round" if rounds == 1 else f"median of {rounds} rounds, rotated order") + f". dicomnode: `{cmd}`")
print()
cols = ["receiver", "seconds", "img/s", "MB/s", "peak RSS MiB", "ratio vs DCMTK storescp", "ratio vs Orthanc",
        "receiver CPU s (ms/img)", "startup s"] + (["img/s per round"] if rounds > 1 else [])
print("| " + " | ".join(cols) + " |")
print("|" + "---|" * len(cols))
for name in runs:
    s = med(name, "seconds")
    row = [name, f"{s:.2f}", f"{n / s:.1f}", f"{size / 1e6 / s:.1f}",
           f"{max(float(r['peak_rss_kib']) for r in runs[name]) / 1024:.1f}",
           f"{speed[name] / speed['DCMTK storescp']:.2f}", f"{speed[name] / speed['Orthanc']:.2f}",
           f"{med(name, 'cpu_s'):.2f} ({1000 * med(name, 'cpu_s') / n:.1f})", f"{med(name, 'startup_s'):.2f}"]
    if rounds > 1:
        row.append(", ".join(f"{n / float(r['seconds']):.1f}" for r in runs[name]))
    print("| " + " | ".join(row) + " |")
floor = next((name for name in runs if name.startswith("disk floor")), None)
node = next((name for name in runs if name.startswith("dicomnode")), None)
if floor and node:
    print()
    print(f"{node} reached {speed[node] / speed[floor]:.2f} of the disk floor's rate (durable copies, as many at a time as senders, no network).")
if os.path.exists(timing_path) and os.path.getsize(timing_path) > 0:
    print()
    print("dicomnode's own log, per image, ms (median / p90 in each round): "
          + "; ".join(f"round {t[0]}: receive {t[2]} / {t[3]}, commit {t[4]} / {t[5]}"
                      for t in (line.rstrip("\n").split("\t") for line in open(timing_path))))
print()
print("ratios are img/s over the reference's img/s (above 1 = faster); peak RSS is the largest VmHWM over the rounds;"
      " startup = launch until the first C-ECHO succeeds. Every push stored all files, and the indexes"
      " (Orthanc's /statistics, dicomnode's index.sqlite) counted all instances.")
PY
