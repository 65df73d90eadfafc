"""Read `sources.yml` into a `ProjectConfig`, turning every problem into a message a user can act on.

Each message names the file, the source and the field, e.g.
`sources.yml: source 'crm': schedule: '61 * * * *' is not a valid cron expression`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ingest_assets.config.project import ProjectConfig, SourceConfig

_SOURCE_ADAPTER: TypeAdapter = TypeAdapter(SourceConfig)


class ConfigError(Exception):
    """`sources.yml` is invalid. `problems` holds one message per problem, in file order."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_project_config(path: Path) -> ProjectConfig:
    """Load and validate a `sources.yml`.

    Args:
        path: the YAML file.

    Returns:
        The validated config; sources keep their file order.

    Raises:
        ConfigError: the file is missing, is not YAML, or breaks the model; every problem found
            is reported, not only the first.
    """
    label = path.name
    if not path.exists():
        raise ConfigError([f"{label}: file not found at {path}; create it (see README.md)"])
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError([f"{label}: not valid YAML: {error}"]) from error
    return validate_document(document, label)


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
