#!/bin/bash
# Entrypoint of the MySQL test image, keeping the official mysql image's contract (docker-library/mysql
# docker-entrypoint.sh):
# - arguments starting with '-' are mysqld flags (`docker run IMAGE --server-id=2` runs mysqld --server-id=2);
#   they apply to the config check, the initialisation and the init server too;
# - the datadir is /var/lib/mysql; the server listens on every interface, port 3306; /etc/mysql/my.cnf reads
#   /etc/mysql/conf.d;
# - on first start (no mysql/ in the datadir) `mysqld --initialize-insecure`, then an init server without
#   networking sets root@localhost and root@MYSQL_ROOT_HOST ('%') to MYSQL_ROOT_PASSWORD (or the contents of
#   MYSQL_ROOT_PASSWORD_FILE; MYSQL_ALLOW_EMPTY_PASSWORD=yes leaves it empty) with the binary log off, so a
#   fresh server's gtid_executed is empty;
# - mysqld runs as the mysql user (uid/gid 999), as PID 1 (docker stop shuts it down cleanly).
set -euo pipefail

DATADIR=/var/lib/mysql
SOCKET=/var/run/mysqld/mysqld.sock

log() { echo "$(date -u +%FT%TZ) [entrypoint] $*" >&2; }

if [ "${1:0:1}" = '-' ]; then
    set -- mysqld "$@"
fi
if [ "$1" != mysqld ]; then
    exec "$@"
fi

# As the official image: a flag mysqld does not know fails here, with mysqld's own message.
if ! errors="$("$@" --verbose --help 2>&1 >/dev/null)"; then
    log "mysqld failed while attempting to check config; command: $*"
    echo "$errors" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    # Volumes arrive owned by root: hand them to mysql, then re-run this script as mysql.
    mkdir -p "$DATADIR" /var/run/mysqld /var/lib/mysql-files /var/log/mysql
    find "$DATADIR" /var/run/mysqld /var/lib/mysql-files /var/log/mysql \! -user mysql -exec chown mysql:mysql '{}' +
    exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# file_env VAR: VAR or the contents of the file VAR_FILE names (not both).
file_env() {
    local var="$1" file_var="${1}_FILE"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        log "error: both $var and $file_var are set (but are exclusive)"
        exit 1
    fi
    if [ -n "${!file_var:-}" ]; then
        export "$var"="$(<"${!file_var}")"
    fi
    unset "$file_var"
}

# Waits until the init server answers on its socket; fails fast if it died, and after a deadline.
wait_for_socket() {
    local pid="$1" deadline=$((SECONDS + 120)) delay=0.05
    until mysqladmin --no-defaults --socket="$SOCKET" -uroot ping >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { log "the init server exited during startup"; return 1; }
        if [ "$SECONDS" -ge "$deadline" ]; then log "timed out after 120s waiting for the init server on $SOCKET"; return 1; fi
        sleep "$delay"
        delay="$(awk -v d="$delay" 'BEGIN { d *= 1.5; print (d > 1 ? 1 : d) }')"
    done
}

if [ ! -d "$DATADIR/mysql" ]; then
    file_env MYSQL_ROOT_PASSWORD
    file_env MYSQL_ROOT_HOST
    password="${MYSQL_ROOT_PASSWORD:-}"
    if [ -z "$password" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ]; then
        log "error: database is uninitialized and password option is not specified"
        log "  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ROOT_PASSWORD_FILE or MYSQL_ALLOW_EMPTY_PASSWORD"
        exit 1
    fi
    root_host="${MYSQL_ROOT_HOST:-%}"

    log "initialising $DATADIR"
    "$@" --initialize-insecure --default-time-zone=SYSTEM
    log "starting the init server (no networking)"
    "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --skip-replica-start &
    pid=$!
    wait_for_socket "$pid"

    # SQL string literals: escape backslashes and single quotes.
    quote() { local s="${1//\\/\\\\}"; printf "'%s'" "${s//\'/\\\'}"; }
    root_create=
    if [ "$root_host" != localhost ]; then
        root_create="CREATE USER 'root'@$(quote "$root_host") IDENTIFIED BY $(quote "$password");
GRANT ALL ON *.* TO 'root'@$(quote "$root_host") WITH GRANT OPTION;
GRANT PROXY ON ''@'' TO 'root'@$(quote "$root_host") WITH GRANT OPTION;"
    fi
    # SQL_LOG_BIN=0: the accounts are this server's own, not history to replicate (and no GTID appears).
    mysql --no-defaults --socket="$SOCKET" -uroot --database=mysql <<EOSQL
SET @@SESSION.SQL_LOG_BIN = 0;
ALTER USER 'root'@'localhost' IDENTIFIED BY $(quote "$password");
$root_create
FLUSH PRIVILEGES;
EOSQL

    kill "$pid"
    wait "$pid" || { log "the init server did not shut down cleanly"; exit 1; }
    log "initialised; starting mysqld"
fi

exec "$@"
