#!/bin/sh
# RabbitMQ (and the Erlang it runs on) from Debian, for the tests that run on both brokers: they start a
# private node of their own (sitter/rabbitmq_node.py). Idempotent: does nothing when it is installed.
# Only the scripts under /usr/lib/rabbitmq/bin are used; the Debian service is left as the package sets it.
set -eu
if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends rabbitmq-server
test -x /usr/lib/rabbitmq/bin/rabbitmq-server
