"""Source types. Each type is one module with a config model and a `build_dlt_source` function.

To add a type: write `sources/<type>.py` with `<Type>SourceConfig(SourceBase)` (its `type` a
`Literal`) and `build_dlt_source(config, paths[, run]) -> DltSource`, then list it in
`SOURCE_TYPES` and in the `SourceConfig` union of `config/project.py`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType

from dlt.extract.source import DltSource

from ingest_assets.config.common import SourceBase
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources import dlt_native, filesystem
from ingest_assets.sources.run_options import RunOptions
from ingest_assets.sources import sql_database
from ingest_assets.sources import rest_api

SOURCE_TYPES: dict[str, ModuleType] = {
    "filesystem": filesystem,
    "dlt_native": dlt_native,
    "sql_database": sql_database,
    "rest_api": rest_api,
}
"""Source type name -> module providing its config model and `build_dlt_source`."""


def build_dlt_source(
    config: SourceBase, paths: ProjectPaths, run: RunOptions | None = None
) -> DltSource:
    """Build a fresh dlt source for any configured source, dispatching on its `type`.

    Args:
        config: a validated source config (one of the types in `SOURCE_TYPES`).
        paths: the project's paths.
        run: per-run options and the problems the source reports back (see `RunOptions`);
            passed to the types whose builder takes a `run` argument.
    """
    builder: Callable[..., DltSource] = SOURCE_TYPES[config.type].build_dlt_source
    if run is not None and "run" in inspect.signature(builder).parameters:
        return builder(config, paths, run=run)
    return builder(config, paths)
