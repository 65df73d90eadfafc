"""The `rest_api:` block as the `RESTAPIConfig` dict dlt's `rest_api_source` takes."""

from __future__ import annotations

from typing import Any

from dlt.sources.rest_api.typing import RESTAPIConfig

from ingest_assets.sources.rest_api.auth import SecretsAuth
from ingest_assets.sources.rest_api.models import (
    PROJECT_RESOURCE_OPTIONS,
    Loc,
    ResourceDefaultsBlock,
    RestApiBlock,
)


def dlt_rest_api_config(block: RestApiBlock, source_name: str) -> RESTAPIConfig:
    """Return the `RESTAPIConfig` dict for dlt: the block as written, each `auth` block replaced
    by a `SecretsAuth` that reads its secrets at the first request, descriptions removed.

    Args:
        block: the validated `rest_api:` block.
        source_name: the source's name; secrets are looked up under `sources.<source_name>`.
    """
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


def _dlt_resource(
    resource: ResourceDefaultsBlock, source_name: str, loc: Loc, resource_name: str | None = None
) -> dict[str, Any]:
    data = resource.model_dump(exclude_unset=True, exclude=PROJECT_RESOURCE_OPTIONS | {"endpoint"})
    if resource.endpoint is not None:
        endpoint = resource.endpoint.model_dump(exclude_unset=True, exclude={"auth"})
        if resource.endpoint.auth:
            endpoint["auth"] = SecretsAuth(
                source_name, (*loc, "endpoint", "auth"), resource.endpoint.auth, resource_name
            )
        data["endpoint"] = endpoint
    return data
