"""`type: rest_api` sources: dlt's declarative REST API source, configured in `sources.yml`.

Modules: `models` (the `rest_api:` blocks), `validation` (checks when sources.yml loads),
`config` (the source's config model), `auth` (secrets read at the first request), `dlt_config`
(the block as dlt's `RESTAPIConfig`), `session` (the retrying HTTP session and its errors),
`errors`, `source` (the dlt source of one run, and the secrets `ingest validate` misses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_assets.lazy_exports import lazy_getattr
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import Extract, ExtractReport, SourceType
from ingest_assets.sources.rest_api.config import RestApiSourceConfig
from ingest_assets.sources.rest_api.models import (
    AuthBlock,
    ClientBlock,
    EndpointBlock,
    ResourceBlock,
    ResourceDefaultsBlock,
    RestApiBlock,
)

if TYPE_CHECKING:
    from ingest_assets.sources.rest_api.auth import SecretsAuth
    from ingest_assets.sources.rest_api.dlt_config import dlt_rest_api_config
    from ingest_assets.sources.rest_api.errors import (
        ApiAuthError,
        ApiHttpError,
        ApiResponseError,
        CredentialsNotSetError,
        RestApiConfigError,
    )
    from ingest_assets.sources.rest_api.source import build_dlt_source, missing_secrets

_EXPORTS = {
    "SecretsAuth": "ingest_assets.sources.rest_api.auth",
    "dlt_rest_api_config": "ingest_assets.sources.rest_api.dlt_config",
    "ApiAuthError": "ingest_assets.sources.rest_api.errors",
    "ApiHttpError": "ingest_assets.sources.rest_api.errors",
    "ApiResponseError": "ingest_assets.sources.rest_api.errors",
    "CredentialsNotSetError": "ingest_assets.sources.rest_api.errors",
    "RestApiConfigError": "ingest_assets.sources.rest_api.errors",
    "build_dlt_source": "ingest_assets.sources.rest_api.source",
    "missing_secrets": "ingest_assets.sources.rest_api.source",
}
"""Public name -> the module that defines it, imported on first access (so that `SOURCE_TYPE`
and the config model load without the type's heavy libraries: dlt, sqlalchemy, sqlglot)."""


class RestApiType(SourceType):
    """The `rest_api` source type: its position is dlt's incremental cursor per resource."""

    name = "rest_api"
    config_model = RestApiSourceConfig

    def build(  # type: ignore[override]
        self, config: RestApiSourceConfig, paths: ProjectPaths, selected=None, *, window=None
    ) -> Extract:
        """See `SourceType.build` (`selected` is ignored: an API has no file listing;
        `window`: a partitioned run's, see `source.build_dlt_source`)."""
        from ingest_assets.sources.rest_api.source import build_dlt_source

        return Extract(build_dlt_source(config, paths, window), ExtractReport(), self, config)

    def check(self, config: RestApiSourceConfig, paths: ProjectPaths) -> list[str]:  # type: ignore[override]
        """Build the source; one message per `auth` block whose secrets are set nowhere (see
        `source.missing_secrets`)."""
        from ingest_assets.sources.rest_api.source import missing_secrets

        self.build(config, paths)
        return missing_secrets(config)


SOURCE_TYPE = RestApiType()

__all__ = [
    "SOURCE_TYPE",
    "ApiAuthError",
    "ApiHttpError",
    "ApiResponseError",
    "AuthBlock",
    "ClientBlock",
    "CredentialsNotSetError",
    "EndpointBlock",
    "ResourceBlock",
    "ResourceDefaultsBlock",
    "RestApiBlock",
    "RestApiConfigError",
    "RestApiSourceConfig",
    "RestApiType",
    "SecretsAuth",
    "build_dlt_source",
    "dlt_rest_api_config",
    "missing_secrets",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
