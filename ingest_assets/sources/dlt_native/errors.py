"""Errors of the `dlt_native` source type."""

from __future__ import annotations

from ingest_assets.errors import IngestError


class SourceImportError(IngestError):
    """The configured module or function cannot be imported or does not build a dlt source."""


class MissingConfigError(IngestError):
    """An argument of the source function (a secret or a setting) is set nowhere dlt looks; the
    message names the source, the key, where to add it and where else it was looked up."""
