"""`type: dlt_native` sources: any dlt source function, from `custom_sources/` or an installed package."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any, Literal

from dlt.extract.source import DltSource
from pydantic import AliasChoices, Field, field_validator

from ingest_assets.config.common import NAME_PATTERN, LoadOptions, SourceBase, StrictModel
from ingest_assets.settings import ProjectPaths


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


class SourceImportError(Exception):
    """The configured module or function cannot be imported or does not build a dlt source."""


def build_dlt_source(config: DltNativeSourceConfig, paths: ProjectPaths) -> DltSource:
    """Import the configured function and call it to build a fresh dlt source.

    Args:
        config: the validated source config.
        paths: project paths; `custom_sources/`'s parent is put on `sys.path`.

    Returns:
        A `DltSource` renamed to the source's name, with resource selection and hints applied.

    Raises:
        SourceImportError: the module, function or a selected resource does not exist; the
            message names the source, the module and what to install or fix.
    """
    block = config.dlt_native
    function = _import_function(config.name, block, paths)
    built = function(**block.function_kwargs)
    source = built if isinstance(built, DltSource) else DltSource.from_data(
        _as_schema(config.name), config.name, built
    )
    if source.name != config.name:
        source = source.clone(with_name=config.name)
    if block.resources is not None:
        missing = [r.name for r in block.resources if r.name not in source.resources]
        if missing:
            raise SourceImportError(
                f"source '{config.name}': dlt_native.resources: {', '.join(missing)} not in "
                f"{block.source_module}.{block.source_function} (it has: "
                f"{', '.join(source.resources)})"
            )
        source = source.with_resources(*[r.name for r in block.resources])
        for options in block.resources:
            hints = options.dlt_hints()
            if hints:
                source.resources[options.name].apply_hints(**hints)
    return source


def _as_schema(name: str):
    from dlt.common.schema import Schema

    return Schema(name)


def _import_function(source_name: str, block: DltNativeBlock, paths: ProjectPaths) -> Any:
    _use_project_custom_sources(paths)
    module = _import_module(source_name, block.source_module)
    function = getattr(module, block.source_function, None)
    if not callable(function):
        raise SourceImportError(
            f"source '{source_name}': dlt_native.source_function: {module.__name__} has no "
            f"function {block.source_function!r}"
        )
    return function


def _use_project_custom_sources(paths: ProjectPaths) -> None:
    """Make `custom_sources` the package of this project: its root first on `sys.path`, and a
    `custom_sources` imported from another project (one process loading several) forgotten."""
    root = str(paths.root)
    if sys.path[:1] != [root]:
        if root in sys.path:
            sys.path.remove(root)
        sys.path.insert(0, root)
    loaded = sys.modules.get("custom_sources")
    loaded_from = getattr(loaded, "__path__", None) or []
    if loaded is not None and str(paths.custom_sources_dir) not in loaded_from:
        for name in [n for n in sys.modules if n == "custom_sources" or n.startswith("custom_sources.")]:
            del sys.modules[name]
    importlib.invalidate_caches()


def _import_module(source_name: str, dotted: str) -> ModuleType:
    """Import `custom_sources.<dotted>`, else `<dotted>` from the installed packages.

    Raises:
        SourceImportError: the module, or a module it imports, is not installed; the message
            names the `pip install` to run (the pip name is guessed from the module name).
    """
    where = f"source '{source_name}': dlt_native.source_module"
    for candidate in (f"custom_sources.{dotted}", dotted):
        try:
            return importlib.import_module(candidate)
        except ModuleNotFoundError as error:
            missing = error.name or candidate
            if candidate != missing and not candidate.startswith(f"{missing}."):
                top = missing.split(".")[0]
                raise SourceImportError(
                    f"{where}: importing {candidate} needs the module '{missing}', which is not "
                    f"installed: run `pip install {_pip_name(top)}` (the pip name of a package "
                    "may differ from its module name) and add it to pyproject.toml"
                ) from error
    top = dotted.split(".")[0]
    if importlib.util.find_spec(top) is not None:
        raise SourceImportError(
            f"{where}: the installed package '{top}' has no module '{dotted}'; check the dotted path"
        )
    raise SourceImportError(
        f"{where}: no module custom_sources.{dotted} or {dotted}: put "
        f"{dotted.replace('.', '/')}.py in custom_sources/, or install the package providing "
        f"'{top}': run `pip install {_pip_name(top)}` (the pip name of a package may differ from "
        "its module name) and add it to pyproject.toml"
    )


def _pip_name(module: str) -> str:
    """The usual pip name of a top-level module: `my_crm` -> `my-crm`."""
    return module.replace("_", "-")
