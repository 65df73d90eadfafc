"""The whole `sources.yml` document as one pydantic model."""

from __future__ import annotations

from typing import Annotated, Literal

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from ingest_assets.config.common import StrictModel
from ingest_assets.sources.dlt_native import DltNativeSourceConfig
from ingest_assets.sources.filesystem import FilesystemSourceConfig
from ingest_assets.sources.sql_database import SqlDatabaseSourceConfig
from ingest_assets.sources.rest_api import RestApiSourceConfig

SourceConfig = Annotated[
    FilesystemSourceConfig | DltNativeSourceConfig | SqlDatabaseSourceConfig | RestApiSourceConfig,
    Field(discriminator="type"),
]
"""Any source; pydantic picks the model from the `type` field."""


class ProjectConfig(StrictModel):
    """`sources.yml`.

    Attributes:
        version: format version, currently 1.
        timezone: time zone of every schedule's cron expression.
        warehouse: DuckDB file, relative to the project root (`INGEST_WAREHOUSE` wins).
        sources: the sources (`ingest_assets.config.loader` checks that names are unique).
    """

    version: Literal[1] = 1
    warehouse: str | None = None
    timezone: str = "UTC"
    sources: list[SourceConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{value!r} is not an IANA time zone such as UTC or Europe/Berlin") from error
        return value

    @property
    def enabled_sources(self) -> list[SourceConfig]:
        """The sources with `enabled: true`, in file order."""
        return [source for source in self.sources if source.enabled]
