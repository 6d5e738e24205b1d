#!/usr/bin/env bash
# `npm test`: type-check and house-rule lint (scripts/lint.mjs), then every test in one run of node's test runner —
#   test/unit         pure logic and the resource graph under Pulumi mocks (no servers)
#   test/integration  the replication provider against real mariadbd servers on loopback
#   test/e2e          the declared containers on a real Docker engine (skipped loudly when none answers,
#                     unless E2E_REQUIRED=1)
# Needs mariadb-server, openssl, and for e2e a Docker engine and the test image: `bash .ci/run` installs
# and starts all of that on a fresh Debian/Ubuntu machine.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p tsconfig.json
node scripts/lint.mjs
exec node --import tsx --test --test-reporter=spec \
    test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts
