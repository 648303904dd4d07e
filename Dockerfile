# One image for the producer, the workers and Flower: `metricate` on PATH.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, pinned: this layer is rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock
# Then the sources, without touching the dependencies.
COPY pyproject.toml README.md ./
COPY metricate ./metricate
COPY shared ./shared
COPY worker ./worker
COPY producer ./producer
RUN pip install --no-deps . \
    && useradd --create-home --uid 1000 metricate \
    && mkdir /data && chown metricate /data

# Workers run as a regular user; the shared data volume is mounted at /data.
USER metricate
WORKDIR /data
ENTRYPOINT ["metricate"]
CMD ["--help"]
