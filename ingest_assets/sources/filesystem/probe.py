"""Which file of a failed load package made the warehouse refuse it.

When a load job of a filesystem table fails terminally (DuckDB cannot cast a value of the
package's parquet file to the table's column type, for instance), dlt names the job, not the
files whose rows it holds. `unloadable_files` converts each candidate file again and inserts
it into an empty copy of the warehouse table, in a private in-memory DuckDB: the files that
fail there are the ones to name, and to move to `quarantine_dir`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
from dlt.common.storages.fsspec_filesystem import FileItemDict

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import FileProblem
from ingest_assets.sources.filesystem.config import FilesystemSourceConfig
from ingest_assets.sources.filesystem.listing import bucket_url_of, list_files, source_filesystem
from ingest_assets.sources.filesystem.options import FileReadError
from ingest_assets.sources.filesystem.readers import write_load_file


def unloadable_files(
    source: FilesystemSourceConfig,
    paths: ProjectPaths,
    warehouse: Path,
    dataset: str,
    table: str,
    candidates: Iterable[str],
) -> list[FileProblem]:
    """The files among `candidates` whose rows the warehouse table `dataset.table` refuses.

    Args:
        source: the filesystem source whose load job failed.
        paths: project paths (relative bucket folders).
        warehouse: the DuckDB warehouse file, opened read-only.
        dataset: the table's schema in the warehouse, `raw_<source>`.
        table: the table whose load job failed.
        candidates: relative paths of the table's files in the failed package.

    Returns:
        One `FileProblem` per refused file, with DuckDB's message; [] when none is refused
        alone (the failure had another cause), or the table does not exist.
    """
    wanted = set(candidates)
    config = next((t for t in source.filesystem.tables if t.name == table), None)
    if config is None or not wanted:
        return []
    files = [f for f in list_files(source, paths, config) if f["relative_path"] in wanted]
    filesystem_ = source_filesystem(source.name, bucket_url_of(source, paths))
    problems: list[FileProblem] = []
    with duckdb.connect() as conn, tempfile.TemporaryDirectory(prefix="ingest_probe_") as work:
        conn.execute(f"ATTACH '{_literal(str(warehouse))}' AS wh (READ_ONLY)")
        try:
            conn.execute(
                f"CREATE TEMP TABLE probe AS SELECT * FROM wh.{_quote(dataset)}.{_quote(table)} LIMIT 0"
            )
        except duckdb.CatalogException:
            return []
        columns = {row[0] for row in conn.execute("DESCRIBE probe").fetchall()}
        for file in files:
            item = FileItemDict(file, filesystem_)
            target = Path(work) / "probe.parquet"
            try:
                write_load_file(item, config.format, target, None)
                names = [c for c in conn.read_parquet(str(target)).columns if c in columns]
                if not names:
                    continue
                listed = ", ".join(_quote(c) for c in names)
                conn.execute(
                    f"INSERT INTO probe ({listed}) SELECT {listed} FROM read_parquet('{_literal(str(target))}')"
                )
                conn.execute("DELETE FROM probe")
            except (duckdb.Error, FileReadError) as error:
                problems.append(
                    FileProblem(
                        table,
                        file["relative_path"],
                        file["file_url"],
                        f"cannot load into {dataset}.{table}: {_first_part(error)}",
                    )
                )
    return problems


def _first_part(error: Exception) -> str:
    """DuckDB's message without the SQL excerpt it appends (`LINE 1: ...`)."""
    return str(error).split("\n\nLINE ")[0].strip()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return text.replace("'", "''")
