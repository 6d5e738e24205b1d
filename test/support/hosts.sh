#!/usr/bin/env bash
# Several Docker engines on this machine, one per network namespace, for the multi-host tests (issue 17).
#
#   test/support/hosts.sh up ID COUNT OCTET [IMAGE...]
#       A Linux bridge mrs<ID>b with 10.231.OCTET.1/24 in this namespace; COUNT network namespaces mrs-<ID>-<i>,
#       each joined to the bridge by a veth pair and addressed 10.231.OCTET.(10+i)/24 (default route via .1); in
#       each a dockerd started with `nsenter --net` (`ip netns exec` remounts /sys and the engine loses its
#       cgroups), with its own data root, exec root, pid file and socket (STATE/<i>/docker.sock) and its own
#       bridge and address pools (10.240.<i>.1/24, 10.<240+i>.0.0/16). An iptables ACCEPT rule lets frames cross
#       the bridge (the local engine sets the FORWARD policy to DROP, and br_netfilter sends bridged frames
#       through it). Each IMAGE is copied from the local engine into every engine (docker save | docker load).
#       Prints the state directory. On any failure it undoes what it did and exits non-zero.
#   test/support/hosts.sh stop-engine ID I / start-engine ID I
#       Stops engine I (as a machine shutting down: its containers stop) / starts it again as `up` did.
#   test/support/hosts.sh down ID
#       Stops the engines it started (by their pid files, and only if they are still dockerd), removes the
#       namespaces, veths, bridge, iptables rule and state. Safe to repeat; never touches anything else.
#
# Root only. Uses only the addresses it creates (10.231.OCTET.0/24 and the engines' own pools inside their
# namespaces). Waiting is by readiness checks with a deadline (HOSTS_ENGINE_TIMEOUT, default 60 s).
set -euo pipefail

log() { echo "hosts.sh: $*" >&2; }
state_dir() { echo "/tmp/mrs-hosts-$1"; }

down() {
    local id="$1" dir
    dir="$(state_dir "$id")"
    local i
    for pidfile in "$dir"/*/dockerd.pid; do
        [ -s "$pidfile" ] || continue
        local pid
        pid="$(cat "$pidfile")"
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$pid" 2>/dev/null && { log "dockerd $pid did not stop in 30 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
        fi
    done
    # Containers' shims outlive a killed engine: stop those of this harness only (by their exec root).
    for shim in $(pgrep -f "containerd-shim.*$dir/" 2>/dev/null || true); do kill -KILL "$shim" 2>/dev/null || true; done
    for pid in $(pgrep -f "containerd --config $dir/" 2>/dev/null || true); do kill -TERM "$pid" 2>/dev/null || true; done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^mrs-$id-[0-9]+$" || true); do
        ip netns delete "$ns" 2>/dev/null || log "could not delete namespace $ns"
    done
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^mrs${id}v[0-9]+$" || true); do
        ip link delete "$link" 2>/dev/null || true
    done
    while iptables -C FORWARD -i "mrs${id}b" -o "mrs${id}b" -j ACCEPT 2>/dev/null; do
        iptables -D FORWARD -i "mrs${id}b" -o "mrs${id}b" -j ACCEPT
    done
    if ip link show "mrs${id}b" >/dev/null 2>&1; then ip link delete "mrs${id}b"; fi
    # The engines' data roots hold overlay mounts until the engines are gone; unmount what is left.
    if [ -d "$dir" ]; then
        { grep -o " $dir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
        rm -rf "$dir"
    fi
    log "removed harness $id"
}

# Starts engine I of harness ID in its namespace. setsid, and no job of this shell: it outlives the script.
launch_engine() {
    local id="$1" i="$2" dir
    dir="$(state_dir "$id")"
    ( setsid nsenter --net="/run/netns/mrs-$id-$i" dockerd \
        --data-root "$dir/$i/data" --exec-root "$dir/$i/exec" --pidfile "$dir/$i/dockerd.pid" \
        -H "unix://$dir/$i/docker.sock" --bip "10.240.$i.1/24" \
        --default-address-pool "base=10.$((240 + i)).0.0/16,size=24" \
        --containerd-namespace "mrs-$id-$i" --containerd-plugins-namespace "mrs-$id-$i-plugins" \
        >>"$dir/$i/dockerd.log" 2>&1 </dev/null & )
}

# Waits until engine I answers, with a deadline.
wait_engine() {
    local id="$1" i="$2" dir timeout="${HOSTS_ENGINE_TIMEOUT:-60}"
    dir="$(state_dir "$id")"
    local deadline=$((SECONDS + timeout))
    until docker -H "unix://$dir/$i/docker.sock" info >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 20 "$dir/$i/dockerd.log" >&2 || true
            log "engine $i did not answer within ${timeout}s (log above: $dir/$i/dockerd.log)"
            return 1
        fi
        sleep 0.2
    done
}

# Stops engine I (TERM, as a shutdown: its containers stop with it), waiting until it has exited.
stop_engine() {
    local id="$1" i="$2" dir pid
    dir="$(state_dir "$id")"
    pid="$(cat "$dir/$i/dockerd.pid" 2>/dev/null || true)"
    if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then log "engine $i is not running"; return 0; fi
    kill -TERM "$pid"
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then log "engine $i (pid $pid) did not stop within 60 s"; return 1; fi
        sleep 0.2
    done
}

up() {
    local id="$1" count="$2" octet="$3"
    shift 3
    [[ "$id" =~ ^[a-z0-9]{1,6}$ ]] || { log "ID must be 1-6 lowercase letters or digits (interface names are at most 15 characters)"; return 2; }
    [[ "$count" =~ ^[1-9]$ ]] || { log "COUNT must be 1-9"; return 2; }
    [[ "$octet" =~ ^[0-9]{1,3}$ ]] && [ "$octet" -le 254 ] || { log "OCTET must be 0-254"; return 2; }
    if ip -o addr show | grep -q " 10\.231\.$octet\."; then log "10.231.$octet.0/24 is in use on this machine; choose another OCTET"; return 3; fi
    local dir
    dir="$(state_dir "$id")"
    trap 'log "setting up harness $id failed; undoing"; down "$id"' ERR
    mkdir -p "$dir"
    local bridge="mrs${id}b"
    ip link add "$bridge" type bridge
    ip addr add "10.231.$octet.1/24" dev "$bridge"
    ip link set "$bridge" up
    iptables -I FORWARD -i "$bridge" -o "$bridge" -j ACCEPT
    local i
    for i in $(seq 1 "$count"); do
        local ns="mrs-$id-$i" outside="mrs${id}v$i" inside="mrs${id}p$i" address="10.231.$octet.$((10 + i))"
        ip netns add "$ns"
        ip link add "$outside" type veth peer name "$inside"
        ip link set "$outside" master "$bridge" up
        ip link set "$inside" netns "$ns"
        nsenter --net="/run/netns/$ns" ip link set lo up
        nsenter --net="/run/netns/$ns" ip addr add "$address/24" dev "$inside"
        nsenter --net="/run/netns/$ns" ip link set "$inside" up
        nsenter --net="/run/netns/$ns" ip route add default via "10.231.$octet.1"
        mkdir -p "$dir/$i"
        echo "$address" >"$dir/$i/address"
        launch_engine "$id" "$i"
    done
    for i in $(seq 1 "$count"); do wait_engine "$id" "$i"; done
    local image
    for image in "$@"; do
        local tar="$dir/image.tar"
        docker save "$image" -o "$tar"
        local loads=()
        for i in $(seq 1 "$count"); do
            docker -H "unix://$dir/$i/docker.sock" load -q -i "$tar" >/dev/null &
            loads+=("$!")
        done
        # Only the loads: a bare `wait` would also wait for the engines started above.
        for pid in "${loads[@]}"; do wait "$pid"; done
        rm -f "$tar"
    done
    trap - ERR
    echo "$dir"
}

case "${1:-}" in
    up) shift; up "$@" ;;
    down) shift; down "$@" ;;
    stop-engine) stop_engine "$2" "$3" ;;
    start-engine) launch_engine "$2" "$3"; wait_engine "$2" "$3" ;;
    *) log "usage: $0 up ID COUNT OCTET [IMAGE...] | down ID | stop-engine ID I | start-engine ID I"; exit 2 ;;
esac
