#!/bin/sh
# The official image's two variables, written as Debian's server reads them (rabbitmq.conf).
set -eu
mkdir -p /etc/rabbitmq
{
    echo "loopback_users = none"
    [ -n "${RABBITMQ_DEFAULT_USER:-}" ] && echo "default_user = ${RABBITMQ_DEFAULT_USER}"
    [ -n "${RABBITMQ_DEFAULT_PASS:-}" ] && echo "default_pass = ${RABBITMQ_DEFAULT_PASS}"
    true
} > /etc/rabbitmq/rabbitmq.conf
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
if [ "$1" = rabbitmq-server ]; then
    # Debian's rabbitmq-server is a wrapper that `su`s, and su does not pass SIGTERM on: run the server as
    # its user directly, so that `docker stop` stops it cleanly instead of killing it after the grace period
    shift
    cd /var/lib/rabbitmq
    HOME=/var/lib/rabbitmq exec setpriv --reuid rabbitmq --regid rabbitmq --init-groups \
        /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
