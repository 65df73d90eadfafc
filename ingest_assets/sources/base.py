"""The interface every source type implements, and what one run's extraction reports.

A source type is one package under `ingest_assets/sources/<type>/` that exposes a `SourceType`
instance: its config model (the `type:` of a source in sources.yml), `build` (a fresh dlt source
for one run, with the `ExtractReport` its extraction fills), its listing (what it has now, per
table: what the file sensor and `ingest validate` look at) and the hooks the source-agnostic load
step (`ingest_assets.dlt.load`) calls. `ingest_assets.sources.registry` lists the types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ingest_assets.config.common import SourceBase
from ingest_assets.settings import ProjectPaths

if TYPE_CHECKING:
    from dlt.extract.source import DltSource


@dataclass(frozen=True)
class FileProblem:
    """A file (or other item) that matched a table's selection but could not be read or loaded.

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
class ExtractReport:
    """What one run's extraction of a source reports to the load step, filled while dlt extracts.

    Each build of a source makes its own report (no state is shared between runs); the load
    step reads it after `pipeline.extract`.

    Attributes:
        unreadable: items that could not be read; the other items still load, and the run
            reports these and fails afterwards (a `replace` table with one is not replaced).
        table_metadata: per table, metadata the type adds to the table's materialization
            (e.g. a filesystem table's `files_matched`), as plain values or `MetadataValue`s.
        warnings: per table, a warning the load step logs (e.g. a glob that matched no file).
    """

    unreadable: list[FileProblem] = field(default_factory=list)
    table_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    def unreadable_of(self, table: str) -> list[FileProblem]:
        """The unreadable items of `table`."""
        return [p for p in self.unreadable if p.table == table]


@dataclass
class Extract:
    """A fresh dlt source for one run, with the report its extraction fills.

    Attributes:
        dlt_source: the dlt source; spent after one extract.
        report: filled while `dlt_source` is extracted (see `ExtractReport`).
        source_type: the type that built it: the load step calls its hooks.
        config: the config it was built from (for the lake projection, the lake's own
            `filesystem` config, not the sources.yml source).
    """

    dlt_source: DltSource
    report: ExtractReport
    source_type: SourceType
    config: SourceBase


class SourceType:
    """One source type: its config model, its dlt source builder, its listing and the load
    step's hooks. Subclasses set `name` and `config_model` and implement `build`; the hooks'
    defaults suit a type whose position is dlt's incremental cursor and that reads no files.
    """

    name: ClassVar[str]
    """The `type:` value in sources.yml."""
    config_model: ClassVar[type[SourceBase]]
    """The pydantic model of a source of this type (its `type` field a `Literal` of `name`)."""

    def build(
        self,
        config: SourceBase,
        paths: ProjectPaths,
        selected: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Extract:
        """A fresh dlt source for one run of `config`, with an empty report its extraction fills.

        Args:
            config: a validated config of this type.
            paths: the project's paths.
            selected: `{table: {item: fingerprint}}` a sensor saw settled (types with a listing):
                only those items are loaded; None loads everything new.

        Raises:
            Exception: the type's own errors when the source cannot be built (a module that
                cannot be imported, a missing secret); their messages name the source.
        """
        raise NotImplementedError

    def listing(self, config: SourceBase, paths: ProjectPaths) -> dict[str, dict[str, str]] | None:
        """What the source holds now, `{table: {item: fingerprint}}` (the file sensor's view);
        None for types that cannot be listed without extracting (databases, APIs)."""
        return None

    def cursor(self, resource_state: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
        """A table's position from its dlt resource state: `(text for the ledger and metadata,
        {item: fingerprint} of the items loaded so far)`. Default: dlt's incremental cursors."""
        incremental = resource_state.get("incremental", {})
        values = [f"{path}={state.get('last_value')}" for path, state in incremental.items()]
        return ", ".join(values) or None, {}

    def refused_items(
        self,
        config: SourceBase,
        paths: ProjectPaths,
        warehouse: Path,
        dataset: str,
        table: str,
        candidates: list[str],
    ) -> list[FileProblem]:
        """The items among `candidates` (item names of `table` new in the failed load package)
        whose rows the warehouse table `dataset.table` refused; [] when the type cannot tell."""
        return []

    def set_aside(
        self, config: SourceBase, paths: ProjectPaths, problems: list[FileProblem]
    ) -> Path | None:
        """Move the items of `problems` out of the way (e.g. to a quarantine folder) after a run
        reported them; returns where they went, or None when the type keeps them in place."""
        return None

    def quick_check(self, config: SourceBase, paths: ProjectPaths) -> list[str]:
        """What `ingest validate` (without `--build`) checks beyond the config model, importing
        neither the type's heavy libraries (dlt, sqlalchemy) nor the user's modules: one
        problem per message (starting `source '<name>': `, naming the field). Default: none."""
        return []

    def check(self, config: SourceBase, paths: ProjectPaths) -> list[str]:
        """What `ingest validate --build` checks: build the source, and return one message per
        secret it needs that is set nowhere (found secrets are resolved in memory and dropped).

        Raises:
            Exception: the type's errors when the source cannot be built.
        """
        self.build(config, paths)
        return []
