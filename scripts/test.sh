#!/usr/bin/env bash
# `npm test`: type-check and house-rule lint (scripts/lint.mjs), then node's test runner three times —
#   test/unit         pure logic and the resource graph under Pulumi mocks (no servers), files in parallel
#   test/integration  the replication provider against real servers on loopback, for each flavor of the test
#                     matrix (test/support/servers.ts: MySQL 9.7 and MariaDB 11.8 under chroot, the host's
#                     MariaDB 10.11), one file at a time (--test-concurrency=1: its timing windows stay its own)
#   test/e2e          the declared containers on a real Docker engine with each test image, one file at a time
#                     (skipped loudly when no engine answers, unless E2E_REQUIRED=1)
# Integration and e2e run side by side: they share nothing (chroot servers on ports below the ephemeral range
# against containers on the engine's networks and kernel-chosen ports) and both mostly wait on servers, so the
# 2-core machine runs them together in about the time of the longer one; their lines stream prefixed with the
# stage's name. TEST_STAGES_SERIAL=1 runs them one after the other.
# Every stage runs even when an earlier one failed; the exit status is non-zero when any failed.
# Needs root (chroot), mariadb-server, openssl, debootstrap; for e2e a Docker engine. `bash .ci/run` installs
# and starts all of that on a fresh Debian/Ubuntu machine and builds the images and root filesystems first.
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p tsconfig.json || exit 1
node scripts/lint.mjs || exit 1

# Each stage's output is kept, so that a failure's details (the reporter's "failing tests" section, with errors and
# stacks) are printed again at the very end: a CI that shows only the tail of the log still shows why.
logs=$(mktemp -d) || exit 1
trap 'rm -rf "$logs"' EXIT
# Runs one stage: its output streams as it comes (prefixed with the stage's name when two run side by side) and is
# kept in $logs/NAME.log; a stage that fails is listed in $logs/failed.
stage() {
    local name="$1" prefix="$2" started=$SECONDS
    shift 2
    echo "::: npm test: $name"
    if node --import tsx --test --test-reporter=spec "$@" 2>&1 | tee "$logs/$name.log" | sed -u "s/^/$prefix/"; then
        echo "::: npm test: $name passed in $((SECONDS - started))s"
    else
        echo "::: npm test: $name FAILED after $((SECONDS - started))s"
        echo "$name" >> "$logs/failed"
    fi
}

stage unit "" test/unit/*.test.ts
if [ "${TEST_STAGES_SERIAL:-}" = 1 ]; then
    stage integration "" --test-concurrency=1 test/integration/*.test.ts
    stage e2e "" --test-concurrency=1 test/e2e/*.test.ts
else
    echo "::: npm test: integration and e2e side by side (their lines prefixed [integration] and [e2e])"
    stage integration "[integration] " --test-concurrency=1 test/integration/*.test.ts &
    integration=$!
    stage e2e "[e2e] " --test-concurrency=1 test/e2e/*.test.ts &
    e2e=$!
    # A stage whose shell died before it could record its outcome has failed too.
    wait "$integration" || echo integration >> "$logs/failed"
    wait "$e2e" || echo e2e >> "$logs/failed"
fi

failed=()
[ -f "$logs/failed" ] && mapfile -t failed < <(awk '!seen[$0]++' "$logs/failed")
if [ "${#failed[@]}" -gt 0 ]; then
    for name in "${failed[@]}"; do
        log="$logs/$name.log"
        if grep -q "failing tests:" "$log"; then
            echo "::: npm test: why $name failed (its reporter's failing tests, again)"
            sed -n '/failing tests:/,$p' "$log" > "$logs/why"
            head -n 400 "$logs/why"
            lines=$(wc -l < "$logs/why")
            [ "$lines" -le 400 ] || echo "::: npm test: ($((lines - 400)) more lines of $name's failing tests are in its output above)"
        else
            # No summary (the runner itself failed, or a file could not load): its last lines say why.
            echo "::: npm test: why $name failed (the last lines of its output, again)"
            tail -n 60 "$log"
        fi
    done
    echo "::: npm test: failed: ${failed[*]}"
    exit 1
fi
