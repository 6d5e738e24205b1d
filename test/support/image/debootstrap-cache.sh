#!/usr/bin/env bash
# A minimal Debian root filesystem with some packages, made by debootstrap once and cached as a tarball outside
# the repository, keyed by suite + packages + mirror. Shared by the test images (build-image.sh) and the
# chroot servers of the integration tests (test/support/rootfs.sh): both come from the same tarball.
#
# Usage: debootstrap-cache.sh SUITE PACKAGES      prints the tarball's path on stdout
#   PACKAGES is comma-separated, as debootstrap's --include.
#   env: MIRROR (default: the Debian archive this machine's apt reads, see debian_mirror), CACHE_DIR
# A failed debootstrap names the suite, the packages and the mirror, shows the end of its log, and exits 1.
set -euo pipefail

CACHE_DIR="${CACHE_DIR:-/var/cache/mysql-replicaset-test}"

log() { echo "debootstrap-cache: $*" >&2; }

# The URI of the Debian main archive in this machine's apt configuration (deb822 *.sources first, then the
# one-line sources.list); security and other non-archive suites are skipped.
debian_mirror() {
    local uri
    uri="$(
        for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && { cat "$f"; echo; }; done | awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && uris != "" && suites != "" && suites !~ /-security/ && comps ~ /(^| )main( |$)/ && found == "")
                    { split(uris, u, " "); found = u[1] }
                types = ""; uris = ""; suites = ""; comps = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]*#/ { next }
            tolower($1) == "types:"      { $1 = ""; types = $0 }
            tolower($1) == "uris:"       { $1 = ""; uris = $0 }
            tolower($1) == "suites:"     { $1 = ""; suites = $0 }
            tolower($1) == "components:" { $1 = ""; comps = $0 }
            END { flush(); if (found != "") print found }'
    )"
    if [ -z "$uri" ]; then
        uri="$(
            for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && cat "$f"; done | awk '
                $1 == "deb" {
                    i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    uri = $i; suite = $(i + 1)
                    if (suite !~ /-security/ && uri !~ /security/) { print uri; exit }
                }'
        )"
    fi
    [ -n "$uri" ] || return 1
    echo "${uri%/}"
}

SUITE="${1:?usage: debootstrap-cache.sh SUITE PACKAGES}"
PACKAGES="${2:?usage: debootstrap-cache.sh SUITE PACKAGES}"
if [ -z "${MIRROR:-}" ]; then
    MIRROR="$(debian_mirror)" || {
        log "no Debian archive found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set MIRROR to one"
        exit 1
    }
fi
# The key covers what went into the tarball: suite (in the name), mirror and packages.
TARBALL="$CACHE_DIR/debootstrap-$SUITE-$(echo "$MIRROR $PACKAGES" | sha256sum | cut -c1-12).tar"

if [ -s "$TARBALL" ]; then
    log "using cached $TARBALL ($SUITE: $PACKAGES)"
    echo "$TARBALL"
    exit 0
fi

command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install -y debootstrap"; exit 1; }
mkdir -p "$CACHE_DIR"
WORK="$(mktemp -d "$CACHE_DIR/debootstrap.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
mkdir "$ROOTFS"
started=$SECONDS
log "debootstrap $SUITE with $PACKAGES from $MIRROR (a minute or more; cached in $CACHE_DIR afterwards)"
# invoke-rc.d finds no init system in the chroot, so the maintainer scripts start no server.
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 40 "$WORK/debootstrap.log" >&2
    log "FAILED: debootstrap of suite '$SUITE' with packages '$PACKAGES' from mirror '$MIRROR' (last 40 lines of its log above)"
    exit 1
fi
# Keep it small: no package lists, caches, docs, manuals or locales; no datadir from the postinst.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/cache/debconf/*-old \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
    "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* "$ROOTFS"/tmp/* \
    "$ROOTFS"/var/lib/mysql/*
tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.partial" .
mv "$TARBALL.partial" "$TARBALL"
log "cached $TARBALL ($(du -h "$TARBALL" | cut -f1)) in $((SECONDS - started))s"
echo "$TARBALL"
