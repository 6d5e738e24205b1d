#!/bin/bash
# Health check of the e2e test image, a subset of the official mariadb image's healthcheck.sh:
#   healthcheck.sh --connect   succeeds only when the server accepts TCP connections on 127.0.0.1:3306.
# Any answer counts, even "Access denied" (mariadb-admin ping exits 0 then), so it needs no password. The
# entrypoint's init server runs with --skip-networking, so the check fails until the real server is up.
set -uo pipefail

case "${1:-}" in
    --connect)
        exec mariadb-admin --no-defaults --protocol=tcp --host=127.0.0.1 --port=3306 --connect-timeout=2 ping --silent >/dev/null 2>&1
        ;;
    *)
        echo "usage: healthcheck.sh --connect" >&2
        exit 2
        ;;
esac
