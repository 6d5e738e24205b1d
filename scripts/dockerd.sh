#!/usr/bin/env bash
# Starts a Docker engine for the end-to-end tests when none answers, and stops only the one it started.
#   scripts/dockerd.sh start   reuse the engine on /var/run/docker.sock, or start dockerd (log in a temp file,
#                              pid in $PIDFILE) and wait until `docker info` answers
#   scripts/dockerd.sh stop    stop the dockerd recorded in $PIDFILE (never one this script did not start)
# env: DOCKERD_PIDFILE (default /tmp/mysql-replicaset-dockerd.pid), DOCKERD_START_TIMEOUT (seconds, default 60)
set -euo pipefail

PIDFILE="${DOCKERD_PIDFILE:-/tmp/mysql-replicaset-dockerd.pid}"
TIMEOUT="${DOCKERD_START_TIMEOUT:-60}"

log() { echo "dockerd.sh: $*" >&2; }
engine_answers() { docker info >/dev/null 2>&1; }

start() {
    if engine_answers; then
        log "reusing the running Docker engine (server $(docker version -f '{{.Server.Version}}' 2>/dev/null))"
        return 0
    fi
    command -v dockerd >/dev/null || { log "no engine answers and dockerd is not installed (apt-get install -y docker.io)"; return 1; }
    local logfile
    logfile="$(mktemp /tmp/mysql-replicaset-dockerd.XXXXXX.log)"
    # setsid: the engine outlives this script and the CI step that called it, until `stop`.
    setsid dockerd >"$logfile" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$PIDFILE"
    echo "$logfile" >"$PIDFILE.log"
    local deadline=$((SECONDS + TIMEOUT)) delay=0.1
    until engine_answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$logfile" >&2 || true
            rm -f "$PIDFILE" "$PIDFILE.log"
            log "dockerd exited during startup (last lines of $logfile above)"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 30 "$logfile" >&2 || true
            log "timed out after ${TIMEOUT}s waiting for dockerd (pid $pid) to answer \`docker info\`; log: $logfile"
            return 1
        fi
        sleep "$delay"
        delay="$(awk -v d="$delay" 'BEGIN { d *= 1.5; print (d > 1 ? 1 : d) }')"
    done
    log "started dockerd (pid $pid, server $(docker version -f '{{.Server.Version}}'), log $logfile)"
}

stop() {
    if [ ! -s "$PIDFILE" ]; then
        log "no dockerd started by this script ($PIDFILE absent); leaving any running engine alone"
        return 0
    fi
    local pid
    pid="$(cat "$PIDFILE")"
    # The pid may have been reused since: stop it only if it is still a dockerd.
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
        log "dockerd $pid is no longer running"
        rm -f "$PIDFILE" "$PIDFILE.log"
        return 0
    fi
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30)) delay=0.1
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "dockerd $pid did not stop within 30s of SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep "$delay"
        delay="$(awk -v d="$delay" 'BEGIN { d *= 1.5; print (d > 1 ? 1 : d) }')"
    done
    rm -f "$PIDFILE" "$PIDFILE.log"
    log "stopped dockerd $pid"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
