# syntax=docker/dockerfile:1
#
# One image per service, all from this file:
#   docker build --target intake    -t zhongshi/intake .
#   docker build --target screening -t zhongshi/screening .
#   ... (review, registry, notify, console)
# docker-compose.yml builds every target. Each service runs as `python -m zhongshi_<name>`.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: resolve the locked workspace into /app/.venv ------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Third-party dependencies first: this layer is rebuilt only when the lock or a pyproject changes.
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/pyproject.toml
COPY libs/runtime/pyproject.toml libs/runtime/pyproject.toml
COPY services/intake/pyproject.toml services/intake/pyproject.toml
COPY services/screening/pyproject.toml services/screening/pyproject.toml
COPY services/review/pyproject.toml services/review/pyproject.toml
COPY services/registry/pyproject.toml services/registry/pyproject.toml
COPY services/notify/pyproject.toml services/notify/pyproject.toml
COPY services/console/pyproject.toml services/console/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-install-workspace

# Then the workspace itself, installed as wheels (not editable): the venv needs no source tree.
COPY libs/ libs/
COPY services/ services/
COPY src/ src/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-editable

# ---- runtime: the venv on a clean slim image, as a non-root user -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 zhongshi \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin zhongshi

# Same path as in the builder, so the venv's scripts and symlinks stay valid. Owned by root: read-only
# for the service user.
COPY --from=builder /app/.venv /app/.venv

ENV PATH="/app/.venv/bin:${PATH}" \
    VIRTUAL_ENV=/app/.venv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HTTP_HOST=0.0.0.0 \
    ZHONGSHI_ENV=production

WORKDIR /app
USER 10001:10001

# On SIGTERM uvicorn drains for up to 20 s, then FastStream waits up to 15 s for handlers in flight;
# docker-compose.yml (stop_grace_period) and deploy/k8s (terminationGracePeriodSeconds) allow more.
STOPSIGNAL SIGTERM

# ---- one final stage per service ---------------------------------------------------------------------
# The health check reads the service's own <NAME>_PORT so an overridden port is still probed.

FROM runtime AS intake
EXPOSE 8001
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('INTAKE_PORT', '8001'), timeout=4)"]
CMD ["python", "-m", "zhongshi_intake"]

FROM runtime AS screening
EXPOSE 8002
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('SCREENING_PORT', '8002'), timeout=4)"]
CMD ["python", "-m", "zhongshi_screening"]

FROM runtime AS review
EXPOSE 8003
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('REVIEW_PORT', '8003'), timeout=4)"]
CMD ["python", "-m", "zhongshi_review"]

FROM runtime AS registry
EXPOSE 8004
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('REGISTRY_PORT', '8004'), timeout=4)"]
CMD ["python", "-m", "zhongshi_registry"]

FROM runtime AS notify
EXPOSE 8005
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('NOTIFY_PORT', '8005'), timeout=4)"]
CMD ["python", "-m", "zhongshi_notify"]

# The web console (no broker, no database: it calls the five services over HTTP).
FROM runtime AS console
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('CONSOLE_PORT', '8000'), timeout=4)"]
CMD ["python", "-m", "zhongshi_console"]
