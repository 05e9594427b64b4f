# The stockstream image of docker-compose.yml: the locked Python packages, stockstream itself (with
# dags/, plugins/, jobs/ and lakehouse/), a Java runtime for Spark and the JVM jars Spark needs.
# Not built on the machines this project is developed on (no Docker engine there): see docs/security.md.

# --- the JVM jars (Delta, the Kafka connector), resolved by Maven from jvm/ as `make jars` does
FROM maven:3.9-eclipse-temurin-17 AS jars
WORKDIR /src
COPY jvm/ jvm/
RUN mvn -B -q -f jvm/pom.xml package

# --- the runtime
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 50000 --gid 0 stockstream

WORKDIR /opt/stockstream
COPY requirements.txt ./
# The lock, plus Postgres' driver for Airflow's metadata database (the embedded default uses SQLite).
RUN python -m venv /opt/venv \
    && pip install -r requirements.txt psycopg2-binary==2.9.13 setuptools

COPY pyproject.toml README.md ./
COPY src/ src/
COPY lakehouse/ lakehouse/
COPY dags/ dags/
COPY plugins/ plugins/
COPY jobs/ jobs/
# Editable, as `make install` does: the package finds lakehouse/ and dags/ next to src/.
RUN pip install --no-deps --no-build-isolation -e .
COPY --from=jars /src/.cache/jars/ .cache/jars/

ENV STOCKSTREAM_DATA_ROOT=/data \
    STOCKSTREAM_JARS_DIR=/opt/stockstream/.cache/jars
# Owned by the user, so that the named volumes mounted here start out writable.
RUN mkdir -p /data /opt/airflow/logs /opt/airflow/auth && chown -R stockstream:0 /data /opt/airflow
USER stockstream
CMD ["stockstream", "--help"]
