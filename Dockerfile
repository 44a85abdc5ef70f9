# syntax=docker/dockerfile:1.7
# Course Supporter image: the API and the worker run from this one image.
#   API:    python -m course_supporter serve --host 0.0.0.0 --port 8000 --workers 2   (default CMD)
#   worker: python -m course_supporter worker
#   migrate: python -m course_supporter db upgrade
# The project is installed into the venv as a wheel (`--no-editable`): migrations, the models
# YAML and the prompts ship inside the package, so the runtime stage needs the venv alone.
# scripts/replay_image_install.py replays these install steps outside the checkout in CI.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ARG UV_VERSION=0.13.8
# UV_LINK_MODE=copy: real files in the venv, not hard links/symlinks into uv's cache,
# so the venv survives being copied into the runtime stage.
ENV UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN pip install "uv==${UV_VERSION}"

WORKDIR /app

# Dependencies first (cached until pyproject.toml or uv.lock change).
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself, built and installed as a wheel, not linked to /app/src.
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

# ffmpeg: audio/video ingestion; tini: PID 1 that forwards signals and reaps the
# ffmpeg / yt-dlp children of the worker. Debian security updates are preferred over
# pinned package versions here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

WORKDIR /app

COPY --from=builder --chown=app:app /app/.venv /app/.venv

RUN mkdir -p /app/var/storage && chown -R app:app /app/var

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STORAGE_DIR=/app/var/storage

USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "course_supporter", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
