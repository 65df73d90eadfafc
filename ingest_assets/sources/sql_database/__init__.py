"""`type: sql_database` sources: tables of a SQL database, read with dlt's `sql_database` source.

Modules: `config` (the `sql_database:` block, its tables and `query_filter` check),
`credentials` (where credentials come from, the URL and engine options), `errors`, `source`
(the dlt source of one run, reading rows, and listing the tables of `tables: "*"`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_assets.lazy_exports import lazy_getattr
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import Extract, ExtractReport, SourceType
from ingest_assets.sources.sql_database.config import (
    SqlCredentialsConfig,
    SqlDatabaseBlock,
    SqlDatabaseSourceConfig,
    SqlTableConfig,
    asset_table_name,
    query_filter_problem,
)
from ingest_assets.sources.sql_database.errors import SqlDatabaseError

if TYPE_CHECKING:
    from ingest_assets.sources.sql_database.credentials import (
        describe_location,
        engine_kwargs,
        resolve_credentials,
    )
    from ingest_assets.sources.sql_database.source import build_dlt_source, list_tables

_EXPORTS = {
    "describe_location": "ingest_assets.sources.sql_database.credentials",
    "engine_kwargs": "ingest_assets.sources.sql_database.credentials",
    "resolve_credentials": "ingest_assets.sources.sql_database.credentials",
    "build_dlt_source": "ingest_assets.sources.sql_database.source",
    "list_tables": "ingest_assets.sources.sql_database.source",
}
"""Public name -> the module that defines it, imported on first access (so that `SOURCE_TYPE`
and the config model load without the type's heavy libraries: dlt, sqlalchemy, sqlglot)."""


class SqlDatabaseType(SourceType):
    """The `sql_database` source type: its position is dlt's incremental cursor per table."""

    name = "sql_database"
    config_model = SqlDatabaseSourceConfig

    def build(self, config: SqlDatabaseSourceConfig, paths: ProjectPaths, selected=None) -> Extract:  # type: ignore[override]
        """See `SourceType.build` (`selected` is ignored: a database has no file listing)."""
        from ingest_assets.sources.sql_database.source import build_dlt_source

        return Extract(build_dlt_source(config, paths), ExtractReport(), self, config)

    def check(self, config: SqlDatabaseSourceConfig, paths: ProjectPaths) -> list[str]:  # type: ignore[override]
        """Build the source; the credentials problem `resolve_credentials` reports (a `*_env`
        variable not set, no password anywhere), as one message; [] when they resolve."""
        from ingest_assets.sources.sql_database.credentials import resolve_credentials

        self.build(config, paths)
        try:
            resolve_credentials(config, paths)
        except SqlDatabaseError as error:
            return [str(error)]
        return []


SOURCE_TYPE = SqlDatabaseType()

__all__ = [
    "SOURCE_TYPE",
    "SqlCredentialsConfig",
    "SqlDatabaseBlock",
    "SqlDatabaseError",
    "SqlDatabaseSourceConfig",
    "SqlDatabaseType",
    "SqlTableConfig",
    "asset_table_name",
    "build_dlt_source",
    "describe_location",
    "engine_kwargs",
    "list_tables",
    "query_filter_problem",
    "resolve_credentials",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
