# Production image: runs migrations, then the API, against DATABASE_URL (no embedded database).
# Build: docker build -t contact-desk .   Run: see compose.yaml.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY app ./app
# Runtime dependencies only: no test or lint tools in the image.
RUN pip install --upgrade pip && pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONTACT_DESK_ENVIRONMENT=production \
    CONTACT_DESK_HOST=0.0.0.0 \
    CONTACT_DESK_PORT=8000
RUN groupadd --system app && useradd --system --gid app --home /srv/app --create-home app
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/app
# The migrations are read from the working folder (app/db/migrate.py looks beside the package).
COPY --chown=app:app migrations ./migrations
COPY --chown=app:app alembic.ini ./
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# `serve` applies migrations first (under an advisory lock), then starts uvicorn.
CMD ["contact-desk", "serve"]
