#!/usr/bin/env bash
# The root filesystem the integration tests' chroot servers run from: the same cached debootstrap tarball as
# the flavor's test image (test/support/image/flavors.sh), extracted once into $CACHE_DIR/rootfs-<tarball key>.
# Servers run as `chroot ROOTFS mysqld ...` on 127.0.0.1 ports (chroot shares the network namespace); their
# datadirs live under ROOTFS/srv.
#
# Usage: rootfs.sh FLAVOR...     prints one rootfs path per flavor ("/" for mariadb-10.11: the host's server)
#   env: MIRROR, CACHE_DIR (as debootstrap-cache.sh)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=image/flavors.sh
. "$HERE/image/flavors.sh"
CACHE_DIR="${CACHE_DIR:-/var/cache/mysql-replicaset-test}"
export CACHE_DIR

log() { echo "rootfs: $*" >&2; }

[ "$#" -gt 0 ] || { echo "usage: rootfs.sh FLAVOR... (${ALL_FLAVORS[*]})" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { log "chroot servers need root"; exit 1; }

for name in "$@"; do
    flavor_spec "$name"
    if [ "$FLAVOR" = mariadb-10.11 ]; then
        # The host's Debian mariadbd (mariadb-server on bookworm).
        [ -x /usr/sbin/mariadbd ] || { log "mariadb-10.11 runs the host's /usr/sbin/mariadbd: apt-get install mariadb-server"; exit 1; }
        echo /
        continue
    fi
    tarball="$(bash "$HERE/image/debootstrap-cache.sh" "$SUITE" "$PACKAGES")"
    key="$(basename "$tarball" .tar)"
    rootfs="$CACHE_DIR/rootfs-${key#debootstrap-}"
    mkdir -p "$CACHE_DIR"
    # One extraction at a time (test processes may ask together); a finished rootfs is marked.
    exec 9>"$CACHE_DIR/rootfs.lock"
    flock 9
    if [ ! -f "$rootfs/.mysql-replicaset-rootfs" ]; then
        started=$SECONDS
        rm -rf "$rootfs.partial" "$rootfs"
        mkdir -p "$rootfs.partial"
        tar --numeric-owner -C "$rootfs.partial" -xf "$tarball"
        # The device nodes a server opens; debootstrap in a container may leave none.
        for dev in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9; do
            IFS=: read -r n major minor <<<"$dev"
            [ -c "$rootfs.partial/dev/$n" ] || { rm -f "$rootfs.partial/dev/$n"; mknod -m 666 "$rootfs.partial/dev/$n" c "$major" "$minor"; }
        done
        # MySQL refuses to start when its compiled-in secure_file_priv directory is missing.
        mkdir -p "$rootfs.partial/var/lib/mysql-files" "$rootfs.partial/srv" "$rootfs.partial/run/mysqld"
        chmod 1777 "$rootfs.partial/tmp"
        touch "$rootfs.partial/.mysql-replicaset-rootfs"
        mv "$rootfs.partial" "$rootfs"
        log "extracted $FLAVOR into $rootfs in $((SECONDS - started))s"
    fi
    # The server resolves its own host name at start; without the host's /etc/hosts that is a DNS query (seconds).
    cp /etc/hosts "$rootfs/etc/hosts"
    flock -u 9
    echo "$rootfs"
done
