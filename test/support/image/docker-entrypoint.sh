#!/bin/bash
# Entrypoint of the e2e test image, keeping the official mariadb image's contract:
# - arguments starting with '-' are mariadbd flags (`docker run IMAGE --server-id=2` runs mariadbd --server-id=2);
# - the datadir is /var/lib/mysql; the server listens on 0.0.0.0:3306 (conf.d/99-docker.cnf);
# - on first start (empty datadir) MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD sets root@'%' and root@localhost,
#   with binary logging off, so a fresh server's GTID history is empty; the server flags apply to the init too;
# - mariadbd runs as the mysql user, as PID 1 (docker stop shuts it down cleanly).
set -euo pipefail

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

log() { echo "$(date -u +%FT%TZ) [entrypoint] $*" >&2; }

if [ "${1:0:1}" = '-' ]; then
    set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    # Volumes arrive owned by root: hand them to mysql, then re-run this script as mysql.
    mkdir -p "$DATADIR" /run/mysqld /var/log/mysql
    find "$DATADIR" /run/mysqld /var/log/mysql \! -user mysql -exec chown mysql:mysql '{}' +
    exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# Waits until the temporary server answers on its socket; fails fast if it died, and after a deadline.
wait_for_socket() {
    local pid="$1" deadline=$((SECONDS + 120)) delay=0.05
    until mariadb-admin --no-defaults --socket="$SOCKET" -uroot ping >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { log "the init server exited during startup"; return 1; }
        if [ "$SECONDS" -ge "$deadline" ]; then log "timed out after 120s waiting for the init server on $SOCKET"; return 1; fi
        sleep "$delay"
        delay="$(awk -v d="$delay" 'BEGIN { d *= 1.5; print (d > 1 ? 1 : d) }')"
    done
}

# mysql.user is a view in MariaDB 10.4+; the privilege tables are the marker of an initialised datadir.
if [ ! -d "$DATADIR/mysql" ]; then
    password="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
    if [ -z "$password" ]; then
        log "error: the datadir is empty and no root password is set; set MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD)"
        exit 1
    fi
    log "initialising $DATADIR"
    # The server flags go to the install too (as the official image does); --skip-log-bin comes last and wins.
    mariadb-install-db "${@:2}" --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
        --default-time-zone=SYSTEM --skip-log-bin --expire-logs-days=0 >/dev/null

    log "starting the init server (no networking)"
    "$@" --skip-networking --socket="$SOCKET" --skip-slave-start --default-time-zone=SYSTEM --expire-logs-days=0 &
    pid=$!
    wait_for_socket "$pid"

    # SQL string literal: escape backslashes and single quotes.
    quoted="${password//\\/\\\\}"
    quoted="${quoted//\'/\\\'}"
    # SQL_LOG_BIN=0: the accounts are this server's own, not history to replicate (and no GTIDs appear).
    mariadb --no-defaults --socket="$SOCKET" -uroot <<EOSQL
SET @@SESSION.SQL_LOG_BIN = 0;
DROP USER IF EXISTS ''@'localhost', root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS \'\'@\'', @@hostname, '\', root@\'', @@hostname, '\'');
SET PASSWORD FOR root@'localhost' = PASSWORD('$quoted');
CREATE USER root@'%' IDENTIFIED BY '$quoted';
GRANT ALL ON *.* TO root@'%' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO root@'%' WITH GRANT OPTION;
EOSQL

    kill "$pid"
    wait "$pid" || { log "the init server did not shut down cleanly"; exit 1; }
    log "initialised; starting mariadbd"
fi

exec "$@"
