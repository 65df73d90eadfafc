"""Config pieces every source type shares: names, load options and the source base model."""

from __future__ import annotations

from typing import Any, Literal

from dagster._utils.schedules import is_valid_cron_string
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
"""Source and table names: lower-case snake case, so they are valid dataset, table and key parts."""

WriteDisposition = Literal["append", "replace", "merge"]


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


class LoadOptions(StrictModel):
    """How rows of one table/resource are written: dlt's write disposition, key and cursor.

    Attributes:
        write_disposition: `append` adds rows, `replace` swaps the table's content, `merge`
            upserts on `primary_key`. None keeps the default of the source type.
        primary_key: a column or list of columns; required by `merge`.
        incremental: optional incremental cursor.
    """

    write_disposition: WriteDisposition | None = None
    primary_key: str | list[str] | None = None
    incremental: IncrementalConfig | None = None

    @model_validator(mode="after")
    def _merge_needs_key(self) -> "LoadOptions":
        if self.write_disposition == "merge" and not self.primary_key:
            raise ValueError("write_disposition 'merge' needs a primary_key")
        return self

    def dlt_hints(self) -> dict[str, Any]:
        """Return these options as keyword arguments of dlt's `DltResource.apply_hints`."""
        import dlt

        hints: dict[str, Any] = {}
        if self.write_disposition:
            hints["write_disposition"] = self.write_disposition
        if self.primary_key:
            hints["primary_key"] = self.primary_key
        if self.incremental:
            hints["incremental"] = dlt.sources.incremental(
                self.incremental.cursor, initial_value=self.incremental.initial_value
            )
        return hints


class SourceBase(StrictModel):
    """Fields every source has, whatever its type.

    Attributes:
        name: `[a-z][a-z0-9_]*`, unique; it names the dlt pipeline, the Dagster asset group and
            (as `raw_<name>`) the warehouse dataset.
        type: the source type; selects the type block (`filesystem:`, `dlt_native:`, ...).
        enabled: disabled sources get no assets and are never run.
        description: shown in the Dagster UI on the group's assets.
        schedule: optional cron expression (5 fields, UTC unless configured otherwise).
    """

    name: str = Field(pattern=NAME_PATTERN)
    type: str
    enabled: bool = True
    description: str | None = None
    schedule: str | None = None

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions set in `sources.yml` per table name; types with table blocks override."""
        return {}

    @property
    def dataset_name(self) -> str:
        """The warehouse dataset (DuckDB schema) this source loads into: `raw_<name>`."""
        return f"raw_{self.name}"
