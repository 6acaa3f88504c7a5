# Stand-in base images for a machine that reaches Debian's and PyPI's mirrors but no container registry
# (this project's CI). Built by docker/offline/build-bases.sh from a debootstrapped bookworm; an operator
# with a registry never needs them: the Dockerfile's defaults are the official images.
# The host's CA bundle is baked in (some networks re-sign TLS), so pip and apt inside builds trust what the
# host trusts; that is why these images stay on the machine that built them.
ARG DEBIAN_IMAGE=sitter-offline/bookworm:minbase

FROM ${DEBIAN_IMAGE} AS debian
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# as Debian's official images do: apt keeps no package cache and no downloaded .debs in any layer
RUN printf '%s\n' 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' \
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };' \
        > /etc/apt/apt.conf.d/docker-clean \
 && apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt

# python:3.11-slim-bookworm's place: Debian's Python 3.11 with venv, `python` on PATH
FROM debian AS python
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends python3 python3-venv python-is-python3 \
 && rm -rf /var/lib/apt/lists/*

# nginx:alpine's place: the front runs its own nginx.conf, so only the binary and wget (health check)
FROM debian AS nginx
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends nginx-light wget \
 && rm -rf /var/lib/apt/lists/*
CMD ["nginx", "-g", "daemon off;"]

# redis:alpine's place: the compose command runs redis-server with its own flags in /data. Debian's
# build defaults to protected mode (loopback only), the official image's does not: the entrypoint turns it
# off as that image does, since the containers' network is the only one that reaches it.
FROM debian AS redis
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data
WORKDIR /data
ENTRYPOINT ["sh", "-c", "if [ \"$1\" = redis-server ]; then exec \"$@\" --protected-mode no; fi; exec \"$@\"", "--"]
CMD ["redis-server"]

# rabbitmq's place: Debian's server; the entrypoint turns RABBITMQ_DEFAULT_USER/PASS into its config,
# as the official image's does
FROM debian AS rabbitmq
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/*
COPY rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint.sh
ENTRYPOINT ["sh", "/usr/local/bin/rabbitmq-entrypoint.sh"]
CMD ["rabbitmq-server"]

# MinIO's place (MinIO is not packaged where this machine reaches): moto's S3 server, keeping its objects
# on the /data volume across restarts (s3_server.py)
FROM python AS s3
ARG MOTO_VERSION
RUN python -m venv /opt/s3 && /opt/s3/bin/pip install -q "moto[server]==${MOTO_VERSION}"
COPY s3_server.py /opt/s3/s3_server.py
VOLUME /data
CMD ["/opt/s3/bin/python", "/opt/s3/s3_server.py", "--data", "/data", "--port", "9000"]

# mher/flower's place: Flower from PyPI with the Celery the workers run
FROM python AS flower
ARG FLOWER_VERSION
ARG CELERY_VERSION
RUN python -m venv /opt/flower \
 && /opt/flower/bin/pip install -q "flower==${FLOWER_VERSION}" "celery[redis]==${CELERY_VERSION}"
ENV PATH=/opt/flower/bin:$PATH
CMD ["celery", "flower"]
