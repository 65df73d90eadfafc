"""Run config of a source's load step (op `load_<source>`), set in the launchpad, by a sensor or the CLI."""

from dagster import Config
from pydantic import Field

from ingest_assets import names


class LoadConfig(Config):
    """Per-run choices for loading one source.

    Attributes:
        full_refresh: drop the source's tables and dlt state (cursors, loaded-file records) and
            load everything again from scratch.
        files: filesystem sources only: `{table: {relative_path: fingerprint}}` of the files to
            load, as a file-arrival sensor saw them settled; a file that changed since is left
            for a later run. None loads every matching file not loaded yet.
        rewind_to: a dlt load id: before loading, undo every later load of the source (rows
            and dlt state, see `ingest_assets.dlt.rewind`), so this run loads that data again.
    """

    full_refresh: bool = False
    files: dict[str, dict[str, str]] | None = Field(default=None)
    rewind_to: str | None = Field(default=None)


load_op_name = names.load_op_name
"""The op (step) name of a source's `@dlt_assets`: `load_<source>` (spelled in `ingest_assets.names`)."""


def load_run_config(source_name: str, config: LoadConfig) -> dict:
    """Run config that passes `config` to the load step of `source_name`."""
    return {"ops": {load_op_name(source_name): {"config": config.model_dump(exclude_none=True)}}}
