"""Read `sources.yml` into a `ProjectConfig`, turning every problem into a message a user can act on.

Each message names the file, the source and the field, e.g.
`sources.yml: source 'crm': schedule: '61 * * * *' is not a valid cron expression`.
The sources of the Excel job sheet (`ingest_assets.config.job_sheet`), when there is one, are
merged in after the YAML's; its messages name the sheet, row and column instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ingest_assets.config.project import ProjectConfig, SourceConfig
from ingest_assets.settings import ProjectPaths, job_sheet_path

if TYPE_CHECKING:
    from ingest_assets.config.job_sheet import JobSheet

_SOURCE_ADAPTER: TypeAdapter = TypeAdapter(SourceConfig)


class ConfigError(Exception):
    """`sources.yml` is invalid. `problems` holds one message per problem, in file order."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_project_config(path: Path, job_sheet: Path | None = None) -> ProjectConfig:
    """Load and validate a `sources.yml`, with the sources of the Excel job sheet merged in.

    Args:
        path: the YAML file; its folder is the project root.
        job_sheet: the job sheet workbook to read (it must exist); None finds it as
            `job_sheet_location` says, and reads the default one only when it exists.

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
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError([f"{label}: not valid YAML: {error}"]) from error
    problems: list[str] = []
    config: ProjectConfig | None = None
    try:
        config = validate_document(document, label)
    except ConfigError as error:
        problems += error.problems
    sheet_file, named = (job_sheet, True) if job_sheet else job_sheet_location(path, document)
    sheet: JobSheet | None = None
    if named or sheet_file.exists():
        sheet, sheet_problems = _read_job_sheet(sheet_file, document, label)
        problems += sheet_problems
    if problems or config is None:
        raise ConfigError(problems)
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
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            document = None
    configured = document.get("job_sheet") if isinstance(document, dict) else None
    paths = ProjectPaths(path.resolve().parent)
    return job_sheet_path(paths, configured if isinstance(configured, str) else None)


def _read_job_sheet(sheet_file: Path, document: Any, label: str) -> tuple["JobSheet | None", list[str]]:
    """The job sheet at `sheet_file`, or its problems; a source name also in the YAML
    `document` (whose file is `label`) is a problem too."""
    # imported here: job_sheet builds on this module's ConfigError and `field_message`
    from ingest_assets.config.job_sheet import read_job_sheet

    lake_base = document.get("lake_base") if isinstance(document, dict) else None
    try:
        sheet = read_job_sheet(sheet_file, lake_base=lake_base if isinstance(lake_base, str) else None)
    except ConfigError as error:
        return None, error.problems
    problems = sheet.conflicts(_source_names(document), label)
    return (None, problems) if problems else (sheet, [])


def _source_names(document: Any) -> list[str]:
    """The names of the sources of a parsed YAML document, valid or not."""
    raw_sources = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(raw_sources, list):
        return []
    return [s["name"] for s in raw_sources if isinstance(s, dict) and isinstance(s.get("name"), str)]


def _merge_job_sheet(
    config: ProjectConfig, document: dict, label: str, sheet: "JobSheet | None"
) -> ProjectConfig:
    """`config` with the sheet's sources appended and every source's origin recorded."""
    origins = {source.name: label for source in config.sources}
    if sheet is not None and sheet.sources:
        config = ProjectConfig.model_validate({**document, "sources": [*config.sources, *sheet.sources]})
        origins.update({source.name: sheet.origin(source.name) for source in sheet.sources})
    config._origins = origins
    return config


def validate_document(document: Any, label: str) -> ProjectConfig:
    """Validate an already-parsed document (a dict as read from YAML or built from Excel rows).

    Args:
        document: `{"version": 1, "warehouse": ..., "sources": [...]}`.
        label: the file name to put in front of every message.

    Raises:
        ConfigError: one message per problem.
    """
    if not isinstance(document, dict):
        raise ConfigError([f"{label}: the top level must be a mapping with a 'sources' list"])
    raw_sources = document.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError([f"{label}: sources: must be a list of sources"])

    problems: list[str] = []
    try:
        ProjectConfig.model_validate({**document, "sources": []})
    except ValidationError as error:
        problems += [f"{label}: {_field_path(e['loc'])}: {_message(e)}" for e in error.errors()]

    sources = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        where = _source_label(raw, index)
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(f"{label}: {where}: name: {name!r} is used by another source")
        seen.add(name)
        try:
            sources.append(_SOURCE_ADAPTER.validate_python(raw))
        except ValidationError as error:
            problems += [_source_problem(label, where, raw, e) for e in error.errors()]

    if problems:
        raise ConfigError(problems)
    return ProjectConfig.model_validate({**document, "sources": sources})


def _source_label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        return f"source {raw['name']!r}"
    return f"source #{index + 1}"


def _source_problem(label: str, where: str, raw: Any, error: dict) -> str:
    loc = list(error["loc"])
    # a discriminated union puts the chosen `type` in front of the field path
    if loc and isinstance(raw, dict) and loc[0] == raw.get("type"):
        loc = loc[1:]
    if error["type"] == "union_tag_invalid":
        return (
            f"{label}: {where}: type: {raw.get('type')!r} is not a source type; "
            f"use one of {error['ctx']['expected_tags']}"
        )
    if error["type"] == "union_tag_not_found":
        return f"{label}: {where}: type: missing; every source needs a type"
    return f"{label}: {where}: {_field_path(loc)}: {_message(error)}"


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


def _message(error: dict) -> str:
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        return "unknown field; check its spelling and where it is indented"
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "string_pattern_mismatch":
        return f"{error['input']!r} must be lower-case letters, digits and _ and start with a letter"
    return message


def field_message(error: dict) -> str:
    """The text of one pydantic error of a config model as this module words it (an unknown
    field, a missing field, a bad name, a validator's message); the job sheet uses it too.

    Args:
        error: one item of `pydantic.ValidationError.errors()`.
    """
    return _message(error)
