#!/bin/sh
# nginx from Debian, for tests/test_front.py: the gateway's HTTP front runs it as the containers do.
# Idempotent: does nothing when nginx is installed. Only the binary is used; the Debian service stays off.
set -eu
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nginx
/usr/sbin/nginx -v
