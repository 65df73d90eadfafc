"""Authentication of a `rest_api` source: secrets read at the first request, never from sources.yml."""

from __future__ import annotations

import os
from typing import Any

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.sources.helpers.requests import HTTPError
from dlt.sources.helpers.rest_client.auth import AuthConfigBase
from dlt.sources.helpers.rest_client.redaction import sanitize_url
from dlt.sources.rest_api.config_setup import (
    AUTH_MAP,
)
from requests import PreparedRequest

from ingest_assets.sources.rest_api.errors import ApiAuthError, CredentialsNotSetError
from ingest_assets.sources.rest_api.models import AuthBlock, Loc, _dotted


class SecretsAuth(AuthConfigBase):
    """A `requests` authenticator that builds dlt's authenticator of the configured type on the
    first request, with its secrets resolved then, and delegates every request to it.

    Secret options come from `<option>_env` variables when named, else from dlt's config
    providers (`.dlt/secrets.toml`, environment) under `[sources.<source>.<resource>.credentials]`
    then `[sources.<source>.credentials]`. dlt marks them secret, so its trace never stores them.

    Args:
        source_name: the source; names errors and the secrets section.
        loc: where the block is in `rest_api:` (`("client", "auth")`), for messages.
        block: the validated auth block.
        resource_name: the resource of an endpoint-level block, else None.
    """

    # dlt's `create_auth` resolves config objects that are not resolved yet: this one resolves
    # itself, later
    __is_resolved__ = True

    def __init__(
        self, source_name: str, loc: Loc, block: AuthBlock, resource_name: str | None = None
    ) -> None:
        self._source_name = source_name
        self._where = f"rest_api.{_dotted(loc)}"
        self._block = block
        self._sections = ("sources", source_name, *([resource_name] if resource_name else []))
        self._auth: AuthConfigBase | None = None

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """Authenticate `request` (resolving secrets and, for OAuth2, a token on first use).

        Raises:
            CredentialsNotSetError: a secret is not set.
            ApiAuthError: the OAuth2 token endpoint refused the client credentials.
        """
        if self._auth is None:
            self._auth = self._resolve()
        try:
            return self._auth(request)
        except HTTPError as error:
            refused = error.response
        # raised outside the handler, so that requests' message (raw URL) is not in the chain
        status = f"{refused.status_code} {refused.reason}" if refused is not None else "an error"
        url = sanitize_url(refused.url) if refused is not None else "the token endpoint"
        raise ApiAuthError(
            f"source '{self._source_name}': {self._where}: the OAuth2 token request to {url} "
            f"answered {status}; check client_id and client_secret",
            response=refused,
        )

    def _resolve(self) -> AuthConfigBase:
        spec = AUTH_MAP[self._block.type]
        explicit: dict[str, Any] = {}
        for key, value in self._block.options.items():
            if key.endswith("_env"):
                option = key.removesuffix("_env")
                if not os.environ.get(value):
                    raise CredentialsNotSetError(
                        f"source '{self._source_name}': {self._where}.{key}: environment "
                        f"variable {value} is not set; set it to the {option}"
                    )
                explicit[option] = os.environ[value]
            else:
                explicit[key] = value
        try:
            return resolve_configuration(spec(), sections=self._sections, explicit_value=explicit)
        except ConfigFieldMissingException as error:
            fields = list(error.fields)
        # raised outside the handler: dlt's long lookup report stays out of the error chain
        env = "__".join(self._sections).upper()
        variables = ", ".join(f"{env}__CREDENTIALS__{field.upper()}" for field in fields)
        raise CredentialsNotSetError(
            f"source '{self._source_name}': {self._where}: {', '.join(fields)} not set: add "
            f"{' and '.join(fields)} under [{'.'.join(self._sections)}.credentials] in "
            f".dlt/secrets.toml, or set the environment variable {variables}, or name another "
            f"variable with {', '.join(f'{field}_env' for field in fields)}"
        )
