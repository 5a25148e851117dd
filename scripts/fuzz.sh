#!/usr/bin/env bash
# Coverage-guided fuzzing of the DICOM reader and writer with libFuzzer (swiftc -sanitize=fuzzer).
# usage: scripts/fuzz.sh [SECONDS]   (default 600). Crashes are saved as fuzz/crash-*; exit 1 on any.
# Seeds: pydicom's test files plus files we generate, so the fuzzer starts from real structure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
out=.build-fuzz
mkdir -p "$out" fuzz/corpus
sources=$(find Sources/Codec -name '*.swift' | sort)
if [ ! -x "$out/reader-fuzz" ] || [ -n "$(find Sources/Codec fuzz/ReaderFuzz.swift -newer "$out/reader-fuzz" -name '*.swift' | head -1)" ]; then
    echo "fuzz: building $out/reader-fuzz" >&2
    rm -f "$out/reader-fuzz"   # never fuzz a stale binary if this build fails
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name CodecFuzz \
        -I Sources/CZlib $sources fuzz/ReaderFuzz.swift -o "$out/reader-fuzz" 2>&1 | grep -v "ld.gold: warning" || true
    [ -x "$out/reader-fuzz" ] || { echo "fuzz: build failed" >&2; exit 1; }
fi
data=$(python3 -c "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data'))")
seeds=fuzz/seeds
mkdir -p "$seeds"
# Seed with small files only: the fuzzer mutates best on short inputs.
find "$data/test_files" "$data/charset_files" -name '*.dcm' -size -64k -exec cp -n {} "$seeds/" \;
cp -n fuzz/regressions/* "$seeds/"   # inputs that once crashed us stay in the corpus
echo "fuzz: running for ${seconds}s" >&2
"$out/reader-fuzz" fuzz/corpus "$seeds" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix=fuzz/ -print_final_stats=1 2>&1 | grep -E "^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|ERROR|SUMMARY|crash-|Fatal error|^    #[0-9]+ .* in " | tail -n 30
status=${PIPESTATUS[0]}
if ls fuzz/crash-* >/dev/null 2>&1 || [ "$status" -ne 0 ]; then
    echo "fuzz: FAILED (status $status); see fuzz/crash-*" >&2
    exit 1
fi
echo "fuzz: no crash in ${seconds}s" >&2
