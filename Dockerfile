# syntax=docker/dockerfile:1
#
# AN EXAMPLE, not a tested artefact: no Docker engine was available where it was written, so
# this image has never been built. How it was checked, and what to change for your own
# deployment, is in docs/deploy.md ("The Docker example").
#
# One image for every process of the Procfile: the command picks the role
# (web: the default CMD; worker: `advocacy deliver --loop`; scheduler: `advocacy scheduler`;
# before new code starts: `advocacy db upgrade`).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ADVOCACY_INSTANCE_DIR=/var/lib/advocacy \
    ADVOCACY_LOG_FORMAT=json \
    PORT=8000

WORKDIR /app
RUN useradd --system --create-home --uid 10001 advocacy \
    && mkdir -p /var/lib/advocacy \
    && chown advocacy /var/lib/advocacy

# The package reads templates/, static/ and campaigns/ beside it, so it is installed in place
# (editable) from /app.
COPY pyproject.toml README.md ./
COPY advocacy ./advocacy
COPY templates ./templates
COPY static ./static
COPY campaigns ./campaigns
RUN pip install --editable . && advocacy --help > /dev/null

USER 10001
EXPOSE 8000
# gunicorn listens on 0.0.0.0:$PORT; WEB_CONCURRENCY worker processes (default 2).
CMD ["gunicorn", "--config", "python:advocacy.observability.gunicorn_conf", "advocacy:create_app()"]
