"""`type: rest_api` sources: dlt's declarative REST API source, configured in `sources.yml`.

The `rest_api:` block is dlt's `RESTAPIConfig` (`client`, `resource_defaults`, `resources`) as
documented for `dlt.sources.rest_api.rest_api_source`, with three differences:

- Secrets are never written in `sources.yml`. An `auth` block names only its type and non-secret
  options; each secret option (`token`, `api_key`, `password`, `client_id`, `client_secret`) is
  read from `.dlt/secrets.toml` / the environment under `[sources.<source>.credentials]`
  (`[sources.<source>.<resource>.credentials]` first for an endpoint's own `auth`), or from the
  environment variable named by `<option>_env` (`token_env: SHOP_API_TOKEN`). Secrets are
  resolved at the first request, so loading the definitions needs none.
- Every request goes through dlt's retrying session (429 and 5xx retried with exponential backoff,
  honouring `Retry-After`, as set by `[runtime] request_max_attempts`, `request_backoff_factor`,
  `request_max_retry_delay`), wrapped so that an error names the source and the request URL with
  secret query parameters masked: 401/403 as `ApiAuthError`, a body that is not JSON as
  `ApiResponseError`, any other error status (after retries) as `ApiHttpError`.
- A resource may carry a `description` (shown on its asset) and the project's table options
  `allow_empty`, `allow_empty_replace`, `max_shrink`, `allow_shrink` and `freshness`; they are
  not passed to dlt.

Everything else passes through to dlt unchanged. The config is checked when `sources.yml` is
loaded: lightly by pydantic (base URL, resource names, no literal secrets), then by dlt's own
validation of the REST API config, paginators, incremental params and parent/child references.
"""

from __future__ import annotations

from dlt.common.exceptions import DictValidationException
from dlt.extract.source import DltSource
from dlt.sources.rest_api import rest_api_source

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.rest_api.auth import SecretsAuth
from ingest_assets.sources.rest_api.config import RestApiSourceConfig
from ingest_assets.sources.rest_api.dlt_config import dlt_rest_api_config
from ingest_assets.sources.rest_api.errors import CredentialsNotSetError, RestApiConfigError
from ingest_assets.sources.rest_api.session import _checked_session, _register_secret_query_params


def build_dlt_source(config: RestApiSourceConfig, paths: ProjectPaths) -> DltSource:
    """Build a fresh dlt REST API source: one dlt resource per configured resource.

    Args:
        config: the validated source config.
        paths: project paths (unused: a REST source has no local files).

    Returns:
        A `DltSource` named after the source. Nothing is requested and no secret is read until
        it is extracted; nested lists in records become dlt child tables `<resource>__<field>`.

    Raises:
        RestApiConfigError: dlt rejects the config (normally caught when `sources.yml` loads).
    """
    _register_secret_query_params(config.rest_api)
    dlt_config = dlt_rest_api_config(config.rest_api, config.name)
    dlt_config["client"]["session"] = _checked_session(config.name)
    try:
        return rest_api_source(dlt_config, name=config.name)
    except (DictValidationException, ValueError, TypeError) as error:
        raise RestApiConfigError(f"source '{config.name}': rest_api: {error}") from error


def missing_secrets(config: RestApiSourceConfig) -> list[str]:
    """For `ingest validate`: one message per `auth` block whose secrets are set nowhere (names
    the source, the block, the keys and the `[sources.<name>...credentials]` section to add them
    to). The secrets found are resolved in memory and dropped; none is returned or logged.

    Args:
        config: the validated source config.
    """
    block = config.rest_api
    auths: list[SecretsAuth] = []
    if block.client.auth:
        auths.append(SecretsAuth(config.name, ("client", "auth"), block.client.auth))
    defaults = block.resource_defaults
    if defaults is not None and defaults.endpoint is not None and defaults.endpoint.auth:
        auths.append(
            SecretsAuth(
                config.name, ("resource_defaults", "endpoint", "auth"), defaults.endpoint.auth
            )
        )
    for index, resource in enumerate(block.resources):
        if resource.endpoint is not None and resource.endpoint.auth:
            auths.append(
                SecretsAuth(
                    config.name,
                    ("resources", index, "endpoint", "auth"),
                    resource.endpoint.auth,
                    resource.name,
                )
            )
    problems = []
    for auth in auths:
        try:
            auth._resolve()
        except CredentialsNotSetError as error:
            problems.append(str(error))
    return problems
