"""Source types. Each type is one module with a config model and a `build_dlt_source` function.

To add a type: write `sources/<type>.py` with `<Type>SourceConfig(SourceBase)` (its `type` a
`Literal`) and `build_dlt_source(config, paths[, run]) -> DltSource`, then list it in
`SOURCE_TYPES` and in the `SourceConfig` union of `config/project.py`.

A type's module is imported when a source of that type is built, not when this package is: a
module imports its heavy libraries (dlt, sqlalchemy, pyarrow) inside the functions that use
them, so reading `sources.yml` (`ingest validate`, `status`) costs none of them.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from ingest_assets.config.common import SourceBase
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.run_options import RunOptions

if TYPE_CHECKING:
    from dlt.extract.source import DltSource

SOURCE_TYPES: dict[str, str] = {
    "filesystem": "ingest_assets.sources.filesystem",
    "dlt_native": "ingest_assets.sources.dlt_native",
    "sql_database": "ingest_assets.sources.sql_database",
    "rest_api": "ingest_assets.sources.rest_api",
}
"""Source type name -> the module providing its config model and `build_dlt_source`."""


def source_module(source_type: str) -> ModuleType:
    """The module of `source_type` (a key of `SOURCE_TYPES`), imported on first use."""
    return importlib.import_module(SOURCE_TYPES[source_type])


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
    builder: Callable[..., DltSource] = source_module(config.type).build_dlt_source
    if run is not None and "run" in inspect.signature(builder).parameters:
        return builder(config, paths, run=run)
    return builder(config, paths)
