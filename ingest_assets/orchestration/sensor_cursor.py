"""The file-arrival sensor's cursor: what it remembers between ticks, as JSON.

Layout (see `ingest_assets.orchestration.sensors` for what each section means):

    {"v": 1, "pending": {table: {path: fingerprint}}, "requested": {...}, "since": {...},
     "requests": {run_key: attempt}, "failed": {table: {path: [fingerprint, attempt, retry_at]}}}

Pure: no Dagster, no file system.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

CURSOR_VERSION = 1
"""Version of the cursor layout; a cursor of another version is discarded (files settle again).
(`since`, `requests` and `failed` were added as optional sections: older cursors read as is.)"""

FileMap = dict[str, dict[str, str]]
"""`{table: {relative_path: fingerprint}}`, the shape of `LoadConfig.files`."""


@dataclass
@dataclass
class FileSensorCursor:
    """The sensor's memory between ticks: only files not loaded yet (see the module docstring).

    Attributes:
        pending: `{table: {relative_path: fingerprint}}` of the unloaded files the last tick saw
            and did not request (settling, incomplete, or waiting for their marker).
        requested: `{table: {relative_path: fingerprint}}` of the files already requested whose
            load the dlt state does not show yet.
        since: `{table: {relative_path: UNIX seconds}}`: when a pending file was first seen with
            its fingerprint (kept only with a settle time).
        requests: `{run_key: attempt}` of the requests whose runs have not been seen ending.
        failed: `{table: {relative_path: [fingerprint, attempt, retry_at]}}` of files whose run
            ended without loading them; `retry_at` (UNIX seconds) is when they are requested
            again, None after the last attempt (they wait until they change).
    """

    pending: FileMap = field(default_factory=dict)
    requested: FileMap = field(default_factory=dict)
    since: dict[str, dict[str, float]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    failed: dict[str, dict[str, list]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> FileSensorCursor:
        """Read a cursor written by `dumps`; None, malformed JSON or another version give an
        empty cursor (every unloaded file then settles again)."""
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            return cls()
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
            return cls()
        since = data.get("since") if isinstance(data.get("since"), dict) else {}
        requests = data.get("requests") if isinstance(data.get("requests"), dict) else {}
        failed = data.get("failed") if isinstance(data.get("failed"), dict) else {}
        return cls(
            pending=_file_map(data.get("pending")),
            requested=_file_map(data.get("requested")),
            since={
                str(t): {str(p): float(v) for p, v in files.items() if isinstance(v, (int, float))}
                for t, files in since.items()
                if isinstance(files, dict)
            },
            requests={str(k): int(v) for k, v in requests.items() if isinstance(v, int)},
            failed={
                str(t): {
                    str(p): list(v) for p, v in files.items() if isinstance(v, list) and len(v) == 3
                }
                for t, files in failed.items()
                if isinstance(files, dict)
            },
        )

    def dumps(self) -> str:
        """Compact, key-sorted JSON (the same state always gives the same string); the optional
        sections only when not empty."""
        data: dict = {"v": CURSOR_VERSION, "pending": self.pending, "requested": self.requested}
        for name in ("since", "requests", "failed"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _file_map(value: object) -> FileMap:
    """A `{table: {path: fingerprint}}` read from JSON, keeping only well-formed entries."""
    if not isinstance(value, dict):
        return {}
    return {
        str(table): {str(path): fp for path, fp in files.items() if isinstance(fp, str)}
        for table, files in value.items()
        if isinstance(files, dict)
    }
