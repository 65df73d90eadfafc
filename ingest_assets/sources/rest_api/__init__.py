"""`type: rest_api` sources: dlt's declarative REST API source, configured in `sources.yml`.

Modules: `models` (the `rest_api:` blocks), `validation` (checks when sources.yml loads),
`config` (the source's config model), `auth` (secrets read at the first request), `dlt_config`
(the block as dlt's `RESTAPIConfig`), `session` (the retrying HTTP session and its errors),
`errors`, `source` (the dlt source of one run, and the secrets `ingest validate` misses).
"""

from __future__ import annotations

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import Extract, ExtractReport, SourceType
from ingest_assets.sources.rest_api.auth import SecretsAuth
from ingest_assets.sources.rest_api.config import RestApiSourceConfig
from ingest_assets.sources.rest_api.dlt_config import dlt_rest_api_config
from ingest_assets.sources.rest_api.errors import (
    ApiAuthError,
    ApiHttpError,
    ApiResponseError,
    CredentialsNotSetError,
    RestApiConfigError,
)
from ingest_assets.sources.rest_api.models import (
    AuthBlock,
    ClientBlock,
    EndpointBlock,
    ResourceBlock,
    ResourceDefaultsBlock,
    RestApiBlock,
)
from ingest_assets.sources.rest_api.source import build_dlt_source, missing_secrets


class RestApiType(SourceType):
    """The `rest_api` source type: its position is dlt's incremental cursor per resource."""

    name = "rest_api"
    config_model = RestApiSourceConfig

    def build(self, config: RestApiSourceConfig, paths: ProjectPaths, selected=None) -> Extract:  # type: ignore[override]
        """See `SourceType.build` (`selected` is ignored: an API has no file listing)."""
        return Extract(build_dlt_source(config, paths), ExtractReport(), self, config)

    def check(self, config: RestApiSourceConfig, paths: ProjectPaths) -> list[str]:  # type: ignore[override]
        """Build the source; one message per `auth` block whose secrets are set nowhere (see
        `source.missing_secrets`)."""
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
