"""Checks of a `rest_api:` block when sources.yml loads: no literal secrets, and dlt's own rules."""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Any

from dlt.common.configuration import is_secret_hint
from dlt.common.exceptions import DictValidationException
from dlt.common.validation import validate_dict
from dlt.sources.helpers.rest_client.redaction import SENSITIVE_PARAMS
from dlt.sources.rest_api.config_setup import (
    AUTH_MAP,
    build_resource_dependency_graph,
    create_paginator,
    setup_incremental_object,
)
from dlt.sources.rest_api.typing import RESTAPIConfig

from ingest_assets.sources.rest_api.dlt_config import dlt_rest_api_config
from ingest_assets.sources.rest_api.models import (
    NOT_CONFIGURABLE,
    SECRET_HEADER,
    AuthBlock,
    EndpointBlock,
    Loc,
    RestApiBlock,
)


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
    options = AUTH_MAP[auth.type].get_resolvable_fields()
    secrets = {name for name, hint in options.items() if is_secret_hint(hint)}
    configurable = set(options) - NOT_CONFIGURABLE
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
