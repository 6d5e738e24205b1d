#!/usr/bin/env bash
# Builds the end-to-end test image mysql-replicaset-test/mariadb:10.11 from Debian packages (no registry pull):
# debootstrap a minimal bookworm with mariadb-server, add docker-entrypoint.sh and healthcheck.sh (the official
# mariadb image's contract), and `docker import` it. Idempotent: does nothing when the tag exists. The
# debootstrap result is cached outside the repo, so a rebuild after `docker rmi` takes seconds, not minutes.
#
# Usage: build-image.sh [--force]     env: IMAGE (tag), CACHE_DIR, MIRROR
set -euo pipefail

IMAGE="${IMAGE:-mysql-replicaset-test/mariadb:10.11}"
CACHE_DIR="${CACHE_DIR:-/var/cache/mysql-replicaset-test}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
# mariadb-client brings mariadb-admin (healthcheck); util-linux (essential) brings setpriv (Debian has no gosu).
PACKAGES=mariadb-server,mariadb-client
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The cache holds the debootstrap result only, keyed by what went into it; the image's own files are added on
# every build, so editing the entrypoint costs seconds, not a new debootstrap.
TARBALL="$CACHE_DIR/debootstrap-$SUITE-$(echo "$MIRROR $PACKAGES" | sha256sum | cut -c1-12).tar"

log() { echo "build-image: $*" >&2; }

if [ "${1:-}" != "--force" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already exists; nothing to do (--force rebuilds it)"
    exit 0
fi

mkdir -p "$CACHE_DIR"
WORK="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
mkdir "$ROOTFS"

if [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install -y debootstrap"; exit 1; }
    log "debootstrap $SUITE with $PACKAGES (a few minutes; cached in $CACHE_DIR afterwards)"
    # invoke-rc.d finds no init system in the chroot, so the maintainer scripts start no server.
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
        tail -n 40 "$WORK/debootstrap.log" >&2
        log "debootstrap failed (last 40 lines of its log above)"
        exit 1
    fi
    # Keep it small: no package lists, caches, docs, manuals or locales.
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/cache/debconf/*-old \
        "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
        "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* "$ROOTFS"/tmp/* \
        "$ROOTFS"/var/lib/mysql/* # the postinst's datadir (dropped again below)
    tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.partial" .
    mv "$TARBALL.partial" "$TARBALL"
    log "cached $TARBALL ($(du -h "$TARBALL" | cut -f1))"
else
    log "using cached $TARBALL"
    tar --numeric-owner -C "$ROOTFS" -xf "$TARBALL"
fi

# The official images run mysqld as uid/gid 999; hostPath layouts (dataOwner 999:999) rely on it.
chroot "$ROOTFS" sh -ec 'groupmod -g 999 mysql && usermod -u 999 -g 999 mysql'
# The package's postinst initialised a datadir: drop it, or Docker would copy it into every new volume.
rm -rf "$ROOTFS"/var/lib/mysql "$ROOTFS"/var/lib/mysql-upgrade
install -d -o 999 -g 999 "$ROOTFS"/var/lib/mysql "$ROOTFS"/var/log/mysql "$ROOTFS"/run/mysqld
# Listen on every container address; check accounts by IP (the replication account's host is a netmask).
printf '[mariadbd]\nbind-address = 0.0.0.0\nskip-name-resolve\nhost-cache-size = 0\n' \
    >"$ROOTFS/etc/mysql/mariadb.conf.d/99-docker.cnf"
install -m 0755 "$HERE/docker-entrypoint.sh" "$HERE/healthcheck.sh" "$ROOTFS/usr/local/bin/"

log "importing the rootfs as $IMAGE"
previous="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
tar --numeric-owner -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'VOLUME /var/lib/mysql' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["mariadbd"]' \
    --change 'EXPOSE 3306' \
    - "$IMAGE" >/dev/null
# A --force rebuild leaves the old image untagged: drop it unless a container still uses it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
fi
log "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
