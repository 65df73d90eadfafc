"""Time partitions of a source: their config, their Dagster definitions and the window of a run.

A source with `partitions:` in sources.yml gets a time-window partitions definition (daily,
hourly or monthly, in the project's `timezone`) on its assets, its job and its schedule, and a
backfill policy (one run for a whole range, or one run per partition). A run of a partition (or
of a range of partitions, in a single-run backfill) loads exactly its window:

- SQL and REST tables: the window becomes the dlt incremental's `initial_value` / `end_value` on
  the table's cursor (`[start, end)`: `range_start="closed"`, `range_end="open"`); dlt keeps no
  cursor state for such a bounded load;
- file tables: the window selects the files whose date (from a `{date:<strftime>}` placeholder in
  `file_glob`, else their modification time) falls in it.

Every row gets the column `_partition` (the key of the partition it belongs to, e.g.
`2024-01-03`) and is written with dlt's `merge` disposition, strategy `delete-insert`, merge key
`_partition`: in one transaction dlt deletes the rows of every partition the load brings rows
for and inserts the new ones. After the load, rows of the window's partitions that this load did
not write (a partition the source now has no rows for) are deleted (`remove_stale_rows`). So a
partition materialized again replaces exactly its own rows; a rerun never duplicates them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

PARTITION_COLUMN = "_partition"
"""Column every row of a partitioned table carries: the key of its partition (`2024-01-03`,
`2024-01-03-14:00`, `2024-01-01`); the merge key of the partition's replacement."""

PartitionType = Literal["daily", "hourly", "monthly"]

_FORMATS: dict[str, str] = {"daily": "%Y-%m-%d", "hourly": "%Y-%m-%d-%H:%M", "monthly": "%Y-%m-%d"}
"""Dagster's partition key format of each type (keys of monthly partitions are their first day)."""

if TYPE_CHECKING:  # Dagster is imported where it is used: sources.yml's models need none of it
    from dagster import AssetExecutionContext, BackfillPolicy, TimeWindowPartitionsDefinition

_DEFINITIONS = {
    "daily": "DailyPartitionsDefinition",
    "hourly": "HourlyPartitionsDefinition",
    "monthly": "MonthlyPartitionsDefinition",
}
"""The Dagster class (by name) of each partition type."""


class PartitionError(ValueError):
    """A partitioned run that cannot go ahead (no partition named, a full refresh); the message
    says what to do."""


class PartitionsConfig(BaseModel):
    """A source's `partitions:` block.

    Attributes:
        type: `daily`, `hourly` or `monthly`.
        start: the first partition's start, `YYYY-MM-DD` (or `YYYY-MM-DD HH:MM` for hourly).
        end: optional end (exclusive) in the same form; default: partitions up to now.
        timezone: IANA time zone the partitions are cut in; default the top-level `timezone`
            (filled in by `ProjectConfig`).
        backfill: `single_run` (default): a range of partitions launched from the UI runs as
            one run, whose window covers the whole range; `per_partition`: one run each.
    """

    model_config = ConfigDict(extra="forbid")

    type: PartitionType
    start: datetime
    end: datetime | None = None
    timezone: str | None = None
    backfill: Literal["single_run", "per_partition"] = "single_run"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date_or_time(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip())
            except ValueError as error:
                raise ValueError(
                    f"{value!r} is not a date; write YYYY-MM-DD (or YYYY-MM-DD HH:MM)"
                ) from error
        return value

    @field_validator("start", "end")
    @classmethod
    def _naive(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("write the time without a time zone; partitions are cut in `timezone`")
        return value

    @model_validator(mode="after")
    def _end_after_start(self) -> PartitionsConfig:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    @property
    def key_format(self) -> str:
        """Dagster's strftime format of this type's partition keys."""
        return _FORMATS[self.type]


def source_problem(source: Any) -> str | None:
    """What keeps `source` (a source config with `partitions:`) from being partitioned, or None.

    A partitioned source loads the warehouse (not a lake), is of type `sql_database`,
    `rest_api` or `filesystem`, lists its SQL tables (not `"*"`), and has no `replace` table
    (a window's load replaces that window's rows, never the whole table).
    """
    if source.destination != "warehouse":
        return "partitions need destination: warehouse (a lake keeps every load as history)"
    if source.type not in ("sql_database", "rest_api", "filesystem"):
        return (
            f"partitions work with sql_database, rest_api and filesystem sources, not {source.type}"
        )
    if source.type == "sql_database" and source.sql_database.all_tables:
        return (
            'partitions need the tables listed, each with an incremental cursor (not tables: "*")'
        )
    for table, options in source.table_options().items():
        if options.write_disposition == "replace":
            return (
                f"table '{table}': write_disposition 'replace' cannot be partitioned (each run replaces "
                "its window's rows); remove it or the partitions"
            )
        if source.type == "sql_database" and options.incremental is None:
            return (
                f"table '{table}': a partitioned source needs "
                "`incremental: {cursor: <timestamp column>}` on every table"
            )
    return None


def partitions_def(config: PartitionsConfig | None) -> TimeWindowPartitionsDefinition | None:
    """The Dagster partitions definition of a source's `partitions:` block, or None without one."""
    if config is None:
        return None
    kwargs: dict[str, Any] = {"start_date": config.start, "timezone": config.timezone or "UTC"}
    if config.end is not None:
        kwargs["end_date"] = config.end
    import dagster

    return getattr(dagster, _DEFINITIONS[config.type])(**kwargs)


def backfill_policy(config: PartitionsConfig | None) -> BackfillPolicy | None:
    """`BackfillPolicy.single_run()` or `multi_run(1)` (one run per partition), per `backfill:`."""
    if config is None:
        return None
    from dagster import BackfillPolicy

    return (
        BackfillPolicy.single_run()
        if config.backfill == "single_run"
        else BackfillPolicy.multi_run(1)
    )


@dataclass(frozen=True)
class PartitionWindow:
    """The time window one run loads: `[start, end)`, the partitions it covers, and how a value
    is assigned to its partition.

    Attributes:
        start: the first partition's start, time-zone aware.
        end: the last partition's end (exclusive), time-zone aware.
        keys: the partition keys of the window, in order.
        config: the source's `partitions:` block (type, time zone).
    """

    start: datetime
    end: datetime
    keys: tuple[str, ...]
    config: PartitionsConfig

    @property
    def zone(self) -> ZoneInfo:
        """The partitions' time zone."""
        return ZoneInfo(self.config.timezone or "UTC")

    def key_of(self, value: Any) -> str | None:
        """The key of the partition `value` (a datetime, date or ISO 8601 text; a naive time is
        read in the partitions' time zone) falls in, or None for None."""
        moment = _as_datetime(value, self.zone)
        if moment is None:
            return None
        if self.config.type == "hourly":
            moment = moment.replace(minute=0, second=0, microsecond=0)
        elif self.config.type == "monthly":
            moment = moment.replace(day=1)
        return moment.strftime(self.config.key_format)

    def contains(self, value: Any) -> bool:
        """True when `value` (as in `key_of`) is in `[start, end)`."""
        moment = _as_datetime(value, self.zone)
        return moment is not None and self.start <= moment < self.end

    def cursor_bounds(self, sample: Any = None) -> tuple[Any, Any]:
        """`(initial_value, end_value)` of the dlt incremental: the window as time-zone aware
        datetimes, or as ISO 8601 text when the cursor's configured `initial_value` (`sample`)
        is text (REST APIs compare text cursors), in UTC with a `Z` when it ends with one."""
        if isinstance(sample, str):
            if sample.endswith("Z"):
                utc = ZoneInfo("UTC")
                return tuple(
                    t.astimezone(utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in (self.start, self.end)
                )
            return self.start.isoformat(), self.end.isoformat()
        return self.start, self.end

    def describe(self) -> str:
        """`2024-01-01` or `2024-01-01...2024-01-05`, for messages."""
        return self.keys[0] if len(self.keys) == 1 else f"{self.keys[0]}...{self.keys[-1]}"


def run_window(
    context: AssetExecutionContext, config: PartitionsConfig | None
) -> PartitionWindow | None:
    """The window of the run's partition or partition range, or None for a source without
    partitions.

    Raises:
        PartitionError: the source is partitioned but the run targets no partition (a run must
            name a partition or a range: the UI's partition picker, a backfill, a schedule or
            `ingest backfill`).
    """
    if config is None:
        return None
    if not (context.has_partition_key or context.has_partition_key_range):
        raise PartitionError(
            "the source is partitioned: run a partition or a range of partitions (the UI's "
            "partition picker, a backfill, its schedule, or `ingest backfill <source> --from ... --to ...`)"
        )
    window = context.partition_time_window
    keys = tuple(context.partition_keys)
    return PartitionWindow(start=window.start, end=window.end, keys=keys, config=config)


def window_of_keys(config: PartitionsConfig, keys: Sequence[str]) -> PartitionWindow:
    """The window covering partition `keys` (consecutive, in order) of `config`."""
    definition = partitions_def(config)
    assert definition is not None
    first = definition.time_window_for_partition_key(keys[0])
    last = definition.time_window_for_partition_key(keys[-1])
    return PartitionWindow(start=first.start, end=last.end, keys=tuple(keys), config=config)


def keys_between(config: PartitionsConfig, first: datetime, last: datetime) -> list[str]:
    """The keys of the partitions from the one containing `first` to the one containing `last`
    (both included; naive times are read in the partitions' time zone).

    Raises:
        ValueError: `last` is before `first`, or no partition of the source lies in the range
            (before `start`, after `end`, or not complete yet).
    """
    if last < first:
        raise ValueError(f"--to {last:%Y-%m-%d} is before --from {first:%Y-%m-%d}")
    definition = partitions_def(config)
    assert definition is not None
    zone = ZoneInfo(config.timezone or "UTC")
    start = _as_datetime(first, zone)
    end = _as_datetime(last, zone)
    keys = [
        key
        for key in definition.get_partition_keys()
        if _overlaps(definition.time_window_for_partition_key(key), start, end)
    ]
    if not keys:
        raise ValueError(
            f"no partition between {first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M}: the source's "
            f"partitions start {config.start:%Y-%m-%d %H:%M}"
            + (f", end {config.end:%Y-%m-%d %H:%M}" if config.end else "")
            + " and end with the last complete one"
        )
    return keys


def backfill_tags(keys: Sequence[str], per_partition: bool) -> list[dict[str, str]]:
    """The tags of the runs of a backfill of `keys` (consecutive, in order): one run with
    Dagster's partition range tags (`dagster/asset_partition_range_start` / `_end`), or one run
    per partition (`dagster/partition`)."""
    if per_partition or len(keys) == 1:
        return [{"dagster/partition": key} for key in keys]
    return [
        {
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        }
    ]


def _overlaps(window: Any, start: datetime, end: datetime) -> bool:
    return window.start <= end and window.end > start


def _as_datetime(value: Any, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    elif hasattr(value, "to_pydatetime"):  # pandas / numpy timestamps
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a date or time")
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


# ---- rows: tag each with its partition -------------------------------------------------------


def with_partition_column(
    item: Any, keys: Callable[[list[Any]], list[str | None]] | str, cursor: str | None = None
) -> Any:
    """Return `item` (a dict, a list of dicts, an Arrow table or record batch, a pandas frame)
    with the `_partition` column: `keys` is one key for every row (a file's partition), or a
    function from the cursor column's values to keys."""
    import pyarrow as pa

    def values(rows: list[Any]) -> list[str | None]:
        return [keys] * len(rows) if isinstance(keys, str) else keys(rows)

    if isinstance(item, dict):
        item[PARTITION_COLUMN] = values([_cursor_value(item, cursor)])[0]
        return item
    if isinstance(item, list):
        tagged = values([_cursor_value(row, cursor) for row in item])
        for row, key in zip(item, tagged):
            row[PARTITION_COLUMN] = key
        return item
    if isinstance(item, (pa.Table, pa.RecordBatch)):
        cursor_values = item.column(cursor).to_pylist() if cursor else [None] * item.num_rows
        kept = [i for i, name in enumerate(item.schema.names) if name != PARTITION_COLUMN]
        arrays = [item.column(i) for i in kept] + [
            pa.array(values(cursor_values), type=pa.string())
        ]
        schema = pa.schema(
            [item.schema.field(i) for i in kept] + [pa.field(PARTITION_COLUMN, pa.string())],
            metadata=item.schema.metadata,
        )
        if isinstance(item, pa.RecordBatch):
            return pa.RecordBatch.from_arrays(arrays, schema=schema)
        return pa.Table.from_arrays(arrays, schema=schema)
    if hasattr(item, "assign") and cursor:  # pandas DataFrame
        return item.assign(**{PARTITION_COLUMN: values(list(item[cursor]))})
    return item


def _cursor_value(row: Any, cursor: str | None) -> Any:
    if cursor is None or not isinstance(row, dict):
        return None
    if cursor in row:
        return row[cursor]
    from dlt.common.jsonpath import find_values

    found = find_values(cursor, row)
    return found[0] if found else None


def apply_window(
    dlt_source: Any, window: PartitionWindow, cursors: dict[str, str], bounded: bool = False
) -> Any:
    """Bound the incremental cursor of each selected resource of `dlt_source` to `window`, tag
    its rows with `_partition` and write them with `merge` / `delete-insert` on `_partition`.

    Args:
        dlt_source: a fresh dlt source (SQL or REST), narrowed to the tables to load.
        window: the run's window.
        cursors: `{table: cursor column or JSON path}`.
        bounded: the source was built with the window as its incremental's bounds already
            (REST: `window_rest_config`); only tag and merge.

    Raises:
        ValueError: a resource has no cursor (naming the table and what to add).
    """
    import dlt

    for name, resource in dlt_source.selected_resources.items():
        cursor = cursors.get(name)
        if not cursor:
            raise ValueError(
                f"table '{name}': a partitioned source needs an incremental cursor on every table "
                "(add `incremental: {cursor: <timestamp column>}`, or a REST endpoint's `incremental`)"
            )
        hints: dict[str, Any] = {}
        if not bounded:
            start, end = window.cursor_bounds()
            hints["incremental"] = dlt.sources.incremental(
                cursor, initial_value=start, end_value=end, range_start="closed", range_end="open"
            )
        resource.apply_hints(**hints, **merge_hints())
        resource.add_map(_tagger(window, cursor))
    return dlt_source


def window_rest_config(config: dict[str, Any], window: PartitionWindow) -> dict[str, str]:
    """Set `window` as the incremental bounds of every endpoint of a dlt `RESTAPIConfig` dict
    (`initial_value`, `end_value`; `[start, end)`), turning a `{type: incremental}` query
    parameter into the endpoint's `incremental` (with `start_param`), so the API is asked for the
    window (`start_param`, and `end_param` when configured) and dlt keeps only its rows.

    Bounds are text when the configured `initial_value` is text (`cursor_bounds`).

    Returns:
        `{resource name: cursor path}` of the resources with an incremental.
    """
    cursors: dict[str, str] = {}
    defaults = config.get("resource_defaults") or {}
    default_endpoint = (
        defaults.get("endpoint") if isinstance(defaults.get("endpoint"), dict) else {}
    )
    for resource in config.get("resources", []):
        if not isinstance(resource, dict):
            continue
        endpoint = resource.setdefault("endpoint", {})
        if not isinstance(endpoint, dict):
            endpoint = resource["endpoint"] = {"path": endpoint}
        incremental = dict(endpoint.get("incremental") or default_endpoint.get("incremental") or {})
        params = endpoint.get("params") or {}
        for name, value in list(params.items()):
            if isinstance(value, dict) and value.get("type") == "incremental":
                incremental = {
                    "start_param": name,
                    **{k: v for k, v in value.items() if k != "type"},
                    **incremental,
                }
                del params[name]
        if not incremental.get("cursor_path"):
            continue
        start, end = window.cursor_bounds(incremental.get("initial_value"))
        incremental.update(
            initial_value=start, end_value=end, range_start="closed", range_end="open"
        )
        endpoint["incremental"] = incremental
        cursors[resource["name"]] = incremental["cursor_path"]
    return cursors


class OutsideWindowError(ValueError):
    """A row's cursor value falls in a partition outside the run's window."""


def _tagger(window: PartitionWindow, cursor: str) -> Callable[[Any], Any]:
    """The map tagging each row with its partition. A row whose partition is not one of the
    window's fails the run: its merge would replace that other partition's rows with it alone.
    (It happens when the source compares a naive cursor in another time zone than the
    partitions': a database session not in the partitions' `timezone`.)"""
    allowed = set(window.keys)

    def keys(values: list[Any]) -> list[str | None]:
        found = [window.key_of(value) for value in values]
        for value, key in zip(values, found):
            if key not in allowed:
                raise OutsideWindowError(
                    f"cursor '{cursor}' value {value!r} belongs to partition {key}, outside this run's "
                    f"window {window.describe()} ({window.start.isoformat()} to {window.end.isoformat()}); "
                    "a time without a time zone is read in the partitions' timezone "
                    f"({window.config.timezone}): make it the database's session time zone, or use a "
                    "cursor with a time zone"
                )
        return found

    return lambda item: with_partition_column(item, keys, cursor)


def merge_hints() -> dict[str, Any]:
    """`apply_hints` arguments of a partitioned file table: merge on `_partition`."""
    return {
        "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
        "merge_key": PARTITION_COLUMN,
    }


def remove_stale_rows(
    pipeline: Any, tables: Iterable[str], window: PartitionWindow, load_ids: Sequence[str]
) -> dict[str, int]:
    """Delete the rows of `window`'s partitions that the run's loads `load_ids` did not write,
    from each of `tables` that has the `_partition` column: what is left of a partition the
    source now has no rows for (partitions it has rows for were replaced by the merge).

    Returns:
        `{table: rows deleted}` for the tables that had any.
    """
    removed: dict[str, int] = {}
    schema = pipeline.default_schema
    with pipeline.sql_client() as client:
        for table in tables:
            columns = schema.get_table_columns(table) if table in schema.tables else {}
            if PARTITION_COLUMN not in columns or "_dlt_load_id" not in columns:
                continue  # nothing partitioned loaded yet, or rows carry no load id to tell them apart
            name = client.make_qualified_table_name(table)
            keys = ", ".join("%s" for _ in window.keys)
            condition = f"{PARTITION_COLUMN} IN ({keys})"
            parameters: list[Any] = list(window.keys)
            if load_ids:
                condition += f" AND _dlt_load_id NOT IN ({', '.join('%s' for _ in load_ids)})"
                parameters += list(load_ids)
            rows = client.execute_sql(f"SELECT count(*) FROM {name} WHERE {condition}", *parameters)
            count = rows[0][0] if rows else 0
            if count:
                client.execute_sql(f"DELETE FROM {name} WHERE {condition}", *parameters)
                removed[table] = count
    return removed


# ---- files: select by the date in their path or their modification time ----------------------

_PLACEHOLDER = re.compile(r"\{date:([^}]+)\}")
_STRFTIME_PATTERNS = {
    "%Y": r"\d{4}",
    "%m": r"\d{2}",
    "%d": r"\d{2}",
    "%H": r"\d{2}",
    "%M": r"\d{2}",
    "%S": r"\d{2}",
    "%y": r"\d{2}",
    "%j": r"\d{3}",
    "%%": "%",
}


@dataclass(frozen=True)
class DatePattern:
    """A `{date:<strftime>}` placeholder of a file glob.

    Attributes:
        glob: the glob with the placeholder as `*` (what is listed).
        regex: matches a relative path and captures its date text in group `date`.
        format: the placeholder's strftime format (`%Y-%m-%d`).
    """

    glob: str
    regex: str
    format: str

    def date_of(self, relative_path: str) -> datetime | None:
        """The date in `relative_path`, or None when the path does not hold one."""
        match = re.fullmatch(self.regex, relative_path)
        if not match:
            return None
        try:
            return datetime.strptime(match.group("date"), self.format)
        except ValueError:
            return None


def date_pattern(file_glob: str) -> DatePattern | None:
    """Parse a file glob with one `{date:<strftime>}` placeholder (e.g.
    `orders/{date:%Y-%m-%d}/*.csv`), or None without one.

    Raises:
        ValueError: more than one placeholder, or a strftime code other than %Y %m %d %H %M
            %S %y %j.
    """
    found = _PLACEHOLDER.findall(file_glob)
    if not found:
        return None
    if len(found) > 1:
        raise ValueError("use one {date:...} placeholder")
    fmt = found[0]
    date_regex = ""
    for part in re.split(r"(%.)", fmt):
        if part.startswith("%") and len(part) == 2:
            if part not in _STRFTIME_PATTERNS:
                raise ValueError(
                    f"{{date:{fmt}}}: {part} is not supported; use %Y %m %d %H %M %S %y %j"
                )
            date_regex += _STRFTIME_PATTERNS[part]
        else:
            date_regex += re.escape(part)
    before, after = (
        _PLACEHOLDER.split(file_glob, maxsplit=1)[0],
        _PLACEHOLDER.split(file_glob, maxsplit=1)[-1],
    )
    regex = _glob_regex(before) + f"(?P<date>{date_regex})" + _glob_regex(after)
    return DatePattern(glob=_PLACEHOLDER.sub("*", file_glob), regex=regex, format=fmt)


def _glob_regex(glob: str) -> str:
    out = ""
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out += r"(?:.*/)?"
            index += 3
        elif glob.startswith("**", index):
            out += ".*"
            index += 2
        elif glob[index] == "*":
            out += "[^/]*"
            index += 1
        elif glob[index] == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(glob[index])
            index += 1
    return out


def file_partition(
    window: PartitionWindow, pattern: DatePattern | None, file: dict[str, Any]
) -> str | None:
    """The partition key of a listed file (dlt `FileItem`) when it is in `window`, else None:
    by the date in its path with a `pattern`, else by its modification time."""
    by_path = pattern is not None
    moment = pattern.date_of(file["relative_path"]) if by_path else file.get("modification_date")
    if moment is None or not window.contains(moment):
        return None
    return window.key_of(moment)
