"""One row as a load job, and the rows of one source checked to agree on the source-wide columns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from ingest_assets.config.job_sheet.columns import DESTINATIONS, MAX_PARALLELISM, SOURCE_TYPES
from ingest_assets.config.job_sheet.rows import Problem, SheetRow
from ingest_assets.sources.sql_database import asset_table_name

_YES = {"y", "yes", "true", "1"}


_NO = {"n", "no", "false", "0"}


_DIALECT_DRIVER = re.compile(r"^[a-z][a-z0-9_]*\+[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Job:
    """A row that passed the row checks, with its values read.

    Attributes:
        row: the sheet row.
        source_name, table_name: as written (text).
        drivername: the SQLAlchemy drivername `source_type` maps to.
        schema_name: the schema, or None for the connection's default.
        incremental: `load_type` INCREMENTAL (else FULL).
        enabled: `enabled` is Y (or blank).
        container, folder_path: `target_container`, `target_folder_path` as text, or None.
        destination: `lake`, `both` or `warehouse` as written, or None when blank (then the
            source's other rows decide, or the default: `lake` with a `target_container`,
            else `warehouse`).
        parallelism: the `parallelism` cell, or None when blank.
        schedule: the `schedule` cell, or None when blank.
    """

    row: SheetRow
    source_name: str
    table_name: str
    drivername: str
    schema_name: str | None
    incremental: bool
    enabled: bool
    container: str | None = None
    folder_path: str | None = None
    destination: str | None = None
    parallelism: int | None = None
    schedule: str | None = None


def _read_job(row: SheetRow) -> tuple[Job | None, list[Problem]]:
    """Check one row on its own: required values, known source and load types, Y/N, the
    watermark of INCREMENTAL and the schema of Oracle. Returns the job, or None with problems."""
    problems = [
        Problem((row.number,), column, "required")
        for column in ("job_id", "source_type", "source_name", "table_name", "load_type")
        if row.get(column) is None
    ]
    drivername = _drivername(row.get("source_type"))
    if row.get("source_type") is not None and drivername is None:
        problems.append(
            Problem(
                (row.number,),
                "source_type",
                f"{row.get('source_type')!r} is not a source type; use PostgreSQL, MySQL, MariaDB, "
                "MSSQL, Oracle, SQLite, or a SQLAlchemy dialect+driver such as mssql+pymssql",
            )
        )
    load_type = str(row.get("load_type") or "").upper()
    if row.get("load_type") is not None and load_type not in ("FULL", "INCREMENTAL"):
        problems.append(
            Problem(
                (row.number,), "load_type", f"{row.get('load_type')!r} is not FULL or INCREMENTAL"
            )
        )
    enabled = _yes_no(row.get("enabled"))
    if enabled is None:
        problems.append(Problem((row.number,), "enabled", f"{row.get('enabled')!r} is not Y or N"))
    if load_type == "INCREMENTAL" and row.get("watermark_column") is None:
        problems.append(
            Problem((row.number,), "watermark_column", "required when load_type is INCREMENTAL")
        )
    if load_type == "FULL":
        problems += [
            Problem(
                (row.number,),
                column,
                (
                    "set, but load_type is FULL, which reads the whole table every run: clear it, "
                    "or use INCREMENTAL"
                ),
            )
            for column in ("watermark_column", "last_watermark")
            if row.get(column) is not None
        ]
    if (
        drivername is not None
        and drivername.startswith("oracle")
        and row.get("schema_name") is None
    ):
        problems.append(
            Problem(
                (row.number,), "schema_name", "required for Oracle (the schema is the owning user)"
            )
        )
    container = _text(row.get("target_container"))
    folder_path = _text(row.get("target_folder_path"))
    destination = str(row.get("destination") or ("lake" if container else "warehouse")).lower()
    if destination not in DESTINATIONS:
        problems.append(
            Problem(
                (row.number,),
                "destination",
                f"{row.get('destination')!r} is not lake, both or warehouse",
            )
        )
    elif destination != "warehouse" and container is None:
        problems.append(
            Problem(
                (row.number,),
                "target_container",
                f"required when destination is {destination} (the container the files go to)",
            )
        )
    elif destination == "warehouse" and (container or folder_path):
        column = "target_container" if container else "target_folder_path"
        problems.append(
            Problem(
                (row.number,),
                column,
                "set, but destination is warehouse, which writes no lake files: clear it, or set "
                "destination to lake or both",
            )
        )
    parallelism = row.get("parallelism")
    if parallelism is not None and (
        isinstance(parallelism, bool)
        or not isinstance(parallelism, int)
        or not 1 <= parallelism <= MAX_PARALLELISM
    ):
        problems.append(
            Problem(
                (row.number,),
                "parallelism",
                f"{parallelism!r} is not a whole number from 1 to {MAX_PARALLELISM}",
            )
        )
    if problems:
        return None, problems
    schema = row.get("schema_name")
    return Job(
        row=row,
        source_name=str(row.get("source_name")),
        table_name=str(row.get("table_name")),
        drivername=drivername,  # type: ignore[arg-type] - checked above
        schema_name=None if schema is None else str(schema),
        incremental=load_type == "INCREMENTAL",
        enabled=bool(enabled),
        container=container,
        folder_path=folder_path,
        destination=None if row.get("destination") is None else destination,
        parallelism=parallelism,
        schedule=None if row.get("schedule") is None else str(row.get("schedule")),
    ), []


def _text(value: Any) -> str | None:
    """A cell as text (None when blank); a folder path without leading or trailing `/`."""
    if value is None:
        return None
    text = str(value).strip().strip("/")
    return text or None


def _drivername(source_type: Any) -> str | None:
    """The SQLAlchemy drivername of a `source_type` cell, or None when it names none."""
    if source_type is None:
        return None
    text = str(source_type).strip().lower()
    if _DIALECT_DRIVER.match(text):
        return text
    return SOURCE_TYPES.get(re.sub(r"[\s_\-]+", "", text))


def _yes_no(value: Any) -> bool | None:
    """`enabled` as a bool (blank is Y), or None when it is neither Y nor N."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _YES else False if text in _NO else None


def _duplicate_job_ids(rows: list[SheetRow]) -> list[Problem]:
    """A problem on every row repeating the `job_id` of an earlier row (`1` and `1.0` are equal)."""
    first: dict[str, int] = {}
    problems = []
    for row in rows:
        job_id = row.get("job_id")
        if job_id is None:
            continue
        key = str(job_id)
        if key in first:
            problems.append(
                Problem(
                    (row.number,), "job_id", f"{job_id!r} is also the job_id of row {first[key]}"
                )
            )
        else:
            first[key] = row.number
    return problems


def _by_source(jobs: list[Job]) -> dict[str, list[Job]]:
    """The jobs grouped by `source_name`, groups in order of their first row."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.source_name, []).append(job)
    return groups


def _consistent(group: list[Job]) -> tuple[list[Job], list[Problem]]:
    """The jobs of one source that agree with its first row on database and schema and load a
    table no earlier row loads; a problem for each of the others."""
    first = group[0]
    kept = [first]
    problems = []
    tables = {asset_table_name(first.table_name): first}
    for job in group[1:]:
        number = (job.row.number,)
        earlier = tables.get(asset_table_name(job.table_name))
        if job.drivername != first.drivername:
            problems.append(
                Problem(
                    number,
                    "source_type",
                    (
                        f"{job.row.get('source_type')!r} differs from {first.row.get('source_type')!r} "
                        f"in row {first.row.number}; the rows of source_name {job.source_name!r} read "
                        "one database: give them one source_type or use another source_name"
                    ),
                )
            )
        elif job.schema_name != first.schema_name:
            problems.append(
                Problem(
                    number,
                    "schema_name",
                    (
                        f"{job.schema_name or '(blank)'!r} differs from {first.schema_name or '(blank)'!r} "
                        f"in row {first.row.number}; a source reads one schema: use another source_name "
                        "for the tables of this schema"
                    ),
                )
            )
        elif (column := _disagreeing_column(job, group)) is not None:
            value, other = _source_setting(column, job, group)
            problems.append(
                Problem(
                    number,
                    column,
                    (
                        f"{_shown(value)} differs from {_shown(other.setting)} in row {other.row}; the rows of "
                        f"source_name {job.source_name!r} are one source with one {column}: give them "
                        "the same value or use another source_name for this table"
                    ),
                )
            )
        elif earlier is not None:
            same = (
                ""
                if earlier.table_name == job.table_name
                else (f" (both load warehouse table {asset_table_name(job.table_name)!r})")
            )
            problems.append(
                Problem(
                    number,
                    "table_name",
                    (
                        f"{job.table_name!r} is loaded by row {earlier.row.number} of source "
                        f"{job.source_name!r} too{same}; list each table once per source_name"
                    ),
                )
            )
        else:
            tables[asset_table_name(job.table_name)] = job
            kept.append(job)
    return kept, problems


_SOURCE_SETTINGS: dict[str, tuple[str, bool]] = {
    "target_container": ("container", False),
    "target_folder_path": ("folder_path", False),
    "destination": ("destination", True),
    "schedule": ("schedule", True),
}
"""Row columns that are settings of the whole source: column -> (`Job` attribute, whether a
blank cell leaves the setting to the other rows). Rows of one source must agree on them."""


@dataclass(frozen=True)
class _Setting:
    setting: Any
    row: int


def _source_setting(column: str, job: Job, group: list[Job]) -> tuple[Any, _Setting]:
    """`job`'s value of source setting `column`, and the first earlier row's value it is
    compared with (the first row of the group, or for a blank-tolerant setting the first row
    that sets it)."""
    attribute, blank_ok = _SOURCE_SETTINGS[column]
    value = getattr(job, attribute)
    for other in group:
        if other is job:
            break
        if blank_ok and getattr(other, attribute) is None:
            continue
        return value, _Setting(getattr(other, attribute), other.row.number)
    return value, _Setting(value, job.row.number)


def _shown(value: Any) -> str:
    """A cell value in a message: quoted, or `(blank)`."""
    return "(blank)" if value is None else repr(value)


def _disagreeing_column(job: Job, group: list[Job]) -> str | None:
    """The first source-setting column whose value in `job` differs from an earlier row's."""
    for column, (attribute, blank_ok) in _SOURCE_SETTINGS.items():
        if blank_ok and getattr(job, attribute) is None:
            continue
        value, other = _source_setting(column, job, group)
        if value != other.setting:
            return column
    return None


def watermark_value(value: Any) -> Any:
    """A `last_watermark` cell as an incremental `initial_value`, read as YAML would read it.

    Numbers and date/time cells are taken as they are (a date cell is a timestamp at midnight,
    without time zone). Text that YAML reads as a number, date or timestamp becomes one
    (`2024-01-01T00:00:00Z` is a UTC timestamp, `2024-01-01` a date, `42` an integer); any other
    text stays text. Blank is None: load everything.
    """
    if not isinstance(value, str):
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, (int, float, date, datetime)) and not isinstance(parsed, bool):
        return parsed
    return value
