"""Which secrets of a `rest_api` or `sql_database` source are set nowhere, for `ingest validate`.

(`dlt_native` sources: `dlt_native.check_dlt_source`.) Secrets found are resolved in memory and
dropped: only messages naming the source, the key and where to put it are returned.
"""

from __future__ import annotations

from ingest_assets.config.common import SourceBase
from ingest_assets.settings import ProjectPaths


def missing_secrets_of(source: SourceBase, paths: ProjectPaths) -> list[str]:
    """Messages for the secrets of `source` that are set nowhere; [] for the other types.

    Args:
        source: a validated source config.
        paths: the project's paths.
    """
    if source.type == "rest_api":
        from ingest_assets.sources.rest_api import missing_secrets

        return missing_secrets(source)  # type: ignore[arg-type]
    if source.type == "sql_database":
        from ingest_assets.sources.sql_database import SqlDatabaseError, resolve_credentials

        try:
            resolve_credentials(source, paths)  # type: ignore[arg-type]
        except SqlDatabaseError as error:
            return [str(error)]
    return []
