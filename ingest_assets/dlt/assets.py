"""The `@dlt_assets` multi-assets of each enabled source: the source's asset group.

A source loading the warehouse has one multi-asset (`load_<source>`). A lake source has one
that writes the lake (`load_<source>`, keys `lake/raw_<source>/<table>`) and, with
`destination: both`, one that projects the lake into the warehouse (`project_<source>`, keys
`raw_<source>/<table>`, downstream of the lake keys).
"""

from collections.abc import Callable, Iterator
from pathlib import Path

from dagster import AssetExecutionContext, AssetsDefinition, Failure, MaterializeResult, multi_asset
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from ingest_assets import partitions
from ingest_assets.config.common import LoadOptions, SourceBase
from ingest_assets.dlt.lake import build_projection_source
from ingest_assets.dlt.load_target import LoadTarget
from ingest_assets.dlt.pipeline import (
    describing_pipeline,
    make_lake_pipeline,
    make_pipeline,
    make_projection_pipeline,
)
from ingest_assets.dlt.run_config import LoadConfig, load_op_name
from ingest_assets.dlt.secrets import remember_run_secrets
from ingest_assets.dlt.translator import RawTableTranslator, raw_table_specs
from ingest_assets.names import DUCKDB_POOL
from ingest_assets.redact import redact
from ingest_assets.settings import ProjectPaths, warehouse_catalog
from ingest_assets.sources.base import Extract
from ingest_assets.sources.dlt_native import (
    DltNativeSourceConfig,
    MissingConfigError,
    SourceImportError,
    describe_dlt_source,
)
from ingest_assets.sources.registry import build_dlt_source, build_extract

"""Concurrency pool of every asset that writes the warehouse (limit 1 in dagster.yaml)."""


def build_source_assets(
    source: SourceBase, paths: ProjectPaths, warehouse: Path, audit_log: Path | None = None
) -> list[AssetsDefinition]:
    """Return the Dagster assets of one source: one asset per dlt resource, in group `<source>`.

    Args:
        source: a validated, enabled source config.
        paths: the project's paths (dlt's pipelines dir lives inside the project).
        warehouse: absolute path of the DuckDB warehouse (and of the load ledger).
        audit_log: optional JSON-lines file every load appends a line per table to.

    The sources built here only describe the assets (`describe_source`: no secret is read).
    Each run builds a fresh source and pipeline, because a dlt source object is spent after one
    extract.
    """
    if not source.writes_lake:
        return [
            _load_assets(
                source,
                load_op_name(source.name),
                lambda files, window=None: build_extract(source, paths, files, window),
                lambda: make_pipeline(source, warehouse, paths.pipelines_dir),
                describe_source(source, paths),
                describing_pipeline("duckdb", paths.pipelines_dir),
                RawTableTranslator(source, database=warehouse_catalog(warehouse)),
                LoadTarget(paths, warehouse, "warehouse", audit_log),
            )
        ]
    described = describe_source(source, paths)
    lake = _load_assets(
        source,
        load_op_name(source.name),
        lambda files, window=None: _in_table_format(
            build_extract(source, paths, files), source.lake.format
        ),
        lambda: make_lake_pipeline(source, paths),
        described,
        describing_pipeline("filesystem", paths.pipelines_dir),
        RawTableTranslator(source, stage="lake"),
        LoadTarget(paths, warehouse, "lake", audit_log),
    )
    if source.destination == "lake":
        return [lake]
    tables = _projection_options(source, described, lake.keys)
    projection = _load_assets(
        source,
        f"project_{source.name}",
        lambda files, window=None: build_projection_source(source, paths, tables),
        lambda: make_projection_pipeline(source, warehouse, paths.pipelines_dir),
        build_projection_source(source, paths, tables).dlt_source,
        describing_pipeline("duckdb", paths.pipelines_dir),
        RawTableTranslator(source, stage="projection", database=warehouse_catalog(warehouse)),
        LoadTarget(paths, warehouse, "projection", audit_log),
    )
    return [lake, projection]


def describe_source(source: SourceBase, paths: ProjectPaths) -> DltSource:
    """A dlt source describing `source`'s assets at definitions load, reading no secret:
    `dlt_native` sources through `describe_dlt_source` (their function would resolve its secrets
    when called); the other types build their source, which reads none until it is extracted."""
    if isinstance(source, DltNativeSourceConfig):
        return describe_dlt_source(source, paths)
    return build_dlt_source(source, paths)


def _projection_options(
    source: SourceBase, dlt_source: DltSource, lake_keys
) -> dict[str, LoadOptions]:
    """How each lake table is projected: its options in sources.yml, else the write disposition
    and primary key the resource declares in code (a `merge` resource stays `merge`)."""
    configured = source.table_options()
    declared: dict[str, LoadOptions] = {}
    for resource in dlt_source.selected_resources.values():
        schema = resource.compute_table_schema()
        disposition = schema.get("write_disposition")
        disposition = disposition if isinstance(disposition, str) else None
        keys = [
            name for name, column in schema.get("columns", {}).items() if column.get("primary_key")
        ]
        if disposition == "merge" and not keys:
            disposition = "append"
        declared[schema["name"]] = LoadOptions(
            write_disposition=disposition, primary_key=keys or None
        )
    tables = {}
    for key in lake_keys:
        table = key.path[-1]
        tables[table] = configured.get(table) or declared.get(table, LoadOptions())
    return tables


def _cursors(source: SourceBase) -> dict[str, str]:
    """`{table: incremental cursor column}` of the tables that set one in sources.yml."""
    return {
        t: o.incremental.cursor
        for t, o in source.table_options().items()
        if o.incremental is not None
    }


def _load_ids(result: MaterializeResult) -> list[str]:
    """The load ids a materialization reports (`dlt_load_id`, comma-separated; none when
    nothing was new)."""
    value = (result.metadata or {}).get("dlt_load_id")
    text = getattr(value, "value", value) or ""
    return [p.strip() for p in str(text).split(",") if p.strip() and not p.startswith("(")]


def _in_table_format(extract: Extract, table_format: str) -> Extract:
    """Ask dlt's filesystem destination for delta tables instead of plain parquet files."""
    if table_format == "delta":
        for resource in extract.dlt_source.resources.values():
            resource.apply_hints(table_format="delta")
    return extract


def _load_assets(
    source: SourceBase,
    op_name: str,
    new_source: Callable[..., Extract],
    new_pipeline: Callable[[], Pipeline],
    described: DltSource,
    described_with: Pipeline,
    translator: RawTableTranslator,
    target: LoadTarget,
) -> AssetsDefinition:
    """The `@dlt_assets` of one stage of `source`: specs from the describing source `described`
    and `described_with` (see `describing_pipeline`); each run builds its own source with
    `new_source` (given the files a sensor selected, or None, and a partitioned run's window)
    and pipeline with `new_pipeline`,
    and loads through `run_load`. A source that
    cannot be built for the run (a missing secret, a resource that does not exist) fails the
    run with its message, redacted."""

    # what `@dlt_assets` does (dagster-dlt's `build_dlt_asset_specs` + `multi_asset`), with specs
    # free of the live dlt objects it attaches as metadata (see `raw_table_specs`)
    @multi_asset(
        specs=raw_table_specs(described, described_with, translator),
        name=op_name,
        can_subset=True,
        pool=DUCKDB_POOL,
        partitions_def=partitions.partitions_def(source.partitions),
        backfill_policy=partitions.backfill_policy(source.partitions),
    )
    def _load(context: AssetExecutionContext, config: LoadConfig) -> Iterator[MaterializeResult]:
        # what a run needs, imported by the run, not by the definitions load
        from ingest_assets.dlt.load import run_load
        from ingest_assets.dlt.rewind import rewind_before_load

        remember_run_secrets(source, fresh=True)  # before anything can fail: secrets.toml, env
        if config.rewind_to:
            rewind_before_load(context, source, config.rewind_to, target)
        pipeline = new_pipeline()
        problem = None
        try:
            window = partitions.run_window(context, source.partitions)
            if window is not None and config.full_refresh:
                raise partitions.PartitionError(
                    "a full refresh of a partitioned source would drop every partition but this "
                    "run's; rerun the partitions instead (each replaces its own rows), e.g. "
                    f"`ingest backfill {source.name} --from ... --to ...`"
                )
            extract = new_source(config.files, window)
        except (MissingConfigError, SourceImportError) as error:
            problem = redact(str(error))
        except partitions.PartitionError as error:
            problem = f"source '{source.name}': {error}"
        except Exception as error:  # noqa: BLE001 - user code: its text may quote a secret
            problem = redact(
                f"source '{source.name}': building the dlt source failed: {type(error).__name__}: {error}"
            )
        if problem is not None:
            raise Failure(description=problem, allow_retries=False)
        remember_run_secrets(source)  # and what dlt resolved as secrets for the source
        dlt_source = extract.dlt_source
        keys_by_resource = {
            resource.name: translator.get_asset_spec(
                DltResourceTranslatorData(resource=resource, pipeline=pipeline)
            ).key
            for resource in dlt_source.selected_resources.values()
        }
        selected = {
            name: key
            for name, key in keys_by_resource.items()
            if key in context.selected_asset_keys
        }
        extracted = list(selected)
        if config.files is not None:
            # a sensor's run names the tables it has files for; extracting the others would
            # replace a `replace` table with nothing (they still report 0 rows loaded)
            extracted = [name for name in selected if name in config.files]
        if context.is_subset or len(extracted) < len(keys_by_resource):
            extract.dlt_source = dlt_source.with_resources(*extracted)
        tables_by_key = {key: key.path[-1] for key in selected.values()}
        if window is None:
            yield from run_load(context, source, extract, tables_by_key, pipeline, config, target)
            return
        if source.type == "sql_database":  # files and REST endpoints take the window when built
            try:
                partitions.apply_window(extract.dlt_source, window, _cursors(source))
            except ValueError as error:
                raise Failure(
                    description=f"source '{source.name}': {error}", allow_retries=False
                ) from None
        load_ids: set[str] = set()
        for result in run_load(context, source, extract, tables_by_key, pipeline, config, target):
            load_ids.update(_load_ids(result))
            yield result
        removed = partitions.remove_stale_rows(
            pipeline, tables_by_key.values(), window, sorted(load_ids)
        )
        for table, count in removed.items():
            context.log.info(
                f"table '{table}': deleted {count} row(s) of partitions {window.describe()} "
                "the source no longer has"
            )

    return _load
