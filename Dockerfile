# syntax=docker/dockerfile:1
# The code location image: the project (sources.yml, dbt project, custom sources) with the exact
# versions of requirements.lock. The same image serves the code location (gRPC server) and every
# run (DockerRunLauncher container or K8sRunLauncher pod); the webserver and the daemon use
# Dagster's own images. See docs/production.md.
#
#   docker build -t ingest-assets:0.1.0 .
#   docker run -p 3030:3030 -e INGEST_ENV=prod -e WAREHOUSE_PASSWORD=... ingest-assets:0.1.0
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    INGEST_PROJECT_DIR=/opt/ingest \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false

WORKDIR /opt/ingest

# dependencies first (a layer that changes only with the lock)
COPY requirements.lock ./
RUN pip install --no-cache-dir "uv>=0.5,<1" \
    && uv pip install --system --no-cache -r requirements.lock

# the project; secrets (.dlt/secrets.toml), warehouses, run state and data stay out (.dockerignore)
COPY pyproject.toml README.md sources.yml workspace.yaml ./
COPY ingest_assets ./ingest_assets
COPY custom_sources ./custom_sources
COPY dbt_project ./dbt_project
COPY .dlt/config.toml ./.dlt/config.toml
# the production instance (PostgreSQL storage, run queue, retries, monitoring); the Helm chart
# and docker compose mount their own dagster.yaml over it
COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml
RUN uv pip install --system --no-cache --no-deps . \
    && useradd --uid 1000 --create-home ingest \
    && mkdir -p .dlt/pipelines .cache data \
    && chown -R ingest /opt/ingest /opt/dagster

USER ingest
# the dbt manifest, parsed at build time for the default environment (no warehouse connection):
# loading the definitions parses it; another environment's target re-parses it once when the
# definitions first load
RUN python -c "import ingest_assets.definitions as d; d.defs()"

EXPOSE 3030
# the code location; the Helm chart runs `dagster api grpc` with dagsterApiGrpcArgs instead, and
# run workers are started by the run launcher with their own command
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "3030", "-m", "ingest_assets.definitions"]
