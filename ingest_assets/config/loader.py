"""Read `sources.yml` into a `ProjectConfig`, turning every problem into a message a user can act on.

Each message names the file, the source and the field, e.g.
`sources.yml: source 'crm': schedule: '61 * * * *' is not a valid cron expression`; shown to
people (`str(error)`, the CLI, the Dagster code location) it also carries the YAML line:
`sources.yml:14: source 'crm': schedule: ...`. A misspelled key gets a did-you-mean from the
keys its block allows (`file_glb: unknown field; ...: did you mean 'file_glob'?`).
The sources of the Excel job sheet (`ingest_assets.config.job_sheet`), when there is one, are
merged in after the YAML's; its messages name the sheet, row and column instead.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from ingest_assets.config.common import CHECK_DISABLED_SOURCES
from ingest_assets.config.errors import ConfigError, field_message
from ingest_assets.config.project import ProjectConfig, SourceConfig
from ingest_assets.settings import ProjectPaths, job_sheet_path
from ingest_assets.yaml_files import YAML_LOADER

if TYPE_CHECKING:
    from ingest_assets.config.job_sheet import JobSheet

_SOURCE_ADAPTER: TypeAdapter = TypeAdapter(SourceConfig)

"""PyYAML's safe loader in C (libyaml) when PyYAML was built with it, else the Python one: the
same documents and line marks, ~10x faster. The Python loader took 0.2 s per read of the demo's
sources.yml, and a definitions load reads it several times (benchmarks/fixed_costs)."""


def load_project_config(
    path: Path, job_sheet: Path | None = None, *, check_disabled: bool = False
) -> ProjectConfig:
    """Load and validate a `sources.yml`, with the sources of the Excel job sheet merged in.

    Args:
        path: the YAML file; its folder is the project root.
        job_sheet: the job sheet workbook to read (it must exist); None finds it as
            `job_sheet_location` says, and reads the default one only when it exists.
        check_disabled: also run, on disabled sources, the checks that import a source type's
            heavy library (`common.library_checks_apply`: dlt's REST API rules); by default
            those run on enabled sources only (`ingest validate --build` sets it).

    Returns:
        The validated config: the YAML's sources in file order, then the sheet's in row order;
        `ProjectConfig.source_origin(name)` says where each one is defined.

    Raises:
        ConfigError: the YAML file is missing, is not YAML, or breaks the model; a named job
            sheet is missing; the sheet is invalid; or a source name is defined in both. Every
            problem of both files is reported, not only the first.
    """
    label = path.name
    if not path.exists():
        raise ConfigError([f"{label}: file not found at {path}; create it (see README.md)"])
    text = path.read_text()
    try:
        document = yaml.load(text, Loader=YAML_LOADER) or {}
        nodes = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(str(error).split())
        raise ConfigError([f"{label}: not valid YAML: {detail}"], [line], label) from None
    problems: list[str] = []
    lines: list[int | None] = []
    config: ProjectConfig | None = None
    try:
        config = validate_document(document, label, nodes, check_disabled=check_disabled)
    except ConfigError as error:
        problems += error.problems
        lines += error.lines
    sheet_file, named = (job_sheet, True) if job_sheet else job_sheet_location(path, document)
    sheet: JobSheet | None = None
    if named or sheet_file.exists():
        sheet, sheet_problems = _read_job_sheet(sheet_file, document, label)
        problems += sheet_problems
        lines += [None] * len(sheet_problems)
    if problems or config is None:
        raise ConfigError(problems, lines, label)
    return _merge_job_sheet(config, document, label, sheet)


def job_sheet_location(path: Path, document: Any = None) -> tuple[Path, bool]:
    """Where the Excel job sheet of the project of `sources.yml` file `path` is.

    Args:
        path: the `sources.yml`; its folder is the project root.
        document: the parsed YAML, or None to read `path` (unreadable counts as empty).

    Returns:
        `(path, named)` as `settings.job_sheet_path` gives it from `INGEST_JOB_SHEET`, the
        document's `job_sheet:` and the default `ingestion_config.xlsx`.
    """
    if document is None:
        try:
            document = yaml.load(path.read_text(), Loader=YAML_LOADER)
        except (OSError, yaml.YAMLError):
            document = None
    configured = document.get("job_sheet") if isinstance(document, dict) else None
    paths = ProjectPaths(path.resolve().parent)
    return job_sheet_path(paths, configured if isinstance(configured, str) else None)


def _read_job_sheet(
    sheet_file: Path, document: Any, label: str
) -> tuple[JobSheet | None, list[str]]:
    """The job sheet at `sheet_file`, or its problems; a source name also in the YAML
    `document` (whose file is `label`) is a problem too."""
    # the sheet's reader is imported only when the project has a sheet
    from ingest_assets.config.job_sheet import read_job_sheet

    lake_base = document.get("lake_base") if isinstance(document, dict) else None
    try:
        sheet = read_job_sheet(
            sheet_file, lake_base=lake_base if isinstance(lake_base, str) else None
        )
    except ConfigError as error:
        return None, error.problems
    problems = sheet.conflicts(_source_names(document), label)
    return (None, problems) if problems else (sheet, [])


def _source_names(document: Any) -> list[str]:
    """The names of the sources of a parsed YAML document, valid or not."""
    raw_sources = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(raw_sources, list):
        return []
    return [
        s["name"] for s in raw_sources if isinstance(s, dict) and isinstance(s.get("name"), str)
    ]


def _merge_job_sheet(
    config: ProjectConfig, document: dict, label: str, sheet: JobSheet | None
) -> ProjectConfig:
    """`config` with the sheet's sources appended and every source's origin recorded."""
    origins = {source.name: label for source in config.sources}
    if sheet is not None and sheet.sources:
        config = ProjectConfig.model_validate(
            {**document, "sources": [*config.sources, *sheet.sources]}
        )
        origins.update({source.name: sheet.origin(source.name) for source in sheet.sources})
    config._origins = origins
    return config


def validate_document(
    document: Any, label: str, nodes: yaml.Node | None = None, *, check_disabled: bool = False
) -> ProjectConfig:
    """Validate an already-parsed document (a dict as read from YAML or built from Excel rows).

    Args:
        document: `{"version": 1, "warehouse": ..., "sources": [...]}`.
        label: the file name to put in front of every message.
        nodes: the document as composed by `yaml.compose` (nodes with line marks), to give
            each problem its line; None when the document is not from a YAML file.
        check_disabled: run the library checks on disabled sources too (see
            `load_project_config`).

    Raises:
        ConfigError: one message per problem, with its line when `nodes` are given.
    """
    if not isinstance(document, dict):
        raise ConfigError([f"{label}: the top level must be a mapping with a 'sources' list"])
    raw_sources = document.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError([f"{label}: sources: must be a list of sources"])

    problems: list[str] = []
    lines: list[int | None] = []
    try:
        ProjectConfig.model_validate({**document, "sources": []})
    except ValidationError as error:
        for e in _with_suggestions(error.errors(), ProjectConfig, document):
            problems.append(f"{label}: {_field_path(e['loc'])}: {field_message(e)}")
            lines.append(_line(nodes, e["loc"]))

    sources = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        where = _source_label(raw, index)
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(f"{label}: {where}: name: {name!r} is used by another source")
            lines.append(_line(nodes, ["sources", index, "name"]))
        seen.add(name)
        try:
            sources.append(
                _SOURCE_ADAPTER.validate_python(
                    raw, context={CHECK_DISABLED_SOURCES: check_disabled}
                )
            )
        except ValidationError as error:
            errors = _strip_type_tag(error.errors(), raw)
            for e in _with_suggestions(errors, _source_model(raw), raw):
                problems.append(_source_problem(label, where, raw, e))
                lines.append(_line(nodes, ["sources", index, *e["loc"]]))

    if problems:
        raise ConfigError(problems, lines, label)
    return ProjectConfig.model_validate({**document, "sources": sources})


def _strip_type_tag(errors: list[dict], raw: Any) -> list[dict]:
    """Errors with the discriminated union's chosen `type` taken off the front of `loc`."""
    out = []
    for error in errors:
        loc = list(error["loc"])
        if loc and isinstance(raw, dict) and loc[0] == raw.get("type"):
            loc = loc[1:]
        out.append({**error, "loc": tuple(loc)})
    return out


def _source_model(raw: Any) -> type[BaseModel] | None:
    """The source model the union picks for `raw`'s `type`, or None."""
    if not isinstance(raw, dict):
        return None
    for member in _models_in(SourceConfig):
        annotation = member.model_fields.get("type")
        if annotation is not None and raw.get("type") in typing.get_args(annotation.annotation):
            return member
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Annotated, unions, Optional)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _model_at(model: type[BaseModel] | None, loc: tuple | list) -> type[BaseModel] | None:
    """The model of the mapping at `loc` below `model` (lists, dicts and unions followed;
    pydantic's union-member tags in `loc` pick the member), or None when unknown."""
    current: Any = model
    for part in loc:
        if current is None:
            return None
        if isinstance(current, type) and issubclass(current, BaseModel):
            if isinstance(part, str) and "[" in part:
                continue  # a validator step such as `function-after[...]`
            field = _field_named(current, part)
            if field is None:
                return None
            current = field.annotation
            continue
        current = _step_into(current, part)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step_into(annotation: Any, part: Any) -> Any:
    """One `loc` step into a container or union annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _step_into(args[0], part)
    if origin in (typing.Union, types.UnionType):
        models = _models_in(annotation)
        named = [m for m in models if m.__name__ == part]
        if named:
            return named[0]
        containers = [a for a in args if typing.get_origin(a) in (list, dict)]
        if containers:
            return _step_into(containers[0], part)
        return models[0] if len(models) == 1 else None
    if origin is list and isinstance(part, int):
        return args[0] if args else None
    if origin is dict and isinstance(part, str):
        return args[1] if len(args) == 2 else None
    return None


def _field_named(model: type[BaseModel], key: Any):
    for name, field in model.model_fields.items():
        if key == name or key in _aliases(field):
            return field
    return None


def _aliases(field) -> list[str]:
    names = [field.alias] if field.alias else []
    choices = getattr(field.validation_alias, "choices", None)
    if choices:
        names += [c for c in choices if isinstance(c, str)]
    elif isinstance(field.validation_alias, str):
        names.append(field.validation_alias)
    return names


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    """The keys a YAML mapping of `model` may have: field names, or their aliases."""
    keys = []
    for name, field in model.model_fields.items():
        aliases = _aliases(field)
        keys += aliases if field.alias else [name, *aliases]
    return list(dict.fromkeys(keys))


def _with_suggestions(errors: list[dict], model: type[BaseModel] | None, raw: Any) -> list[dict]:
    """`errors` with a did-you-mean on each unknown key that is close to an allowed key of its
    block (difflib), misspelled keys first; a "required field is missing" error for the key
    the suggestion names is dropped (the suggestion says it)."""
    suggested: set[tuple] = set()
    out = []
    for error in errors:
        if error["type"] == "extra_forbidden" and model is not None and error["loc"]:
            *parent, key = error["loc"]
            block = _model_at(model, parent)
            if block is not None and isinstance(key, str):
                close = difflib.get_close_matches(key, _allowed_keys(block), n=1, cutoff=0.6)
                if close:
                    error = {**error, "suggestion": close[0]}
                    suggested.add((*_plain(parent), close[0]))
        out.append(error)
    kept = [e for e in out if not (e["type"] == "missing" and tuple(_plain(e["loc"])) in suggested)]
    return sorted(kept, key=lambda e: "suggestion" not in e)


def _plain(loc: tuple | list) -> list:
    """`loc` without pydantic's validator and union-member tags: keys and indexes only."""
    return [p for p in loc if isinstance(p, int) or ("[" not in p and not p[:1].isupper())]


def _line(nodes: yaml.Node | None, loc: tuple | list) -> int | None:
    """The 1-based line of the YAML node at `loc` (a key's own line for a mapping entry), or of
    the deepest node on the way when the rest is missing (a required field: its block)."""
    if nodes is None:
        return None
    node = nodes
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                continue  # a validator or union tag, or a missing key
            line = match[0].start_mark.line + 1
            node = match[1]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def _source_label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        return f"source {raw['name']!r}"
    return f"source #{index + 1}"


def _source_problem(label: str, where: str, raw: Any, error: dict) -> str:
    loc = list(error["loc"])  # the union's `type` tag already taken off (`_strip_type_tag`)
    if error["type"] == "union_tag_invalid":
        return (
            f"{label}: {where}: type: {raw.get('type')!r} is not a source type; "
            f"use one of {error['ctx']['expected_tags']}"
        )
    if error["type"] == "union_tag_not_found":
        return f"{label}: {where}: type: missing; every source needs a type"
    return f"{label}: {where}: {_field_path(loc)}: {field_message(error)}"


def _field_path(loc: list | tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif "[" in str(part):  # a validator step such as `function-after[...]`, not a field
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"
