"""The `dlt_native` source type's config: the `dlt_native:` block naming a dlt source function."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator

from ingest_assets.config.common import NAME_PATTERN, LoadOptions, SourceBase, StrictModel

SECRET_PLACEHOLDER = "<not read when the definitions load>"
"""What a secret argument of the function gets when it is called to describe the assets."""


class ResourceOptions(LoadOptions):
    """Hints set from `sources.yml` on one resource of the source, overriding its code.

    Attributes:
        name: the dlt resource name.
    """

    name: str = Field(pattern=NAME_PATTERN)


class DltNativeBlock(StrictModel):
    """The `dlt_native:` block of a source.

    Attributes:
        source_module: a module of `custom_sources/` (`example_shop`) or any importable dotted
            path (`my_package.sources.crm`).
        source_function: the `@dlt.source` (or `@dlt.resource`) function in that module;
            `source_name` (Dango's name for it) is accepted too.
        function_kwargs: keyword arguments for that function (no secrets: dlt injects those from
            `.dlt/secrets.toml` or the environment).
        resources: resources to load (names, or objects with `name` and load options); None
            loads the resources the source selects by default.
    """

    source_module: str = Field(min_length=1)
    # `source_name` is Dango's spelling of the same key
    source_function: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        validation_alias=AliasChoices("source_function", "source_name"),
    )
    function_kwargs: dict[str, Any] = Field(default_factory=dict)
    resources: list[ResourceOptions] | None = None

    @field_validator("resources", mode="before")
    @classmethod
    def _names_as_options(cls, items: object) -> object:
        """Accept a bare resource name as shorthand for `{name: <name>}`."""
        if isinstance(items, list):
            return [{"name": item} if isinstance(item, str) else item for item in items]
        return items


class DltNativeSourceConfig(SourceBase):
    """A source of `type: dlt_native`."""

    type: Literal["dlt_native"]
    dlt_native: DltNativeBlock

    def table_options(self) -> dict[str, LoadOptions]:
        """The options of the resources listed in `resources`, by resource name."""
        return {r.name: r for r in self.dlt_native.resources or []}
