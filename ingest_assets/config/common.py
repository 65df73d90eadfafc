"""Config pieces every source type shares: names, load options and the source base model."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ingest_assets.partitions import PartitionsConfig, source_problem

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
"""Source and table names: lower-case snake case, so they are valid dataset, table and key parts."""

WriteDisposition = Literal["append", "replace", "merge"]

CHECK_DISABLED_SOURCES = "check_disabled_sources"
"""Key of the pydantic validation context (`load_project_config(..., check_disabled=True)`,
`ingest validate --build`): when true, the checks that need a source type's heavy library run
on disabled sources too (see `library_checks_apply`)."""


def library_checks_apply(info: ValidationInfo) -> bool:
    """Whether a source's checks that import its type's heavy library (dlt's REST API rules and
    auth types, for `rest_api`) run while it is validated.

    They run for an enabled source (they would fail its run anyway), and for every source when
    the validation context sets `CHECK_DISABLED_SOURCES`. A disabled source otherwise gets its
    model's structure checks only, so loading a sources.yml with disabled examples (`ingest
    status`, `summary`, `validate`) does not import dlt; its library checks run when it is
    enabled, or with `ingest validate --build`.

    Args:
        info: the validation info of a field validator of the source model, whose `enabled`
            field comes before the checked field (a failed or missing `enabled` counts as
            enabled).
    """
    if info.data.get("enabled", True) is not False:
        return True
    return bool((info.context or {}).get(CHECK_DISABLED_SOURCES))


def repeated(names: list[str]) -> list[str]:
    """The names that occur more than once in `names`, sorted (for "must be unique" errors)."""
    return sorted({name for name in names if names.count(name) > 1})


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class IncrementalConfig(StrictModel):
    """An incremental cursor (dlt `dlt.sources.incremental`) on one column of a table.

    Attributes:
        cursor: column whose maximum is remembered in dlt state; the next run loads only rows
            with a larger (or equal, deduplicated) value.
        initial_value: the value the first run starts from; None loads everything.
    """

    cursor: str = Field(min_length=1)
    initial_value: Any = None


_LAG_PATTERN = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_LAG_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class FreshnessConfig(StrictModel):
    """A freshness asset check on a table.

    Attributes:
        max_lag: how old the newest data may be, e.g. `30m`, `24h`, `2d`.
        cursor: a timestamp column whose maximum is compared with now; None measures the time
            since the table's last successful load instead.
    """

    max_lag: str
    cursor: str | None = None

    @field_validator("max_lag")
    @classmethod
    def _valid_lag(cls, value: str) -> str:
        if not _LAG_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a duration; write a number and s, m, h or d, e.g. 24h"
            )
        return value

    @property
    def max_lag_delta(self) -> timedelta:
        """`max_lag` as a timedelta."""
        number, unit = _LAG_PATTERN.match(self.max_lag).groups()  # type: ignore[union-attr]
        return timedelta(**{_LAG_UNITS[unit]: int(number)})


class LoadOptions(StrictModel):
    """How rows of one table/resource are written: dlt's write disposition, key and cursor.

    Attributes:
        write_disposition: `append` adds rows, `replace` swaps the table's content, `merge`
            upserts on `primary_key`. None keeps the default of the source type.
        primary_key: a column or list of columns; required by `merge`.
        incremental: optional incremental cursor.
        allow_empty: the table may legitimately be empty: its row-count check passes at 0 rows.
        allow_empty_replace: let a `replace` or full-refresh load that brings 0 rows empty a
            table that has rows (by default such a load fails and the table is kept).
        max_shrink: the largest fraction of its rows a `replace` load may remove from a table
            (0 < max_shrink <= 1, default 0.5): one that brings fewer rows fails and the table
            is kept.
        allow_shrink: let a `replace` load shrink the table by any fraction.
        freshness: optional freshness check.
        job_id: an identifier of your own for the table's load job (the Excel job sheet's
            `job_id`), written to the load ledger and the audit log; default `<source>.<table>`.
        reconcile: a `reconcile` asset check compares the rows of the last load with the
            source (see `ingest_assets.dlt.reconcile`); None is the default of the source type:
            on for file tables (but `merge`), off for the others.
    """

    write_disposition: WriteDisposition | None = None
    primary_key: str | list[str] | None = None
    incremental: IncrementalConfig | None = None
    allow_empty: bool = False
    allow_empty_replace: bool = False
    max_shrink: float = Field(default=0.5, gt=0, le=1)
    allow_shrink: bool = False
    freshness: FreshnessConfig | None = None
    job_id: str | None = Field(default=None, min_length=1)
    reconcile: bool | None = None

    @model_validator(mode="after")
    def _merge_needs_key(self) -> LoadOptions:
        if self.write_disposition == "merge" and not self.primary_key:
            raise ValueError("write_disposition 'merge' needs a primary_key")
        return self

    def dlt_hints(self) -> dict[str, Any]:
        """Return these options as keyword arguments of dlt's `DltResource.apply_hints`."""
        import dlt

        hints: dict[
            str, Any
        ] = {}  # checks, guards (allow_empty, max_shrink, freshness) and job_id are not hints
        if self.write_disposition:
            hints["write_disposition"] = self.write_disposition
        if self.primary_key:
            hints["primary_key"] = self.primary_key
        if self.incremental:
            hints["incremental"] = dlt.sources.incremental(
                self.incremental.cursor, initial_value=self.incremental.initial_value
            )
        return hints


class LakeConfig(StrictModel):
    """Where a source's raw history lands when `destination` is `lake` or `both`.

    Attributes:
        bucket_url: a local folder (relative to the project) or an fsspec URL (`s3://`,
            `az://`, `abfss://`, `gs://`); credentials come from
            `[sources.<source>_lake.credentials]` in `.dlt/secrets.toml` or the environment.
        folder_path: a sub-folder (the job sheet's `target_folder_path`); files land under
            `<bucket_url>/<folder_path>/raw_<source>/<table>/<load_id>.<file_id>.<format>`.
        format: `parquet` (default) or `delta` (needs the `deltalake` package).
    """

    bucket_url: str = Field(default="data/lake", min_length=1)
    folder_path: str = ""
    format: Literal["parquet", "delta"] = "parquet"


class SourceBase(StrictModel):
    """Fields every source has, whatever its type.

    Attributes:
        name: `[a-z][a-z0-9_]*`, unique; it names the dlt pipeline, the Dagster asset group and
            (as `raw_<name>`) the warehouse dataset.
        type: the source type; selects the type block (`filesystem:`, `dlt_native:`, ...).
        enabled: disabled sources get no assets and are never run.
        description: shown in the Dagster UI on the group's assets.
        schedule: optional cron expression, in the project's `timezone` (default UTC).
        schedule_status: whether the schedule starts `running` or `stopped` (Dagster's default).
        schema_contract: dlt schema contract for all tables of the source: `evolve` (default:
            new columns and tables are added), `freeze` (once a table exists, a new column or
            a changed type fails the load), `discard_row` / `discard_value` (rows / values that
            do not fit the existing columns are dropped). New tables are always created.
        max_retries: retries of a run step that failed for a transient reason (connection reset,
            HTTP 429/5xx, warehouse locked by another process), with exponential backoff.
        retry_backoff_seconds: wait before the first retry; doubles with each retry.
        destination: `warehouse` (default) loads `raw_<source>` of the DuckDB warehouse;
            `lake` writes the raw history as files to `lake` instead; `both` writes the lake
            and then projects it into the warehouse (a downstream asset loads each lake load
            package once), so the warehouse can be rebuilt from the lake at any time.
        lake: where the lake is (defaults to the local folder `data/lake`).
        partitions: optional time partitions (`ingest_assets.partitions.PartitionsConfig`):
            each run loads one partition's window (or a range's) and replaces its rows.
    """

    name: str = Field(pattern=NAME_PATTERN)
    type: str
    enabled: bool = True
    description: str | None = None
    schedule: str | None = None
    schedule_status: Literal["running", "stopped"] = "stopped"
    schema_contract: Literal["evolve", "freeze", "discard_row", "discard_value"] | None = None
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=5.0, ge=0)
    destination: Literal["warehouse", "lake", "both"] = "warehouse"
    lake: LakeConfig = Field(default_factory=LakeConfig)
    partitions: PartitionsConfig | None = None

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and not valid_cron(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions set in `sources.yml` per table name; types with table blocks override."""
        return {}

    def table_options(self) -> dict[str, LoadOptions]:
        """Load and check options set in `sources.yml` per table name; types with table blocks
        override. Tables without an entry use the defaults of `LoadOptions`."""
        return {}

    @model_validator(mode="after")
    def _projection_reads_parquet(self) -> SourceBase:
        if self.destination == "both" and self.lake.format != "parquet":
            raise ValueError(
                "destination 'both' projects the lake into the warehouse from parquet files; "
                "use lake.format: parquet, or destination: lake for delta tables"
            )
        if self.partitions is not None and (problem := source_problem(self)):
            raise ValueError(problem)
        return self

    def extract_workers(self) -> int | None:
        """Worker threads of dlt's extract for this source's parallelized resources (dlt's
        `[extract] workers`), or None for dlt's configured default; types that read several
        tables at once override it (`sql_database.parallelism`)."""
        return None

    @property
    def writes_lake(self) -> bool:
        """True when the source's raw history goes to the lake (`destination` lake or both)."""
        return self.destination in ("lake", "both")

    @property
    def dataset_name(self) -> str:
        """The warehouse dataset (DuckDB schema) this source loads into: `raw_<name>`."""
        return f"raw_{self.name}"


def valid_cron(expression: str) -> bool:
    """True when `expression` is a five-field cron expression a Dagster schedule accepts.

    Checked with croniter (what Dagster's schedules evaluate with): a valid expression of
    exactly five fields (no seconds field) that names a day that exists (not February 30).
    """
    if not croniter.is_valid(expression):
        return False
    fields, *_ = croniter.expand(expression)
    if len(fields) != 5:
        return False
    days, months = fields[2], fields[3]
    return not (len(months) == 1 and months[0] == 2 and len(days) == 1 and days[0] in {30, 31})
