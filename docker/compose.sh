#!/bin/sh
# `make compose-up` / `make compose-down`: the Compose stack on this machine (docs/deployment.md).
#   sh docker/compose.sh up      build the images, start the stack, wait until every service is healthy
#   sh docker/compose.sh down    remove its containers, networks and volumes (every profile's)
# Reads SITTER_API_KEYS (required for up), SITTER_HTTP_PORT (8000) and the rest from the environment or
# `.env`, as docker compose does. Where no container registry answers, the bases are built from Debian
# (docker/offline/build-bases.sh) and docker/offline/compose.offline.yml is added; SITTER_OFFLINE=1 or 0
# forces either way. SITTER_COMPOSE_FILES adds more override files (the tests' own).
set -eu
cd "$(dirname "$0")/.."
action=${1:-}
case "$action" in up | down) ;; *) echo "usage: sh docker/compose.sh up|down" >&2 && exit 2 ;; esac

sh docker/engine.sh

if [ -f .env ]; then  # what compose itself will read, for the checks below (the environment wins)
    env_value() { sed -n "s/^$1=//p" .env | tail -n 1; }
else
    env_value() { :; }
fi
python_image=${PYTHON_IMAGE:-$(env_value PYTHON_IMAGE)}
python_image=${python_image:-$(sed -n 's/^ARG PYTHON_IMAGE=//p' Dockerfile)}

offline=${SITTER_OFFLINE:-auto}
if [ "$offline" = auto ]; then
    if docker image inspect "$python_image" >/dev/null 2>&1 || docker pull -q "$python_image" >/dev/null 2>&1; then
        offline=0
    else
        offline=1
    fi
fi
files="-f docker-compose.yml"
if [ "$offline" = 1 ]; then
    files="$files -f docker/offline/compose.offline.yml"
fi
for extra in ${SITTER_COMPOSE_FILES:-}; do
    files="$files -f $extra"
done

if [ "$action" = down ]; then
    # every profile, so a RabbitMQ started with `--profile rabbitmq` goes too; keys are not needed to stop
    SITTER_API_KEYS=${SITTER_API_KEYS:-unused} COMPOSE_PROFILES=rabbitmq \
        docker compose $files down --volumes --remove-orphans
    exit 0
fi

if [ -z "${SITTER_API_KEYS:-$(env_value SITTER_API_KEYS)}" ]; then
    echo "set SITTER_API_KEYS (comma-separated API keys clients send as X-API-Key) in the environment or .env" >&2
    exit 1
fi
if [ "$offline" = 1 ]; then
    echo "no container registry answers for $python_image: building stand-in bases from Debian"
    sh docker/offline/build-bases.sh
fi
start=$(date +%s)
docker compose $files up --build --detach --wait --wait-timeout "${SITTER_WAIT_TIMEOUT:-900}"
port=${SITTER_HTTP_PORT:-$(env_value SITTER_HTTP_PORT)}
echo "Sitter is up (healthy after $(($(date +%s) - start)) s): http://localhost:${port:-8000}/"
