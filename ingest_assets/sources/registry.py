"""The source types, by the `type:` name sources.yml uses, and the config union built from them.

To add a type: write the package `sources/<type>/` (a config model `<Type>SourceConfig(SourceBase)`
whose `type` is a `Literal`, and a `SourceType` subclass exposed as `SOURCE_TYPE`; see
`ingest_assets.sources.base`), then add one line to `SOURCE_TYPES` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field

from ingest_assets.config.common import SourceBase
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources import dlt_native, filesystem, rest_api, sql_database
from ingest_assets.sources.base import Extract, SourceType

if TYPE_CHECKING:
    from dlt.extract.source import DltSource

SOURCE_TYPES: dict[str, SourceType] = {
    source_type.name: source_type
    for source_type in (
        filesystem.SOURCE_TYPE,
        dlt_native.SOURCE_TYPE,
        sql_database.SOURCE_TYPE,
        rest_api.SOURCE_TYPE,
    )
}
"""Source type name (`type:` in sources.yml) -> the type."""

SourceConfig = Annotated[
    Union[tuple(source_type.config_model for source_type in SOURCE_TYPES.values())],  # noqa: UP007 - built from the registry
    Field(discriminator="type"),
]
"""Any source; pydantic picks the model from the `type` field."""


def source_type(config: SourceBase) -> SourceType:
    """The type of a validated source config (`config.type`)."""
    return SOURCE_TYPES[config.type]


def build_extract(
    config: SourceBase,
    paths: ProjectPaths,
    selected: Mapping[str, Mapping[str, str]] | None = None,
    window: Any = None,
) -> Extract:
    """A fresh dlt source for one run of `config`, with its empty extract report.

    Args:
        config: a validated source config (one of the types in `SOURCE_TYPES`).
        paths: the project's paths.
        selected: `{table: {item: fingerprint}}` a sensor saw settled (filesystem sources);
            None loads everything new.
        window: a partitioned run's window (`ingest_assets.partitions.PartitionWindow`), for
            the types that select by it when built (`filesystem`, `rest_api`); SQL tables get
            it in the load step (`partitions.apply_window`).
    """
    if window is not None and config.type in ("filesystem", "rest_api"):
        return source_type(config).build(config, paths, selected, window=window)  # type: ignore[call-arg]
    return source_type(config).build(config, paths, selected)


def build_dlt_source(config: SourceBase, paths: ProjectPaths) -> DltSource:
    """A fresh dlt source for any configured source (its report is not kept: for describing the
    source's resources and for tests)."""
    return build_extract(config, paths).dlt_source
