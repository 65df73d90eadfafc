"""One warehouse setting mapped onto everything that writes or reads the warehouse.

`Warehouse` wraps the validated `warehouse:` of `sources.yml` (see
`ingest_assets.config.warehouse`) with the DuckDB file resolved, and answers, for its type:

| type | dlt destination | dbt target (`dbt_project/profiles.yml`) | pool limit |
| --- | --- | --- | --- |
| duckdb | `dlt.destinations.duckdb` (file) | `duckdb` (dbt-duckdb) | 1 |
| postgres | `dlt.destinations.postgres` | `postgres` (dbt-postgres) | `pool_limit` (4) |
| motherduck | `dlt.destinations.motherduck` | `motherduck` (dbt-duckdb, `md:`) | `pool_limit` (4) |
| snowflake | `dlt.destinations.snowflake` | `snowflake` (dbt-snowflake, extra) | `pool_limit` (4) |
| bigquery | `dlt.destinations.bigquery` | `bigquery` (dbt-bigquery, extra) | `pool_limit` (4) |

Secrets (passwords, tokens, key files) are read here, from the variable a `*_env` key names or
from dlt's `.dlt/secrets.toml`/environment, registered for redaction, and handed to dlt as
credentials and to dbt as `DBT_ENV_SECRET_*` variables (which dbt scrubs from its logs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest_assets.config.warehouse import (
    BigQueryWarehouse,
    DuckDBWarehouse,
    MotherDuckWarehouse,
    PostgresWarehouse,
    SnowflakeWarehouse,
)
from ingest_assets.settings import DBT_SECRET_ENV

DBT_TARGET_ENV = "INGEST_DBT_TARGET"
"""Variable naming the output of `dbt_project/profiles.yml` to use (the warehouse type)."""
DBT_IDENTITY_ENV = "INGEST_DBT_IDENTITY"
"""Variable naming the warehouse dbt's manifest was parsed for (`postgres:<database>/<schema>`),
part of the manifest fingerprint for warehouses other than a DuckDB file."""

REPLACE_STRATEGY = "insert-from-staging"
"""dlt's replace strategy on every warehouse: a replace table is swapped in only once all its rows
are in the staging dataset (as `.dlt/config.toml` sets for DuckDB)."""


class WarehouseSecretMissing(Exception):
    """A `*_env` key of `warehouse:` names an environment variable that is not set."""


@dataclass(frozen=True)
class Warehouse:
    """The project's warehouse, resolved.

    Attributes:
        config: the validated `warehouse:` setting (one of the models of
            `ingest_assets.config.warehouse`).
        path: the absolute DuckDB file for `duckdb`; None for the other types.
        environment: the `environments:` entry it came from (`dev` when none is defined).
    """

    config: Any
    path: Path | None = None
    environment: str = "dev"

    @property
    def type(self) -> str:
        """`duckdb`, `postgres`, `motherduck`, `snowflake` or `bigquery`."""
        return self.config.type

    @property
    def pool_limit(self) -> int:
        """Steps that may write the warehouse at once: 1 for a DuckDB file (one writer process),
        else the configured `pool_limit` (default 4)."""
        return 1 if self.type == "duckdb" else self.config.pool_limit

    @property
    def catalog(self) -> str:
        """The catalog (database) tables are in, as in `dagster/table_name`
        (`<catalog>.raw_<source>.<table>`): the DuckDB file's name up to its first dot, the
        PostgreSQL/MotherDuck/Snowflake database, the BigQuery project."""
        c = self.config
        if isinstance(c, DuckDBWarehouse):
            return Path(self.path or c.path).name.lstrip(".").split(".")[0]
        return c.project if isinstance(c, BigQueryWarehouse) else c.database

    @property
    def dbt_schema(self) -> str:
        """The schema dbt builds models in (`main` unless `dbt_schema` says otherwise)."""
        return self.config.dbt_schema

    def describe(self) -> str:
        """Where the warehouse is, for people (no secret): `duckdb /srv/warehouse.duckdb`,
        `postgres loader@db.internal:5432/analytics`, `snowflake acme-prod/ANALYTICS`, ..."""
        c = self.config
        if isinstance(c, DuckDBWarehouse):
            return f"duckdb {self.path}"
        if isinstance(c, PostgresWarehouse):
            return f"postgres {c.user}@{c.host}:{c.port}/{c.database}"
        if isinstance(c, MotherDuckWarehouse):
            return f"motherduck md:{c.database}"
        if isinstance(c, SnowflakeWarehouse):
            return f"snowflake {c.account}/{c.database}"
        return f"bigquery {c.project} ({c.location})"

    def secret(self) -> str | None:
        """The password or token: from the variable named by `password_env`/`token_env`, else
        dlt's `[destination.<type>.credentials] password` (`.dlt/secrets.toml`, or
        `DESTINATION__<TYPE>__CREDENTIALS__PASSWORD`); None when neither is set (DuckDB, trust
        authentication, BigQuery). The value is registered for redaction.

        Raises:
            WarehouseSecretMissing: the named variable is not set.
        """
        name = getattr(self.config, "password_env", None) or getattr(self.config, "token_env", None)
        if name:
            value = os.environ.get(name)
            if not value:
                raise WarehouseSecretMissing(
                    f"sources.yml: warehouse ({self.environment}): the environment variable {name} "
                    f"(named by {'token_env' if self.type == 'motherduck' else 'password_env'}) is not set; "
                    f"set it to the {self.type} {'token' if self.type == 'motherduck' else 'password'}"
                )
        elif self.type in ("postgres", "snowflake", "motherduck"):
            import dlt

            value = dlt.secrets.get(f"destination.{self.type}.credentials.password")
            if value is None and self.type == "motherduck":
                value = os.environ.get("MOTHERDUCK_TOKEN")
        else:
            return None
        if value:
            from ingest_assets.redact import remember_secrets

            remember_secrets([str(value)])
        return str(value) if value else None

    def keyfile(self) -> str | None:
        """BigQuery: the service-account key file named by `credentials_env`, None for ADC.

        Raises:
            WarehouseSecretMissing: `credentials_env` names a variable that is not set.
        """
        name = getattr(self.config, "credentials_env", None)
        if not name:
            return None
        value = os.environ.get(name)
        if not value:
            raise WarehouseSecretMissing(
                f"sources.yml: warehouse ({self.environment}): the environment variable {name} "
                "(named by credentials_env) is not set; set it to the path of the service-account key file"
            )
        return value

    def destination(self):
        """The dlt destination factory that loads this warehouse (never connects by itself).

        DuckDB files get theirs from `ingest_assets.dlt.pipeline.warehouse_destination` (it adds
        the load's memory limit); this covers every type for configuration tests.

        Raises:
            WarehouseSecretMissing: a `*_env` key names a variable that is not set.
        """
        import dlt

        c = self.config
        if isinstance(c, DuckDBWarehouse):
            return dlt.destinations.duckdb(credentials=str(self.path))
        if isinstance(c, PostgresWarehouse):
            credentials: dict[str, Any] = {
                "database": c.database,
                "username": c.user,
                "host": c.host,
                "port": c.port,
                "connect_timeout": c.connect_timeout,
            }
            if c.sslmode:
                credentials["query"] = {"sslmode": c.sslmode}
            # dlt requires a password; "" means none (trust or peer authentication)
            credentials["password"] = self.secret() or ""
            return dlt.destinations.postgres(
                credentials=credentials, replace_strategy=REPLACE_STRATEGY
            )
        if isinstance(c, MotherDuckWarehouse):
            credentials = {"database": c.database}
            if (token := self.secret()) is not None:
                credentials["password"] = token
            return dlt.destinations.motherduck(
                credentials=credentials, replace_strategy=REPLACE_STRATEGY
            )
        if isinstance(c, SnowflakeWarehouse):
            credentials = {"host": c.account, "database": c.database, "username": c.user}
            credentials.update(
                {k: v for k, v in (("warehouse", c.warehouse), ("role", c.role)) if v}
            )
            if (password := self.secret()) is not None:
                credentials["password"] = password
            return dlt.destinations.snowflake(
                credentials=credentials, replace_strategy=REPLACE_STRATEGY
            )
        assert isinstance(c, BigQueryWarehouse)
        keyfile = self.keyfile()
        kwargs: dict[str, Any] = {"location": c.location, "project_id": c.project}
        if keyfile:
            kwargs["credentials"] = Path(keyfile).read_text()
        return dlt.destinations.bigquery(replace_strategy=REPLACE_STRATEGY, **kwargs)

    def dbt_environment(self) -> dict[str, str]:
        """The variables `dbt_project/profiles.yml` reads for this warehouse: `INGEST_DBT_TARGET`
        (the output to use, named after the type), the connection fields, and the secret as
        `DBT_ENV_SECRET_INGEST_PASSWORD`. The DuckDB file is `INGEST_WAREHOUSE_PATH`, set by
        `settings.export_runtime_environment`.

        Raises:
            WarehouseSecretMissing: a `*_env` key names a variable that is not set.
        """
        c = self.config
        env = {
            DBT_TARGET_ENV: self.type,
            "INGEST_DBT_SCHEMA": c.dbt_schema,
            "INGEST_DBT_THREADS": "1",
        }
        if isinstance(c, DuckDBWarehouse):
            return env
        env["INGEST_DBT_THREADS"] = str(c.pool_limit)
        if isinstance(c, PostgresWarehouse):
            env.update(
                INGEST_DBT_HOST=c.host,
                INGEST_DBT_PORT=str(c.port),
                INGEST_DBT_DATABASE=c.database,
                INGEST_DBT_USER=c.user,
                INGEST_DBT_SSLMODE=c.sslmode or "prefer",
            )
            identity = f"postgres:{c.host}:{c.port}/{c.database}/{c.dbt_schema}"
        elif isinstance(c, MotherDuckWarehouse):
            env.update(INGEST_DBT_DATABASE=c.database)
            identity = f"motherduck:{c.database}/{c.dbt_schema}"
        elif isinstance(c, SnowflakeWarehouse):
            env.update(
                INGEST_DBT_ACCOUNT=c.account,
                INGEST_DBT_DATABASE=c.database,
                INGEST_DBT_USER=c.user,
                INGEST_DBT_WAREHOUSE=c.warehouse or "",
                INGEST_DBT_ROLE=c.role or "",
            )
            identity = f"snowflake:{c.account}/{c.database}/{c.dbt_schema}"
        else:
            env.update(
                INGEST_DBT_PROJECT=c.project,
                INGEST_DBT_LOCATION=c.location,
                INGEST_DBT_KEYFILE=self.keyfile() or "",
            )
            identity = f"bigquery:{c.project}/{c.dbt_schema}"
        env[DBT_IDENTITY_ENV] = identity
        secret = self.secret() if self.type != "bigquery" else None
        env[DBT_SECRET_ENV] = secret or ""
        return env


def as_warehouse(value: Warehouse | Path | str) -> Warehouse:
    """`value` as a `Warehouse`: a path (or string) is a DuckDB file, as the warehouse was before
    it could be anything else."""
    if isinstance(value, Warehouse):
        return value
    return Warehouse(DuckDBWarehouse(path=str(value)), path=Path(value))
