#!/usr/bin/env bash
# Builds the test images from Debian packages (no registry pull): a minimal Debian root filesystem with the
# server packages (debootstrap-cache.sh, cached outside the repo), plus an entrypoint and health check that keep
# the official image's contract, turned into an image with `docker import`:
#
#   mysql-replicaset-test/mariadb:10.11  bookworm  mariadb-server, mariadb-client  official `mariadb` contract
#   mysql-replicaset-test/mariadb:11     sid       mariadb-server, mariadb-client  official `mariadb` contract
#   mysql-replicaset-test/mysql:9        sid       mysql-server-core, mysql-client-core  official `mysql` contract
#   mysql-replicaset-test/haproxy:2.6    bookworm  haproxy                         official `haproxy` contract
#                                        (the router of issue #15; built only when named: not a server flavor)
#
# Idempotent: an image whose tag exists is left alone. The debootstrap result is cached keyed by suite, packages
# and mirror, so a rebuild after `docker rmi` takes seconds; the image's own files are added on every build.
#
# Usage: build-image.sh [--force] [IMAGE|FLAVOR...]      (none: all three; flavors: see flavors.sh)
#   env: MIRROR (default: the Debian archive of this machine's apt configuration), CACHE_DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=flavors.sh
. "$HERE/flavors.sh"

log() { echo "build-image: $*" >&2; }

# Unpacks the cached debootstrap of SUITE+PACKAGES into ROOTFS and makes it a test image of KIND.
prepare_rootfs() {
    local rootfs="$1" tarball
    tarball="$(bash "$HERE/debootstrap-cache.sh" "$SUITE" "$PACKAGES")"
    tar --numeric-owner -C "$rootfs" -xf "$tarball"
    # The official images run the server as uid/gid 999; hostPath layouts (dataOwner 999:999) rely on it.
    # Another account may hold 999 (sid's lpadmin group does): it gets mysql's old id, or a free one.
    # Files of the package's mysql account (e.g. sid's /run/mariadbd) follow it to 999.
    chroot "$rootfs" sh -ec '
        owned=""
        if getent passwd mysql >/dev/null; then
            owned="$(find / -xdev \( -user mysql -o -group mysql \) -print 2>/dev/null || true)"
        fi
        free_id() { i=990; while getent "$1" "$i" >/dev/null; do i=$((i - 1)); done; echo "$i"; }
        holder="$(getent group 999 | cut -d: -f1)"
        if [ -n "$holder" ] && [ "$holder" != mysql ]; then
            groupmod -g "$(getent group mysql | cut -d: -f3 || free_id group)" "$holder" 2>/dev/null || groupmod -g "$(free_id group)" "$holder"
        fi
        holder="$(getent passwd 999 | cut -d: -f1)"
        if [ -n "$holder" ] && [ "$holder" != mysql ]; then
            usermod -u "$(free_id passwd)" "$holder"
        fi
        if getent group mysql >/dev/null; then groupmod -g 999 mysql; else groupadd -r -g 999 mysql; fi
        if getent passwd mysql >/dev/null; then usermod -u 999 -g 999 mysql
        else useradd -r -u 999 -g 999 -d /var/lib/mysql -s /usr/sbin/nologin mysql; fi
        [ -z "$owned" ] || echo "$owned" | while IFS= read -r f; do chown -h mysql:mysql "$f"; done'
    # A datadir made by a postinst would be copied by Docker into every new volume: drop it.
    rm -rf "$rootfs"/var/lib/mysql "$rootfs"/var/lib/mysql-upgrade
    install -d -o 999 -g 999 "$rootfs"/var/lib/mysql "$rootfs"/var/log/mysql "$rootfs"/run/mysqld
    mkdir -p "$rootfs/usr/local/bin"
    if [ "$KIND" = mariadb ]; then
        # Listen on every container address; check accounts by IP (the replication account's host is a netmask).
        # The official image's paths: Debian's MariaDB 11.8.6-5 and later default to /var/lib/mariadb and
        # /run/mariadbd.
        cat >"$rootfs/etc/mysql/mariadb.conf.d/99-docker.cnf" <<'CNF'
[client-server]
socket = /run/mysqld/mysqld.sock

[mariadbd]
datadir = /var/lib/mysql
pid-file = /run/mysqld/mysqld.pid
bind-address = 0.0.0.0
skip-name-resolve
host-cache-size = 0
CNF
        install -m 0755 "$HERE/docker-entrypoint.sh" "$HERE/healthcheck.sh" "$rootfs/usr/local/bin/"
    else
        # The official mysql image's my.cnf (docker-library/mysql, Oracle variant), at the path Debian's mysqld
        # reads, including /etc/mysql/conf.d.
        install -d -o 999 -g 999 -m 0750 "$rootfs"/var/lib/mysql-files
        mkdir -p "$rootfs/etc/mysql/conf.d"
        rm -f "$rootfs/etc/mysql/my.cnf" "$rootfs/etc/my.cnf"
        cat >"$rootfs/etc/mysql/my.cnf" <<'CNF'
[mysqld]
host-cache-size=0
skip-name-resolve
datadir=/var/lib/mysql
socket=/var/run/mysqld/mysqld.sock
secure-file-priv=/var/lib/mysql-files
user=mysql
pid-file=/var/run/mysqld/mysqld.pid

[client]
socket=/var/run/mysqld/mysqld.sock

!includedir /etc/mysql/conf.d/
CNF
        install -m 0755 "$HERE/mysql-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
    fi
}

# The official haproxy image's contract: `haproxy -f /usr/local/etc/haproxy/haproxy.cfg` as user haproxy in
# /var/lib/haproxy, entrypoint adding -W -db. Debian's binary is /usr/sbin/haproxy. Not kept: STOPSIGNAL SIGUSR1
# (graceful stop), which `docker import --change` refuses; docker stop sends SIGTERM (connections closed at once).
prepare_router_rootfs() {
    local rootfs="$1" tarball
    tarball="$(bash "$HERE/debootstrap-cache.sh" "$SUITE" "$PACKAGES")"
    tar --numeric-owner -C "$rootfs" -xf "$tarball"
    mkdir -p "$rootfs/usr/local/etc/haproxy" "$rootfs/usr/local/bin" "$rootfs/var/lib/haproxy"
    # Debian's own example config would mislead: the config is the container's upload.
    rm -f "$rootfs/etc/haproxy/haproxy.cfg"
    chroot "$rootfs" chown haproxy:haproxy /var/lib/haproxy
    install -m 0755 "$HERE/haproxy-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
}

build_router() {
    local image="$1" work rootfs previous started=$SECONDS
    work="$(mktemp -d "${CACHE_DIR:-/var/cache/mysql-replicaset-test}/build.XXXXXX")"
    WORKDIRS+=("$work")
    rootfs="$work/rootfs"
    mkdir "$rootfs"
    prepare_router_rootfs "$rootfs"
    log "importing the rootfs as $image"
    previous="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'USER haproxy' \
        --change 'WORKDIR /var/lib/haproxy' \
        --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
        --change 'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]' \
        - "$image" >/dev/null
    if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    log "built $image ($(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec)) in $((SECONDS - started))s"
}

build() {
    local image="$1" work rootfs previous cmd started=$SECONDS
    flavor_spec "$image"
    if [ "$KIND" = haproxy ]; then
        build_router "$image"
        return
    fi
    cmd=mariadbd
    [ "$KIND" = mysql ] && cmd=mysqld
    work="$(mktemp -d "${CACHE_DIR:-/var/cache/mysql-replicaset-test}/build.XXXXXX")"
    WORKDIRS+=("$work")
    rootfs="$work/rootfs"
    mkdir "$rootfs"
    prepare_rootfs "$rootfs"
    log "importing the rootfs as $image"
    previous="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'VOLUME /var/lib/mysql' \
        --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
        --change "CMD [\"$cmd\"]" \
        --change 'EXPOSE 3306' \
        - "$image" >/dev/null
    # A --force rebuild leaves the old image untagged: drop it unless a container still uses it.
    if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    log "built $image ($(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec)) in $((SECONDS - started))s"
}

WORKDIRS=()
cleanup() { [ "${#WORKDIRS[@]}" -eq 0 ] || rm -rf "${WORKDIRS[@]}"; }
trap cleanup EXIT
force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
[ "$#" -gt 0 ] || set -- "${ALL_FLAVORS[@]}"
mkdir -p "${CACHE_DIR:-/var/cache/mysql-replicaset-test}"
images=()
for name in "$@"; do
    flavor_spec "$name" # unknown names fail before any work
    images+=("$IMAGE")
done
for image in "${images[@]}"; do
    if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
        log "$image already exists; nothing to do (--force rebuilds it)"
        continue
    fi
    build "$image"
done
