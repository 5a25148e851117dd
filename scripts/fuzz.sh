#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (swiftc -sanitize=fuzzer,address) of
#   reader: the DICOM file reader and writer (fuzz/ReaderFuzz.swift + Sources/Codec)
#   pdu:    the Upper Layer PDU decoder and encoder (fuzz/PDUFuzz.swift + Sources/DicomNet/PDU)
#   dimse:  the DIMSE command-set decoder (fuzz/DIMSEFuzz.swift + Sources/DicomNet/DIMSE + Codec)
# usage: scripts/fuzz.sh [SECONDS] [reader|pdu|dimse|all]   (defaults 600, all; SECONDS per target)
# Crashes are saved as fuzz/crash-*; exit 1 on any. Inputs that once crashed us live in
# fuzz/regressions/ and seed every run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
which="${2:-all}"
out=.build-fuzz
mkdir -p "$out"

build() {  # name, module, sources...
    local name="$1" module="$2"; shift 2
    if [ ! -x "$out/$name" ] || [ -n "$(find "$@" -newer "$out/$name" | head -1)" ]; then
        echo "fuzz: building $out/$name" >&2
        rm -f "$out/$name"   # never fuzz a stale binary if this build fails
        swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" \
            -I Sources/CZlib "$@" -o "$out/$name" 2>&1 | grep -v "ld.gold: warning" || true
        [ -x "$out/$name" ] || { echo "fuzz: build of $name failed" >&2; exit 1; }
    fi
}

run() {  # name, seed folder
    local name="$1" seeds="$2"
    mkdir -p "fuzz/corpus-$name"
    echo "fuzz: $name for ${seconds}s" >&2
    set +e
    "$out/$name" "fuzz/corpus-$name" "$seeds" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
        -artifact_prefix=fuzz/ -print_final_stats=1 > "$out/$name.log" 2>&1
    local status=$?
    set -e
    grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|SUMMARY|crash-|Fatal error|^    #[0-9]+ .* in " "$out/$name.log" | tail -n 30
    if ls fuzz/crash-* >/dev/null 2>&1 || [ "$status" -ne 0 ]; then
        echo "fuzz: $name FAILED (status $status); see fuzz/crash-* and $out/$name.log" >&2
        exit 1
    fi
    echo "fuzz: $name: no crash in ${seconds}s" >&2
}

if [ "$which" = all ] || [ "$which" = reader ]; then
    build reader-fuzz CodecFuzz $(find Sources/Codec -name '*.swift' | sort) fuzz/ReaderFuzz.swift
    data=$(python3 -c "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data'))")
    seeds=fuzz/seeds
    mkdir -p "$seeds"
    # Small files only: the fuzzer mutates best on short inputs.
    find "$data/test_files" "$data/charset_files" -name '*.dcm' -size -64k -exec cp -n {} "$seeds/" \;
    cp -n fuzz/regressions/* "$seeds/"
    run reader-fuzz "$seeds"
fi
if [ "$which" = all ] || [ "$which" = pdu ]; then
    build pdu-fuzz PDUFuzz $(find Sources/DicomNet/PDU -name '*.swift' | sort) fuzz/PDUFuzz.swift
    run pdu-fuzz fuzz/pdu-seeds
fi
if [ "$which" = all ] || [ "$which" = dimse ]; then
    # One module with Codec: the DIMSE files' `import Codec` lines are dropped in a copy.
    mkdir -p "$out/dimse-src"
    for f in Sources/DicomNet/DIMSE/*.swift; do
        copy="$out/dimse-src/$(basename "$f")"
        grep -v '^import Codec$' "$f" > "$copy.new"
        # Replace the copy only when it changed, so an unchanged target is not rebuilt.
        if cmp -s "$copy.new" "$copy"; then rm "$copy.new"; else mv "$copy.new" "$copy"; fi
    done
    build dimse-fuzz DIMSEFuzz $(find Sources/Codec -name '*.swift' | sort) "$out"/dimse-src/*.swift fuzz/DIMSEFuzz.swift
    mkdir -p "$out/dimse-seeds"
    cp -n fuzz/dimse-seeds/* fuzz/regressions/dimse-* "$out/dimse-seeds/"
    run dimse-fuzz "$out/dimse-seeds"
fi
