#!/bin/sh
# Entrypoint of the router's test image, as the official haproxy image's (docker-library/haproxy): a first
# argument starting with '-' is an haproxy flag; `haproxy ...` runs in master-worker mode (-W, so SIGUSR2
# reloads) in the foreground (-db). The image's CMD is `haproxy -f /usr/local/etc/haproxy/haproxy.cfg`.
set -e

if [ "${1#-}" != "$1" ]; then
    set -- haproxy "$@"
fi

if [ "$1" = 'haproxy' ]; then
    shift
    set -- haproxy -W -db "$@"
fi

exec "$@"
