"""The `filesystem` source type's config: the `filesystem:` block of a source in sources.yml and its tables."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ingest_assets.config.common import NAME_PATTERN, LoadOptions, SourceBase, StrictModel, repeated
from ingest_assets.sources.filesystem.options import (
    CsvOptions,
    FileFormat,
    JsonOptions,
    ReadSpec,
    canonical_type,
)


class FileTableConfig(LoadOptions):
    """One warehouse table fed by the files matching `file_glob`.

    Attributes:
        name: table name in `raw_<source>` and last part of the asset key.
        file_glob: glob relative to the source's `bucket_url` (`**` recurses), e.g. `orders*.csv`;
            no `..` segment and no absolute path (it must stay inside the source's folder).
        format: `csv`, `jsonl` (one JSON object per line), `json` (a JSON array or objects,
            detected) or `parquet`.
        csv: csv reader options (`CsvOptions`); only with `format: csv`.
        json: JSON reader options (`JsonOptions`); only with `format: jsonl` or `json`.
        columns: `{column: DuckDB type}` (`DOUBLE`, `VARCHAR`, `DATE`, `DECIMAL(12,2)`, ...)
            for columns whose type should not be detected; applies to columns the table does
            not have yet (the table's existing types always win).
        description: shown on the asset in the Dagster UI.
    Load options (`write_disposition`, default `append`; `primary_key`; `incremental`) are
    inherited. With `replace`, every run reloads all matching files.
    """

    name: str = Field(pattern=NAME_PATTERN)
    file_glob: str = Field(min_length=1)
    format: FileFormat
    csv: CsvOptions | None = None
    json_options: JsonOptions | None = Field(default=None, alias="json")
    columns: dict[str, str] | None = None
    description: str | None = None

    @field_validator("file_glob")
    @classmethod
    def _glob_stays_inside(cls, value: str) -> str:
        if problem := _path_escape(value, allow_absolute=False):
            raise ValueError(
                f"file_glob {value!r} {problem}; it is relative to bucket_url and must stay inside it"
            )
        return value

    @field_validator("columns")
    @classmethod
    def _duckdb_types(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {column: canonical_type(type_text) for column, type_text in value.items()}

    @model_validator(mode="after")
    def _options_fit_format(self) -> FileTableConfig:
        if self.csv is not None and self.format != "csv":
            raise ValueError(f"`csv:` options need format: csv, not {self.format}")
        if self.json_options is not None and self.format not in ("jsonl", "json"):
            raise ValueError(f"`json:` options need format: jsonl or json, not {self.format}")
        return self

    def read_spec(self, **table_state: Any) -> ReadSpec:
        """How this table's files are read (see `ReadSpec`); `table_state` adds `existing`,
        `normalize` and `keep_dlt_columns`."""
        return ReadSpec(
            format=self.format,
            csv=self.csv or CsvOptions(),
            json=self.json_options or JsonOptions(),
            columns=self.columns or {},
            **table_state,
        )


class FilesystemBlock(StrictModel):
    """The `filesystem:` block of a source.

    Attributes:
        bucket_url: a folder relative to the project root (without `..`), an absolute path,
            or an fsspec URL (`s3://`, `gs://`, `az://`, ...) whose credentials dlt reads from
            `[sources.<source name>.credentials]` in `.dlt/secrets.toml` or the environment.
            It is "the source's folder": every file read lies under it.
        tables: at least one table; names unique within the source.
        quarantine_dir: optional local folder (relative to the project) that files which cannot
            be read are moved to, so later runs do not trip over them again; without it they
            stay in place, are reported and fail the run until fixed or removed.
    """

    bucket_url: str = Field(min_length=1)
    tables: list[FileTableConfig] = Field(min_length=1)
    quarantine_dir: str | None = None

    @field_validator("bucket_url")
    @classmethod
    def _bucket_stays_put(cls, value: str) -> str:
        if "://" in value:
            path = value.split("://", 1)[1]
            problem = _path_escape(path, allow_absolute=True)
        else:
            problem = _path_escape(value, allow_absolute=True)
        if problem:
            raise ValueError(
                f"bucket_url {value!r} {problem}; write the folder as a path inside the project, "
                "or as an absolute path when it is elsewhere"
            )
        return value

    @field_validator("tables")
    @classmethod
    def _unique_table_names(cls, tables: list[FileTableConfig]) -> list[FileTableConfig]:
        if duplicates := repeated([table.name for table in tables]):
            raise ValueError(f"table names must be unique, repeated: {', '.join(duplicates)}")
        return tables


class FilesystemSourceConfig(SourceBase):
    """A source of `type: filesystem`.

    Attributes:
        sensor: start a run when new or changed files match the tables' globs.
        minimum_interval_seconds: seconds between two sensor ticks.
        settle_seconds: the sensor requests a file only once its size and modification time
            have stayed the same for this long (and at least over two ticks); 0 = two ticks.
        ready_marker: `none`; `success_file`: a file is ready once `_SUCCESS` exists in its
            folder (Spark, Hadoop); `done_file`: once `<file>.done` exists. With a marker the
            sensor does not wait for `settle_seconds` (see `orchestration.sensors`).
    """

    type: Literal["filesystem"]
    filesystem: FilesystemBlock
    sensor: bool = False
    minimum_interval_seconds: int = Field(default=30, ge=1)
    settle_seconds: int = Field(default=60, ge=0)
    ready_marker: Literal["none", "success_file", "done_file"] = "none"

    def table_options(self) -> dict[str, LoadOptions]:
        """The options of every configured table, by table name."""
        return {table.name: table for table in self.filesystem.tables}

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions of the tables that have one, by table name."""
        return {t.name: t.description for t in self.filesystem.tables if t.description}


def _path_escape(path: str, allow_absolute: bool) -> str | None:
    """Why `path` (a local path, glob, or the path of a URL) may leave its folder, or None."""
    if not allow_absolute and (
        path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path) or "://" in path
    ):
        return "is an absolute path"
    if ".." in re.split(r"[/\\]+", path):
        return "has a '..' segment"
    return None
