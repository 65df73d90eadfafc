"""`warehouse:` and `environments:` of `sources.yml`: which warehouse dlt, dbt and Dagster use.

`warehouse:` is either a string, the DuckDB file as before (`warehouse: warehouse.duckdb`), or a
mapping with a `type`:

```yaml
warehouse: {type: duckdb, path: warehouse.duckdb}          # the default
warehouse:
  type: postgres
  host: db.internal
  database: analytics
  user: loader
  password_env: WAREHOUSE_PASSWORD      # or [destination.postgres.credentials] password
  pool_limit: 4                         #    in .dlt/secrets.toml
```

`motherduck`, `snowflake` and `bigquery` are accepted too (`ingest_assets.warehouses` maps each
to its dlt destination and dbt target). Secrets never sit in `sources.yml`: a literal `password`,
`token`, `private_key` or `credentials` key is refused with a message that says where the secret
goes instead (an environment variable named by a `*_env` key, or `.dlt/secrets.toml`).

`environments:` names variants of the project (e.g. `dev` on DuckDB, `prod` on PostgreSQL);
`INGEST_ENV` picks one (default `dev`). An environment may set its own warehouse, the status
every schedule starts with, and the interval of every file-arrival sensor.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from ingest_assets.config.common import StrictModel

SECRET_KEYS = (
    "password",
    "token",
    "private_key",
    "private_key_passphrase",
    "credentials",
    "keyfile_json",
    "motherduck_token",
)
"""Keys that would hold a secret literally: refused in `warehouse:` (see `_no_literal_secret`)."""

DEFAULT_SERVER_POOL_LIMIT = 4
"""Steps that write a server warehouse at once (PostgreSQL, MotherDuck, Snowflake, BigQuery)."""


class _WarehouseBase(StrictModel):
    """Fields every warehouse type has.

    Attributes:
        dbt_schema: the schema (BigQuery: dataset) dbt builds its models in; `main`, as DuckDB's
            default schema, so models have the same names on every warehouse.
        pool_limit: how many steps may write the warehouse at once (the `duckdb` pool's limit on
            the Dagster instance); a DuckDB file always allows one writer process.
    """

    dbt_schema: str = Field(default="main", min_length=1)
    pool_limit: int = Field(default=DEFAULT_SERVER_POOL_LIMIT, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secret(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in SECRET_KEYS:
                if key in data:
                    kind = data.get("type", "warehouse")
                    env_key = (
                        "credentials_env"
                        if key in ("credentials", "keyfile_json")
                        else ("token_env" if "token" in key else f"{key}_env")
                    )
                    raise ValueError(
                        f"{key}: a secret is not allowed in sources.yml (it would end up in the "
                        f"repository); remove it and set {env_key}: <ENVIRONMENT_VARIABLE> naming a "
                        f"variable that holds it, or put it in .dlt/secrets.toml under "
                        f"[destination.{kind}.credentials]"
                    )
        return data


class DuckDBWarehouse(_WarehouseBase):
    """A DuckDB file (the default): one writer process at a time, so `pool_limit` is always 1.

    Attributes:
        path: the file, relative to the project root (`INGEST_WAREHOUSE` wins).
    """

    type: Literal["duckdb"] = "duckdb"
    path: str = Field(default="warehouse.duckdb", min_length=1)
    pool_limit: Literal[1] = 1


class PostgresWarehouse(_WarehouseBase):
    """A PostgreSQL database; each source's dataset `raw_<source>` is a schema in it.

    Attributes:
        host, port: the server.
        database: the database (must exist; dlt creates the schemas).
        user: the role that loads (needs CREATE on the database).
        password_env: environment variable holding the password; without it the password is
            `[destination.postgres.credentials] password` of `.dlt/secrets.toml` (or
            `DESTINATION__POSTGRES__CREDENTIALS__PASSWORD`), or none (trust/peer auth).
        sslmode: libpq's `sslmode` (`require`, `verify-full`, ...), None for libpq's default.
        connect_timeout: seconds to wait for a connection.
    """

    type: Literal["postgres"]
    host: str = "127.0.0.1"
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1)
    user: str = Field(min_length=1)
    password_env: str | None = None
    sslmode: str | None = None
    connect_timeout: int = Field(default=15, ge=1)


class MotherDuckWarehouse(_WarehouseBase):
    """A MotherDuck database (DuckDB in the cloud; several writers).

    Attributes:
        database: the MotherDuck database name (`md:<database>`).
        token_env: environment variable holding the MotherDuck token; without it dlt's
            `[destination.motherduck.credentials] password` (or `motherduck_token`) is used.
    """

    type: Literal["motherduck"]
    database: str = Field(min_length=1)
    token_env: str | None = None


class SnowflakeWarehouse(_WarehouseBase):
    """A Snowflake database.

    Attributes:
        account: the account identifier (`orgname-account`).
        database: the database; each dataset is a schema in it.
        user: the user that loads.
        warehouse: the Snowflake virtual warehouse (compute) to run in; None for the user's default.
        role: the role; None for the user's default.
        password_env: environment variable holding the password; without it dlt's
            `[destination.snowflake.credentials] password` is used.
    """

    type: Literal["snowflake"]
    account: str = Field(min_length=1)
    database: str = Field(min_length=1)
    user: str = Field(min_length=1)
    warehouse: str | None = None
    role: str | None = None
    password_env: str | None = None


class BigQueryWarehouse(_WarehouseBase):
    """A Google BigQuery project; each dataset is a BigQuery dataset.

    Attributes:
        project: the GCP project id.
        location: where datasets are created (`US`, `EU`, `europe-west3`, ...).
        credentials_env: environment variable holding the path of a service-account key file
            (JSON); None uses Application Default Credentials (workload identity on GKE).
    """

    type: Literal["bigquery"]
    project: str = Field(min_length=1)
    location: str = "US"
    credentials_env: str | None = None


def _duckdb_shorthand(value: Any) -> Any:
    """`warehouse: some/file.duckdb` is `{type: duckdb, path: some/file.duckdb}`; a mapping
    without `type` is DuckDB too (as before, the default)."""
    if isinstance(value, str):
        return {"type": "duckdb", "path": value}
    if isinstance(value, dict) and "type" not in value:
        return {"type": "duckdb", **value}
    return value


WarehouseConfig = Annotated[
    Annotated[
        DuckDBWarehouse
        | PostgresWarehouse
        | MotherDuckWarehouse
        | SnowflakeWarehouse
        | BigQueryWarehouse,
        Field(discriminator="type"),
    ],
    BeforeValidator(_duckdb_shorthand),
]
"""Any warehouse: a DuckDB path string, or a mapping picked by its `type`."""

DEFAULT_ENVIRONMENT = "dev"
"""The environment used when `INGEST_ENV` is not set."""


class EnvironmentConfig(StrictModel):
    """One entry of `environments:`.

    Attributes:
        warehouse: this environment's warehouse; None uses the top-level `warehouse`.
        schedule_status: when set, every schedule starts `running` or `stopped` (wins over the
            sources' `schedule_status`), e.g. `running` in prod, `stopped` in dev.
        sensor_minimum_interval_seconds: when set, every file-arrival sensor ticks at this
            interval (wins over the sources' `minimum_interval_seconds`).
    """

    warehouse: WarehouseConfig | None = None
    schedule_status: Literal["running", "stopped"] | None = None
    sensor_minimum_interval_seconds: int | None = Field(default=None, ge=1)


EnvironmentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
"""An environment's name: lower-case letters, digits and `_`, starting with a letter."""
