"""The whole `sources.yml` document as one pydantic model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ingest_assets.config.common import StrictModel
from ingest_assets.sources.dlt_native import DltNativeSourceConfig
from ingest_assets.sources.filesystem import FilesystemSourceConfig

SourceConfig = Annotated[
    FilesystemSourceConfig | DltNativeSourceConfig,
    Field(discriminator="type"),
]
"""Any source; pydantic picks the model from the `type` field."""


class ProjectConfig(StrictModel):
    """`sources.yml`.

    Attributes:
        version: format version, currently 1.
        warehouse: DuckDB file, relative to the project root (`INGEST_WAREHOUSE` wins).
        sources: the sources (`ingest_assets.config.loader` checks that names are unique).
    """

    version: Literal[1] = 1
    warehouse: str | None = None
    sources: list[SourceConfig] = Field(default_factory=list)

    @property
    def enabled_sources(self) -> list[SourceConfig]:
        """The sources with `enabled: true`, in file order."""
        return [source for source in self.sources if source.enabled]
