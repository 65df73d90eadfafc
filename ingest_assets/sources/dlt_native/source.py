"""`type: dlt_native` sources: any dlt source function, from `custom_sources/` or an installed package.

Several instances of one function: each entry of `sources.yml` is an instance, named by its
`name`. The arguments of a `@dlt.source` function that `function_kwargs` does not give are
looked up first under the instance's own section, `[sources.<name>]` of `.dlt/secrets.toml` /
`.dlt/config.toml` or `SOURCES__<NAME>__<ARGUMENT>` (through dlt's config providers), then where
dlt looks by itself (`[sources.<module>.<function>]`, `[sources.<module>]`,
`[sources.<function>]`, `[sources]`). Each instance has its own pipeline (named after it), so its
own dlt state, incremental cursors, dataset `raw_<name>` and ledger rows.

Loading the definitions reads no secret (`describe_dlt_source`): the function is called with a
placeholder for every secret argument (dlt resolves no secret, and sources build their resources
without connecting); if that call fails, the assets come from the declared `resources:` list,
else from the tables of the instance's last run (the schema dlt keeps in the pipeline's local
state); else the source has no assets until it is fixed, with a warning, while every other
source loads. A run (`build_dlt_source`) resolves the secrets, and a missing one
fails that run with `MissingConfigError` naming the source, the key and where it was looked up.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import dlt
from dlt.common.configuration import is_secret_hint
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.extract.source import DltSource

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.dlt_native.config import (
    SECRET_PLACEHOLDER,
    DltNativeBlock,
    DltNativeSourceConfig,
)
from ingest_assets.sources.dlt_native.errors import MissingConfigError, SourceImportError
from ingest_assets.sources.dlt_native.locate import no_module_message, pip_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MissingKey:
    """One argument of a source function that no config provider holds.

    Attributes:
        key: the argument's name (`partner_key`).
        secret: whether the function asks for it with `dlt.secrets.value` (else `dlt.config.value`).
        looked_up: the sections dlt looked in, most specific first (`sources.shopee_sg`, ...).
    """

    key: str
    secret: bool
    looked_up: tuple[str, ...]


def build_dlt_source(config: DltNativeSourceConfig, paths: ProjectPaths) -> DltSource:
    """Import the configured function and call it to build a fresh dlt source for a run.

    Arguments not in `function_kwargs` are looked up under `[sources.<name>]` first, then where
    dlt looks by itself (see the module docstring).

    Args:
        config: the validated source config.
        paths: project paths; `custom_sources/`'s parent is put on `sys.path`.

    Returns:
        A `DltSource` renamed to the source's name, with resource selection and hints applied.

    Raises:
        SourceImportError: the module, function or a selected resource does not exist; the
            message names the source, the module and what to install or fix.
        MissingConfigError: a secret or setting the function needs is set nowhere.
    """
    block = config.dlt_native
    function = _import_function(config.name, block, paths)
    arguments = {
        **instance_arguments(config.name, function, skip=block.function_kwargs),
        **block.function_kwargs,
    }
    missing: list[MissingKey] = []
    try:
        built = function(**arguments)
    except ConfigFieldMissingException as error:
        missing = _missing_keys(config.name, function, error)
    if missing:
        # raised outside the `except` block: dlt's exception lists every provider it asked
        raise MissingConfigError(missing_message(config, missing))
    return _finish(config, built)


def describe_dlt_source(config: DltNativeSourceConfig, paths: ProjectPaths) -> DltSource:
    """A dlt source that only describes the source's assets, built without reading a secret.

    From, in this order: the function called with `SECRET_PLACEHOLDER` for each secret
    argument (settings are resolved as usual; a selected resource it does not have is an
    error); when that call fails, the declared `resources:` list; else the tables of the
    instance's last run, from the schema dlt keeps in the pipeline's local state. When none
    works, a warning says why and the source has no assets (the other sources are not
    affected). Never run or extract the returned source.

    Args:
        config: the validated source config.
        paths: project paths (`custom_sources/`, the pipelines dir).

    Raises:
        SourceImportError: the module or function does not exist (a broken `sources.yml` entry
            fails definitions load with what to install or fix).
    """
    block = config.dlt_native
    function = _import_function(config.name, block, paths)
    arguments = {
        **instance_arguments(config.name, function, skip=block.function_kwargs, secrets=False)
    }
    arguments.update(
        {
            key: SECRET_PLACEHOLDER
            for key in _secret_arguments(function)
            if key not in block.function_kwargs
        }
    )
    arguments.update(block.function_kwargs)
    problem: str
    try:
        return _finish(config, function(**arguments))
    except SourceImportError:
        raise
    except ConfigFieldMissingException as error:
        problem = missing_message(config, _missing_keys(config.name, function, error))
    except Exception as error:  # noqa: BLE001 - user code: any failure falls back, with a warning
        problem = (
            f"calling {block.source_module}.{block.source_function} failed: {type(error).__name__}"
        )
    if block.resources is not None:
        return _declared_source(config)
    stored = _last_run_source(config, paths)
    if stored is not None:
        logger.warning(
            "source '%s': its assets come from the tables of its last run, as they cannot be known "
            "without its secrets (%s)",
            config.name,
            problem,
        )
        return stored
    logger.warning(
        "source '%s': it has no assets until this is fixed, or its tables are declared with "
        "dlt_native.resources in sources.yml: %s",
        config.name,
        problem,
    )
    return DltSource.from_data(_as_schema(config.name), config.name, [])


def missing_config(config: DltNativeSourceConfig, paths: ProjectPaths) -> list[MissingKey]:
    """The arguments of the source function that are set nowhere dlt looks, for
    `ingest validate`; reads the configured values but keeps none and returns none.

    Raises:
        SourceImportError: the module or function does not exist.
    """
    block = config.dlt_native
    function = _import_function(config.name, block, paths)
    spec = _spec(function)
    if spec is None:
        return []
    given = {
        **instance_arguments(config.name, function, skip=block.function_kwargs),
        **block.function_kwargs,
    }
    try:
        from dlt.common.configuration import resolve_configuration

        resolve_configuration(
            spec(),
            sections=("sources", function.ref.section, function.ref.name),
            explicit_value=given,
        )
    except ConfigFieldMissingException as error:
        return _missing_keys(config.name, function, error)
    except Exception:  # noqa: BLE001 - only missing values are reported here; the run says the rest
        return []
    return []


def check_dlt_source(config: DltNativeSourceConfig, paths: ProjectPaths) -> list[MissingKey]:
    """What `ingest validate` checks without reading a secret: the module and function import,
    the function builds a source when called with placeholder secrets (errors of the function
    itself are left to the run, which has the real secrets), the `resources` it selects exist;
    and which arguments are set nowhere (`missing_config`).

    Raises:
        SourceImportError: the module, function or a selected resource does not exist.
    """
    block = config.dlt_native
    function = _import_function(config.name, block, paths)
    arguments = {key: SECRET_PLACEHOLDER for key in _secret_arguments(function)}
    arguments.update(
        instance_arguments(config.name, function, skip=block.function_kwargs, secrets=False)
    )
    arguments.update(block.function_kwargs)
    try:
        built = function(**arguments)
    except Exception:  # noqa: BLE001 - needs real values: checked by the run
        built = None
    if built is not None:
        _finish(config, built)
    return missing_config(config, paths)


def missing_message(config: DltNativeSourceConfig, missing: list[MissingKey]) -> str:
    """`source '<name>': ... is not set: add ... under [sources.<name>] ...` for `missing`."""
    parts = []
    for item in missing:
        kind = "secret" if item.secret else "setting"
        home = ".dlt/secrets.toml" if item.secret else ".dlt/config.toml (or .dlt/secrets.toml)"
        also = ", ".join(
            f"[{section}]" for section in item.looked_up if section != f"sources.{config.name}"
        )
        parts.append(
            f"the {kind} '{item.key}' is not set: add {item.key} = \"...\" under "
            f"[sources.{config.name}] in {home}, or set the environment variable "
            f"SOURCES__{config.name.upper()}__{item.key.upper()}"
            + (f" (also looked up in {also})" if also else "")
        )
    return f"source '{config.name}': " + "; ".join(parts)


def instance_arguments(
    name: str, function: Any, skip: dict[str, Any] | None = None, secrets: bool = True
) -> dict[str, Any]:
    """The arguments of a `@dlt.source` function set under the instance's own section:
    `[sources.<name>]` in dlt's TOML files or `SOURCES__<NAME>__<ARGUMENT>`, read through dlt's
    config providers (`dlt.secrets` for secret arguments, `dlt.config` for the others).

    Args:
        name: the instance (the source's `name` in `sources.yml`).
        function: the imported source function; functions without a dlt config spec (plain
            functions, resources) have no instance arguments.
        skip: arguments given in `sources.yml`, not looked up.
        secrets: False leaves the secret arguments out (definitions load reads none).

    Returns:
        `{argument: value}` of the arguments found there (values are secrets: never log them).
    """
    spec = _spec(function)
    if spec is None:
        return {}
    found: dict[str, Any] = {}
    for key, hint in spec.get_resolvable_fields().items():
        if key in (skip or {}) or key.startswith("_"):
            continue
        if is_secret_hint(hint):
            if not secrets:
                continue
            value = dlt.secrets.get(f"sources.{name}.{key}")
        else:
            try:
                value = dlt.config.get(f"sources.{name}.{key}", hint)
            except Exception:  # noqa: BLE001 - a value dlt cannot convert: let dlt's own resolution say so
                value = dlt.config.get(f"sources.{name}.{key}")
        if value is not None:
            found[key] = value
    return found


def _spec(function: Any) -> type[BaseConfiguration] | None:
    """The dlt config spec of a `@dlt.source` function (its arguments), or None."""
    reference = getattr(function, "ref", None)
    spec = getattr(reference, "SPEC", None)
    return spec if isinstance(spec, type) and issubclass(spec, BaseConfiguration) else None


def _secret_arguments(function: Any) -> list[str]:
    spec = _spec(function)
    if spec is None:
        return []
    return [key for key, hint in spec.get_resolvable_fields().items() if is_secret_hint(hint)]


def _missing_keys(name: str, function: Any, error: ConfigFieldMissingException) -> list[MissingKey]:
    """What `error` says is missing, with the sections dlt looked in (without the pipeline-name
    prefixed variants and the root, which would only repeat them)."""
    spec = _spec(function)
    hints = spec.get_resolvable_fields() if spec is not None else {}
    missing = []
    for key, traces in error.traces.items():
        looked_up = [f"sources.{name}"]
        for trace in traces:
            sections = list(getattr(trace, "sections", []) or [])
            if not sections or sections[0] != "sources":
                continue
            section = ".".join(sections)
            if section not in looked_up:
                looked_up.append(section)
        missing.append(
            MissingKey(
                key=key, secret=is_secret_hint(hints.get(key, str)), looked_up=tuple(looked_up)
            )
        )
    return missing


def _finish(config: DltNativeSourceConfig, built: Any) -> DltSource:
    """`built` (what the function returned) as a DltSource named after the source, with the
    `resources` selection and hints of `sources.yml` applied."""
    block = config.dlt_native
    source = (
        built
        if isinstance(built, DltSource)
        else DltSource.from_data(_as_schema(config.name), config.name, built)
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


def _declared_source(config: DltNativeSourceConfig) -> DltSource:
    """A describing source with one empty resource per declared `resources:` entry."""
    resources = []
    for options in config.dlt_native.resources or []:
        resource = dlt.resource([], name=options.name)
        hints = options.dlt_hints()
        if hints:
            resource.apply_hints(**hints)
        resources.append(resource)
    return DltSource.from_data(_as_schema(config.name), config.name, resources)


def _last_run_source(config: DltNativeSourceConfig, paths: ProjectPaths) -> DltSource | None:
    """A describing source with the top-level tables of the schema dlt kept for the instance's
    pipeline (`<pipelines dir>/<name>/schemas/<name>.schema.json`), or None when there is none."""
    stored = paths.pipelines_dir / config.name / "schemas" / f"{config.name}.schema.json"
    try:
        tables = json.loads(stored.read_text()).get("tables", {})
    except (OSError, ValueError):
        return None
    resources = [
        dlt.resource([], name=table.get("resource") or name, table_name=name)
        for name, table in tables.items()
        if not name.startswith("_dlt") and not table.get("parent") and table.get("resource")
    ]
    if not resources:
        return None
    return DltSource.from_data(_as_schema(config.name), config.name, resources)


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
        for name in [
            n for n in sys.modules if n == "custom_sources" or n.startswith("custom_sources.")
        ]:
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
                    f"installed: run `pip install {pip_name(top)}` (the pip name of a package "
                    "may differ from its module name) and add it to pyproject.toml"
                ) from error
    top = dotted.split(".")[0]
    if importlib.util.find_spec(top) is not None:
        raise SourceImportError(
            f"{where}: the installed package '{top}' has no module '{dotted}'; check the dotted path"
        )
    raise SourceImportError(no_module_message(source_name, dotted))
