# Canopy: one image for web (gunicorn), Celery worker and Celery beat. See docker-compose.yml.
FROM python:3.11-slim

# PYTHONPATH: the source tree runs (templates/ and static/ sit next to the packages, not in
# site-packages). WEB_CONCURRENCY: gunicorn's default --workers.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    CANOPY_DATA_DIR=/app/var \
    PYTHONPATH=/app \
    WEB_CONCURRENCY=3

RUN groupadd --system canopy \
    && useradd --system --gid canopy --create-home --home-dir /home/canopy canopy

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps . \
    && mkdir -p /app/var \
    && chown canopy:canopy /app/var

USER canopy

# Settings need a secret key with DEBUG off; this one exists for this build step only.
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
