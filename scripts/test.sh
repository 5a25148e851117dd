#!/usr/bin/env bash
# The one test command: installs the test peers if missing, builds, runs every test
# (unit, pydicom comparison, DCMTK interop) and a short fuzzing run of the reader.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-peers.sh
swift build --build-tests 2>&1 | tail -n 3
swift test 2>&1 | tee /tmp/dicomnode-swift-test.log | grep -E "error|failed|passed|Executed|skipped" | grep -v "^Test Case.*passed" || true
if ! grep -q "Executed .* with 0 failures" /tmp/dicomnode-swift-test.log || grep -qE "error: |Fatal error|crashed" /tmp/dicomnode-swift-test.log; then
    echo "swift test failed; full log in /tmp/dicomnode-swift-test.log" >&2
    tail -n 60 /tmp/dicomnode-swift-test.log >&2
    exit 1
fi
# The reader must survive a minute of coverage-guided fuzzing on every run (longer runs: scripts/fuzz.sh).
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
echo "all tests passed"
