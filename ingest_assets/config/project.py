"""The whole `sources.yml` document as one pydantic model."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, field_validator

from ingest_assets.config.alerts import AlertsConfig
from ingest_assets.config.common import StrictModel
from ingest_assets.sources.registry import SourceConfig


class ProjectConfig(StrictModel):
    """`sources.yml`.

    Attributes:
        version: format version, currently 1.
        timezone: time zone of every schedule's cron expression.
        audit_log: optional JSON-lines file (relative to the project, e.g.
            `metadata/audit_log.jsonl`) that every load appends one line per table to.
        warehouse: DuckDB file, relative to the project root (`INGEST_WAREHOUSE` wins).
        job_sheet: the Excel job sheet whose rows add `sql_database` sources, relative to the
            project root (`INGEST_JOB_SHEET` wins; default `ingestion_config.xlsx`, read only
            when it exists; see `ingest_assets.config.job_sheet`).
        lake_base: where the job sheet's lake rows write: a local folder (relative to the
            project), an fsspec URL such as `s3://bucket/prefix`, or an Azure storage account
            `az://<account>`; a row's files land under
            `<lake_base>/<target_container>/<target_folder_path>/raw_<source>/<table>/`
            (see `job_sheet.lake_location`). Default `data/lake`, like a source's `lake`.
        alerts: optional alerts on run failures, failed checks, freshness misses and schema
            drift (see `ingest_assets.config.alerts.AlertsConfig`).
        sources: the sources (`ingest_assets.config.loader` checks that names are unique), those
            of `sources.yml` first, then those of the job sheet.
    """

    version: Literal[1] = 1
    warehouse: str | None = None
    timezone: str = "UTC"
    audit_log: str | None = None
    job_sheet: str | None = None
    lake_base: str | None = Field(default=None, min_length=1)
    alerts: AlertsConfig | None = None
    sources: list[SourceConfig] = Field(default_factory=list)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"{value!r} is not an IANA time zone such as UTC or Europe/Berlin"
            ) from error
        return value

    @property
    def enabled_sources(self) -> list[SourceConfig]:
        """The sources with `enabled: true`, in file order."""
        return [source for source in self.sources if source.enabled]

    def source_origin(self, name: str) -> str:
        """Where source `name` is defined, to start messages with: the YAML file's name, or the
        job sheet's `ingestion_config.xlsx: sheet 'SourceConfig': rows 2, 3` (set by the loader;
        `sources.yml` for a config built otherwise)."""
        return self._origins.get(name, "sources.yml")
