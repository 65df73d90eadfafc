"""Where a load step writes and reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest_assets.settings import ProjectPaths


@dataclass(frozen=True)
class LoadTarget:
    """Where a load step writes and reports.

    Attributes:
        paths: project paths (where the source type sets unreadable items aside, relative paths).
        warehouse: the DuckDB file holding the load ledger.
        destination: `warehouse`, `lake` or `projection` (lake -> warehouse), for the ledger.
        audit_log: optional JSON-lines file that gets one line per table per run.
    """

    paths: ProjectPaths
    warehouse: Path
    destination: str = "warehouse"
    audit_log: Path | None = None
