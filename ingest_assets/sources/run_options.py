"""What one run asks of a source beyond its config, and what the source reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileProblem:
    """A file that matched a table's glob but could not be read.

    Attributes:
        table: the table the file was meant for.
        relative_path: the file, relative to the source's `bucket_url`.
        file_url: the file's full URL (`file:///...`, `s3://...`).
        error: the reader's message, with the line or offset where it has one.
        line: the line (csv, jsonl; the header is line 1) or row (parquet, JSON array; from 1)
            where the reader stopped, when it knows; None otherwise.
        column: the column whose value did not fit, when known.
    """

    table: str
    relative_path: str
    file_url: str
    error: str
    line: int | None = None
    column: str | None = None


@dataclass
class RunOptions:
    """Per-run inputs and outputs of `build_dlt_source`, shared by every source type.

    Attributes:
        selected_files: filesystem sources only: `{table: {relative_path: fingerprint}}` of the
            files a sensor saw settled. Only those files are loaded, and only if unchanged since.
            None loads every matching file not loaded yet.
        file_problems: filled during extraction with the files that could not be read; the
            other files still load, and the run reports these and fails afterwards.
        files_matched: filled during extraction: `{table: number of files its glob matched}`
            (all matching files, loaded before or not), for every filesystem table extracted;
            0 means the glob found nothing, which the run reports.
        window: a partitioned run's window (`ingest_assets.partitions.PartitionWindow`); a
            filesystem source then loads exactly the files in it, each file's rows tagged with
            its partition. None for a source without partitions.
    """

    selected_files: dict[str, dict[str, str]] | None = None
    file_problems: list[FileProblem] = field(default_factory=list)
    files_matched: dict[str, int] = field(default_factory=dict)
    window: Any = None
