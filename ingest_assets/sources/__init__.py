"""Source types. Each type is one module with a config model and a `build_dlt_source` function.

To add a type: write `sources/<type>.py` with `<Type>SourceConfig(SourceBase)` (its `type` a
`Literal`) and `build_dlt_source(config, paths) -> DltSource`, then list it in `SOURCE_TYPES`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from dlt.extract.source import DltSource

from ingest_assets.config.common import SourceBase
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources import dlt_native, filesystem

SOURCE_TYPES: dict[str, ModuleType] = {
    "filesystem": filesystem,
    "dlt_native": dlt_native,
}
"""Source type name -> module providing its config model and `build_dlt_source`."""


def build_dlt_source(config: SourceBase, paths: ProjectPaths) -> DltSource:
    """Build a fresh dlt source for any configured source, dispatching on its `type`.

    Args:
        config: a validated source config (one of the types in `SOURCE_TYPES`).
        paths: the project's paths.
    """
    builder: Callable[[SourceBase, ProjectPaths], DltSource] = SOURCE_TYPES[
        config.type
    ].build_dlt_source
    return builder(config, paths)
