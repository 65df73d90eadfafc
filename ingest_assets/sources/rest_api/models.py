"""The blocks of a `rest_api:` source in sources.yml: client, auth, endpoints, resources."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from ingest_assets.config.common import (
    NAME_PATTERN,
    FreshnessConfig,
    StrictModel,
    repeated,
)

AuthType = Literal["bearer", "api_key", "http_basic", "oauth2_client_credentials"]


NOT_CONFIGURABLE = {"session", "access_token"}
"""Options of dlt's authenticators that cannot be set from `sources.yml` (objects, or the OAuth2
access token that dlt obtains itself)."""


SECRET_HEADER = re.compile(r"authorization|token|secret|api[-_]?key|password|cookie", re.IGNORECASE)
"""Header names whose values are credentials: they belong in an `auth` block, not `headers`."""


PROJECT_RESOURCE_OPTIONS = {
    "description",
    "allow_empty",
    "allow_empty_replace",
    "max_shrink",
    "allow_shrink",
    "freshness",
}
"""Resource options of this project, not dlt's: kept out of the config given to dlt."""


Loc = tuple[str | int, ...]


class AuthBlock(BaseModel):
    """An `auth:` block: dlt's auth config without the secrets.

    Attributes:
        type: `bearer` (default), `api_key`, `http_basic` or `oauth2_client_credentials`.
    Other keys are the options of dlt's authenticator of that type (`name`, `location`,
    `username`, `access_token_url`, ...) except secrets, and `<option>_env: <VARIABLE>` to read
    an option from an environment variable; `_auth_problems` checks them against dlt's class.
    """

    model_config = ConfigDict(extra="allow")

    type: AuthType = "bearer"

    @property
    def options(self) -> dict[str, Any]:
        """The keys besides `type`, as written."""
        return dict(self.model_extra or {})


class EndpointBlock(BaseModel):
    """An `endpoint:` block (dlt's `Endpoint`); a plain string is its `path`.

    Attributes:
        path: path relative to `client.base_url`, may hold `{resources.<parent>.<field>}`.
        params: query parameters, including `{type: incremental, ...}` and `{type: resolve, ...}`.
        headers: extra headers (no credentials: use `auth`).
        auth: an auth block for this endpoint only.
    Other keys (`method`, `json`, `data`, `paginator`, `data_selector`, `response_actions`,
    `incremental`) pass through to dlt, which validates them.
    """

    model_config = ConfigDict(extra="allow")

    path: str | None = None
    params: dict[str, Any] | None = None
    headers: dict[str, Any] | None = None
    auth: AuthBlock | None = None


class ResourceDefaultsBlock(BaseModel):
    """`resource_defaults:`: dlt resource hints and an endpoint merged into every resource."""

    model_config = ConfigDict(extra="allow")

    endpoint: EndpointBlock | None = None

    @field_validator("endpoint", mode="before")
    @classmethod
    def _path_shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class ResourceBlock(ResourceDefaultsBlock):
    """One resource: one table `raw_<source>.<name>` and one asset; a plain string is its `name`.

    Attributes:
        name: resource and table name (`[a-z][a-z0-9_]*`, no `__`, which dlt uses for nested
            tables); the endpoint path defaults to it.
        description: shown on the asset in the Dagster UI.
        endpoint: the endpoint block or its path.
        table_name: the table (and asset) name when it differs from `name`.
        allow_empty, allow_empty_replace, max_shrink, allow_shrink, freshness: the project's
            table checks and guards, as
            for the tables of other source types (see `LoadOptions`).
    Other keys are dlt resource hints (`primary_key`, `write_disposition`, `merge_key`,
    `max_table_nesting`, `include_from_parent`, `selected`, ...), validated by dlt. `description`
    and the checks are the project's and are not passed to dlt.
    """

    name: str = Field(pattern=NAME_PATTERN)
    table_name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str | None = None
    allow_empty: bool = False
    allow_empty_replace: bool = False
    max_shrink: float = Field(default=0.5, gt=0, le=1)
    allow_shrink: bool = False
    freshness: FreshnessConfig | None = None

    @field_validator("name", "table_name")
    @classmethod
    def _no_nesting_separator(cls, value: str | None) -> str | None:
        if value and "__" in value:
            raise ValueError(
                f"{value!r} must not contain '__': dlt names nested tables <table>__<field>"
            )
        return value

    @property
    def table(self) -> str:
        """The warehouse table (and last part of the asset key) of this resource."""
        return self.table_name or self.name


class ClientBlock(StrictModel):
    """`client:`: where the API is and how to talk to it.

    Attributes:
        base_url: `http://` or `https://` URL the endpoint paths are relative to.
        headers: headers sent with every request (no credentials: use `auth`).
        auth: how to authenticate (secrets from `.dlt/secrets.toml` or the environment).
        paginator: a paginator name (`json_link`, `header_link`, `offset`, `page_number`,
            `cursor`, `single_page`, `auto`) or a dict with `type` and its options.
    """

    base_url: str
    headers: dict[str, str] | None = None
    auth: AuthBlock | None = None
    paginator: Any = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value


class RestApiBlock(StrictModel):
    """The `rest_api:` block of a source: dlt's `RESTAPIConfig`.

    Attributes:
        client: base URL, headers, auth and default paginator.
        resource_defaults: hints and endpoint settings every resource starts from.
        resources: at least one resource; names unique within the source.
    """

    client: ClientBlock
    resource_defaults: ResourceDefaultsBlock | None = None
    resources: list[ResourceBlock] = Field(min_length=1)

    @field_validator("resources", mode="before")
    @classmethod
    def _name_shorthand(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [{"name": item} if isinstance(item, str) else item for item in value]

    @field_validator("resources")
    @classmethod
    def _unique_names(cls, resources: list[ResourceBlock]) -> list[ResourceBlock]:
        if duplicates := repeated([resource.name for resource in resources]):
            raise ValueError(f"resource names must be unique, repeated: {', '.join(duplicates)}")
        return resources


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
