#!/bin/sh
# Stand-in base images for a Docker host that reaches Debian's and PyPI's mirrors but no container
# registry (docs/deployment.md, "Without a registry"). Idempotent: an image already built is kept.
#   sh docker/offline/build-bases.sh          # prints nothing but progress; exit 0 when all are there
# Images: sitter-offline/{python,nginx,redis,rabbitmq,s3,flower}:bookworm, from a debootstrapped bookworm.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SITTER_OFFLINE_CACHE:-/var/cache/sitter-offline}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
TAG=bookworm
pin() { sed -n "s/^$1==//p" "$HERE/../constraints.txt"; }

if ! docker image inspect "sitter-offline/bookworm:minbase" >/dev/null 2>&1; then
    if [ ! -x "$CACHE/bookworm/usr/bin/apt-get" ]; then
        command -v debootstrap >/dev/null || { apt-get update -q && apt-get install -y -q debootstrap; }
        rm -rf "$CACHE/bookworm.part" && mkdir -p "$CACHE"
        echo "debootstrap bookworm into $CACHE (about a minute)"
        debootstrap --variant=minbase bookworm "$CACHE/bookworm.part" "$MIRROR" >"$CACHE/debootstrap.log"
        mv "$CACHE/bookworm.part" "$CACHE/bookworm"
    fi
    # without the .debs debootstrap leaves in apt's cache (~100 MB of every image)
    tar -C "$CACHE/bookworm" --exclude='./var/cache/apt/archives/*.deb' -c . |
        docker import - "sitter-offline/bookworm:minbase" >/dev/null
fi

CONTEXT=$(mktemp -d)
trap 'rm -rf "$CONTEXT"' EXIT
cp "$HERE/bases.Dockerfile" "$HERE/rabbitmq-entrypoint.sh" "$HERE/s3_server.py" "$CONTEXT/"
cp "$CA_BUNDLE" "$CONTEXT/ca-certificates.crt"
MOTO=${MOTO_VERSION:-$(pin moto)}
CELERY=$(pin celery)
FLOWER=2.0.1
# Each base is also tagged with a digest of what it is built from (these files, the CA bundle, the pins),
# so an edited stand-in is rebuilt rather than an old one reused under the fixed tag compose names.
DIGEST=$(cat "$CONTEXT"/* | { cat; echo "$MOTO $CELERY $FLOWER"; } | sha256sum | cut -c1-12)
for target in python nginx redis rabbitmq s3 flower; do
    if ! docker image inspect "sitter-offline/$target:$DIGEST" >/dev/null 2>&1; then
        echo "building sitter-offline/$target:$TAG"
        DOCKER_BUILDKIT=0 docker build -q --network host -f "$CONTEXT/bases.Dockerfile" --target "$target" \
            --build-arg MOTO_VERSION="$MOTO" --build-arg CELERY_VERSION="$CELERY" \
            --build-arg FLOWER_VERSION="$FLOWER" -t "sitter-offline/$target:$DIGEST" "$CONTEXT" >/dev/null
    fi
    docker tag "sitter-offline/$target:$DIGEST" "sitter-offline/$target:$TAG"
done
