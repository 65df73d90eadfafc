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

import os
import re
from copy import deepcopy
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ingest_assets.config.common import (
    NAME_PATTERN,
    FreshnessConfig,
    LoadOptions,
    SourceBase,
    StrictModel,
    repeated,
)
from ingest_assets.settings import ProjectPaths

if TYPE_CHECKING:
    from dlt.common.exceptions import DictValidationException
    from dlt.extract.source import DltSource
    from dlt.sources.helpers.requests import HTTPError, Response, Session
    from dlt.sources.rest_api.typing import RESTAPIConfig
    from requests import PreparedRequest
    from ingest_assets.sources.rest_api_auth import SecretsAuth

AuthType = Literal["bearer", "api_key", "http_basic", "oauth2_client_credentials"]

AUTH_OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "bearer": (frozenset(), frozenset({"token"})),
    "api_key": (frozenset({"location", "name"}), frozenset({"api_key"})),
    "http_basic": (frozenset({"username"}), frozenset({"password"})),
    "oauth2_client_credentials": (
        frozenset(
            {"access_token_request_data", "access_token_url", "default_token_expiration", "session"}
        ),
        frozenset({"access_token", "client_id", "client_secret"}),
    ),
}
"""Auth type -> (settings, secrets): the fields of dlt's authenticator of that type
(`dlt.sources.rest_api.config_setup.AUTH_MAP`), written out so that reading `sources.yml` does
not import dlt; `tests/test_fixed_costs.py` checks them against dlt's."""

SENSITIVE_PARAMS = frozenset(
    {
        "access-token",
        "access_token",
        "api-key",
        "api_key",
        "apikey",
        "client_secret",
        "key",
        "password",
        "pwd",
        "secret",
        "token",
    }
)
"""Query parameter names that carry credentials: dlt's own list
(`dlt.sources.helpers.rest_client.redaction.SENSITIVE_PARAMS`, checked by a test)."""

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


class RestApiSourceConfig(SourceBase):
    """A source of `type: rest_api`."""

    type: Literal["rest_api"]
    rest_api: RestApiBlock

    @field_validator("rest_api", mode="before")
    @classmethod
    def _validate_block(cls, value: Any, info: ValidationInfo) -> RestApiBlock:
        """Validate the block, then check secrets and dlt's own rules, naming this source.

        Raises:
            ValidationError: one line per problem, located under `rest_api` (pydantic prefixes
                the location of errors raised here with the field's own).
        """
        from pydantic_core import InitErrorDetails
        from pydantic_core import PydanticCustomError

        source_name = info.data.get("name") or "<source name>"
        block = RestApiBlock.model_validate(value)
        problems = _secret_problems(block, source_name)
        # dlt's own rules need dlt's rest_api (seconds to import): checked for enabled sources
        if not problems and info.data.get("enabled", True):
            problems = _dlt_problems(block, source_name)
        if problems:
            raise ValidationError.from_exception_data(
                "rest_api",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("rest_api", message), loc=loc, input=None
                    )
                    for loc, message in problems
                ],
            )
        return block

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions of the resources that have one, by table name."""
        return {r.table: r.description for r in self.rest_api.resources if r.description}

    def table_options(self) -> dict[str, LoadOptions]:
        """The checks and guards of every resource, by table name; load hints stay
        with dlt (they may come from `resource_defaults`)."""
        return {
            r.table: LoadOptions(
                allow_empty=r.allow_empty,
                allow_empty_replace=r.allow_empty_replace,
                max_shrink=r.max_shrink,
                allow_shrink=r.allow_shrink,
                freshness=r.freshness,
            )
            for r in self.rest_api.resources
        }


class RestApiConfigError(Exception):
    """dlt rejected the REST API config when the source was built (names the source)."""


class CredentialsNotSetError(Exception):
    """A secret of an `auth` block is not set where the source looks for it (names the source,
    the option and where to set it; never a value). The name avoids words like "secret" that
    log redaction treats as the start of a `key: value` pair."""


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
    from dlt.common.exceptions import DictValidationException
    from dlt.sources.rest_api import rest_api_source

    _register_secret_query_params(config.rest_api)
    dlt_config = dlt_rest_api_config(config.rest_api, config.name)
    dlt_config["client"]["session"] = _checked_session(config.name)
    try:
        return rest_api_source(dlt_config, name=config.name)
    except (DictValidationException, ValueError, TypeError) as error:
        raise RestApiConfigError(f"source '{config.name}': rest_api: {error}") from error


def dlt_rest_api_config(block: RestApiBlock, source_name: str) -> RESTAPIConfig:
    """Return the `RESTAPIConfig` dict for dlt: the block as written, each `auth` block replaced
    by a `SecretsAuth` that reads its secrets at the first request, descriptions removed.

    Args:
        block: the validated `rest_api:` block.
        source_name: the source's name; secrets are looked up under `sources.<source_name>`.
    """
    from ingest_assets.sources.rest_api_auth import SecretsAuth

    client = block.client.model_dump(exclude_unset=True, exclude={"auth"})
    if block.client.auth:
        client["auth"] = SecretsAuth(source_name, ("client", "auth"), block.client.auth)
    config: dict[str, Any] = {"client": client, "resources": []}
    if block.resource_defaults is not None:
        config["resource_defaults"] = _dlt_resource(
            block.resource_defaults, source_name, ("resource_defaults",)
        )
    for index, resource in enumerate(block.resources):
        config["resources"].append(
            _dlt_resource(resource, source_name, ("resources", index), resource.name)
        )
    return config  # type: ignore[return-value]


def missing_secrets(config: RestApiSourceConfig) -> list[str]:
    """For `ingest validate`: one message per `auth` block whose secrets are set nowhere (names
    the source, the block, the keys and the `[sources.<name>...credentials]` section to add them
    to). The secrets found are resolved in memory and dropped; none is returned or logged.

    Args:
        config: the validated source config.
    """
    from ingest_assets.sources.rest_api_auth import SecretsAuth

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


def _dlt_resource(
    resource: ResourceDefaultsBlock, source_name: str, loc: Loc, resource_name: str | None = None
) -> dict[str, Any]:
    from ingest_assets.sources.rest_api_auth import SecretsAuth

    data = resource.model_dump(exclude_unset=True, exclude=PROJECT_RESOURCE_OPTIONS | {"endpoint"})
    if resource.endpoint is not None:
        endpoint = resource.endpoint.model_dump(exclude_unset=True, exclude={"auth"})
        if resource.endpoint.auth:
            endpoint["auth"] = SecretsAuth(
                source_name, (*loc, "endpoint", "auth"), resource.endpoint.auth, resource_name
            )
        data["endpoint"] = endpoint
    return data


def _checked_session(source_name: str) -> Session:
    """dlt's retrying session (retry settings from `[runtime]`), whose `send` turns errors into
    messages naming the source and the sanitized URL and rejects success bodies that are not JSON.

    Args:
        source_name: named in every error.

    The wrapped `send` raises `ApiAuthError` (401, 403), `ApiHttpError` (other statuses >= 400,
    once dlt's retries of 429/5xx are spent) or `ApiResponseError` (2xx body not JSON).
    """
    from ingest_assets.sources.rest_api_auth import ApiResponseError

    from dlt.sources.helpers.requests import Client
    from dlt.sources.helpers.requests import HTTPError
    from dlt.sources.helpers.requests import Response
    from dlt.sources.helpers.rest_client.redaction import sanitize_url
    from requests import PreparedRequest

    session = Client(raise_for_status=False).session
    send_with_retries = session.send

    def send(request: PreparedRequest, **kwargs: Any) -> Response:
        # errors are raised outside the `except` blocks: the exceptions they replace (whose
        # messages may hold the raw URL) stay out of the chain that reaches logs and Dagster
        url = sanitize_url(request.url or "")
        try:
            response = send_with_retries(request, **kwargs)
        except HTTPError as error:  # raised by dlt's status hook once the retries are spent
            if error.response is None:
                raise
            response = error.response
        if response.status_code >= 400:
            raise _status_error(source_name, request.method, url, response)
        problem = _not_json(response) if 200 <= response.status_code < 300 else None
        if problem:
            raise ApiResponseError(
                f"source '{source_name}': {request.method} {url} answered "
                f"{response.status_code} with a body that is not valid JSON ({problem})",
                response=response,
            )
        return response

    session.send = send  # type: ignore[method-assign]
    return session


def _not_json(response: Response) -> str | None:
    """The JSON parser's complaint about the body, or None when it parses."""
    try:
        response.json()
    except ValueError as error:
        return str(error)
    return None


def _status_error(source_name: str, method: str | None, url: str, response: Response) -> HTTPError:
    from ingest_assets.sources.rest_api_auth import ApiAuthError
    from ingest_assets.sources.rest_api_auth import ApiHttpError

    status = f"{response.status_code} {response.reason}"
    if response.status_code in (401, 403):
        return ApiAuthError(
            f"source '{source_name}': {method} {url} answered {status}: the API refused the "
            f"credentials; check the auth block and the secrets under "
            f"[sources.{source_name}.credentials] (or its *_env variables)",
            response=response,
        )
    return ApiHttpError(
        f"source '{source_name}': {method} {url} answered {status}", response=response
    )


def _register_secret_query_params(block: RestApiBlock) -> None:
    """Add the `name` of every `api_key` auth sent in the query to dlt's set of secret query
    parameters, so that dlt's request log and these error messages show it as `***`."""
    from dlt.sources.helpers.rest_client.redaction import SENSITIVE_PARAMS as dlt_sensitive_params

    for _, auth, _ in _auth_blocks(block):
        if auth.type == "api_key" and auth.options.get("location") in ("query", "param"):
            dlt_sensitive_params.add(str(auth.options.get("name", "Authorization")))


def _auth_blocks(block: RestApiBlock) -> list[tuple[Loc, AuthBlock, str | None]]:
    """Every auth block: its location, the block, and the resource it is specific to (or None)."""
    found: list[tuple[Loc, AuthBlock, str | None]] = []
    if block.client.auth:
        found.append((("client", "auth"), block.client.auth, None))
    if (
        block.resource_defaults
        and block.resource_defaults.endpoint
        and block.resource_defaults.endpoint.auth
    ):
        found.append(
            (("resource_defaults", "endpoint", "auth"), block.resource_defaults.endpoint.auth, None)
        )
    for index, resource in enumerate(block.resources):
        if resource.endpoint and resource.endpoint.auth:
            found.append(
                (("resources", index, "endpoint", "auth"), resource.endpoint.auth, resource.name)
            )
    return found


def _endpoints(block: RestApiBlock) -> list[tuple[Loc, EndpointBlock]]:
    found: list[tuple[Loc, EndpointBlock]] = []
    if block.resource_defaults and block.resource_defaults.endpoint:
        found.append((("resource_defaults", "endpoint"), block.resource_defaults.endpoint))
    for index, resource in enumerate(block.resources):
        if resource.endpoint:
            found.append((("resources", index, "endpoint"), resource.endpoint))
    return found


def _secret_problems(block: RestApiBlock, source_name: str) -> list[tuple[Loc, str]]:
    """Literal secrets and unknown options in `auth` blocks, credentials in headers or params.

    Returns:
        `(location in rest_api, message)` pairs; a message says where the secret belongs and
        never repeats its value.
    """
    problems: list[tuple[Loc, str]] = []
    for loc, auth, resource_name in _auth_blocks(block):
        section = ".".join(["sources", source_name, *([resource_name] if resource_name else [])])
        problems += _auth_problems(loc, auth, section)
    header_blocks: list[tuple[Loc, dict[str, Any] | None]] = [
        (("client", "headers"), block.client.headers)
    ]
    header_blocks += [((*loc, "headers"), endpoint.headers) for loc, endpoint in _endpoints(block)]
    for loc, headers in header_blocks:
        for name in headers or {}:
            if SECRET_HEADER.search(name):
                problems.append(
                    (
                        (*loc, name),
                        "credentials do not belong in sources.yml; use an auth block, e.g. "
                        f"{{type: api_key, name: {name}, location: header}}, and put the value "
                        f'in .dlt/secrets.toml as api_key = "..." under [sources.{source_name}.credentials]',
                    )
                )
    for loc, endpoint in _endpoints(block):
        for name, value in (endpoint.params or {}).items():
            if name.lower() in SENSITIVE_PARAMS and not isinstance(value, dict):
                problems.append(
                    (
                        (*loc, "params", name),
                        "credentials do not belong in sources.yml; use an auth block, e.g. "
                        f"{{type: api_key, name: {name}, location: query}}, and put the value "
                        f'in .dlt/secrets.toml as api_key = "..." under [sources.{source_name}.credentials]',
                    )
                )
    return problems


def _auth_problems(loc: Loc, auth: AuthBlock, section: str) -> list[tuple[Loc, str]]:
    """Check an auth block's keys against the options of dlt's authenticator of its type;
    `section` (`sources.<source>[.<resource>]`) is where its secrets are looked up."""
    settings, secrets = AUTH_OPTIONS[auth.type]
    configurable = (settings | secrets) - NOT_CONFIGURABLE
    allowed = (configurable - secrets) | {f"{name}_env" for name in configurable}
    problems: list[tuple[Loc, str]] = []
    for key, value in auth.options.items():
        if key in secrets:
            via_env = (
                f", or name an environment variable with {key}_env" if key in configurable else ""
            )
            problems.append(
                (
                    (*loc, key),
                    "secrets do not belong in sources.yml: remove it and put "
                    f'`{key} = "..."` under [{section}.credentials] in .dlt/secrets.toml '
                    f"(or set {section.replace('.', '__').upper()}__CREDENTIALS__{key.upper()})"
                    f"{via_env}",
                )
            )
        elif key not in allowed:
            problems.append(
                (
                    (*loc, key),
                    f"unknown option of {auth.type} auth; use one of: {', '.join(sorted(allowed))}",
                )
            )
        elif key.endswith("_env") and not (isinstance(value, str) and value):
            problems.append(((*loc, key), "must be the name of an environment variable"))
    return problems


def _dlt_problems(block: RestApiBlock, source_name: str) -> list[tuple[Loc, str]]:
    """dlt's own checks of the config, without building clients or reading any config:
    `RESTAPIConfig` shape and types, paginators, incremental params, parent/child references.

    Returns:
        At most one `(location in rest_api, message)` pair (dlt stops at the first problem).
    """
    from dlt.common.exceptions import DictValidationException
    from dlt.common.validation import validate_dict
    from dlt.sources.rest_api.config_setup import build_resource_dependency_graph
    from dlt.sources.rest_api.config_setup import create_paginator
    from dlt.sources.rest_api.config_setup import setup_incremental_object
    from dlt.sources.rest_api.typing import RESTAPIConfig

    config = deepcopy(dlt_rest_api_config(block, source_name))
    try:
        validate_dict(RESTAPIConfig, config, path=".")
    except DictValidationException as error:
        return [_located(_most_specific(error))]
    paginators: list[tuple[Loc, Any]] = [
        (("client", "paginator"), config["client"].get("paginator"))
    ]
    for loc, _ in _endpoints(block):
        endpoint = _at(config, loc)
        paginators.append(((*loc, "paginator"), endpoint.get("paginator")))
        try:
            setup_incremental_object(endpoint.get("params") or {}, endpoint.get("incremental"))
        except (TypeError, ValueError) as error:
            return [(loc, str(error))]
    for loc, paginator in paginators:
        try:
            create_paginator(paginator)
        except (TypeError, ValueError) as error:
            return [(loc, str(error))]
    try:
        build_resource_dependency_graph(config.get("resource_defaults") or {}, config["resources"])
    except (TypeError, ValueError) as error:
        # dlt appends the internal repr of the parameter; the placeholder is already named
        return [(("resources",), re.sub(r" on param `ResolvedParam\(.*$", "", str(error)))]
    return []


def _at(config: dict[str, Any], loc: Loc) -> dict[str, Any]:
    node: Any = config
    for part in loc:
        node = node[part]
    return node


def _most_specific(error: DictValidationException) -> DictValidationException:
    """Follow a union error down to the alternative that got furthest into the value."""
    nested = error.nested_exceptions or []
    if not nested:
        return error
    return _most_specific(max(nested, key=lambda e: _depth(_most_specific(e))))


def _depth(error: DictValidationException) -> int:
    return len(_loc(error.path, error.field))


def _located(error: DictValidationException) -> tuple[Loc, str]:
    message = error.msg.splitlines()[0] if error.msg else str(error)
    return _loc(error.path, error.field), message


def _loc(path: str, field: str | None) -> Loc:
    """`./resources[0]/endpoint` + `data_selector` -> `("resources", 0, "endpoint", "data_selector")`."""
    loc: list[str | int] = []
    for part in [*path.split("/"), field or ""]:
        for name, index in re.findall(r"([^\[\]]*)(?:\[(\d+)\])?", part):
            if name and name != ".":
                loc.append(name)
            if index:
                loc.append(int(index))
    return tuple(loc)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
