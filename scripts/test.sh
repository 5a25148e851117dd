#!/usr/bin/env bash
# The one test command: installs the test peers if missing, builds, runs every test
# (unit, pydicom comparison, DCMTK interop) and a short fuzzing run of the reader.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-peers.sh
swift build --build-tests 2>&1 | tail -n 3
# XCTest only: the suites are XCTest, and Swift Testing's empty "0 tests" summary would be misleading.
swift test --disable-swift-testing 2>&1 | tee /tmp/dicomnode-swift-test.log | grep -E "error:|failed|Executed|skipped" || true
if ! grep -q "Executed .* with 0 failures" /tmp/dicomnode-swift-test.log || grep -qE "error: |Fatal error|crashed" /tmp/dicomnode-swift-test.log; then
    echo "swift test failed; full log in /tmp/dicomnode-swift-test.log" >&2
    tail -n 60 /tmp/dicomnode-swift-test.log >&2
    exit 1
fi
# The reader must survive a minute of coverage-guided fuzzing on every run (longer runs: scripts/fuzz.sh).
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}" all
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" /tmp/dicomnode-swift-test.log | tail -n 1)
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failures=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
echo "all tests passed (fuzzing included)"
echo "$((total - failures)) passed, $failures failed"
