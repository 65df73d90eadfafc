"""Every dbt model as a Dagster asset, built with `dbt build` so tests run as asset checks.

The `dbt` subprocess never outlives its step: whether the step succeeds, fails (a model error,
an event Dagster cannot place), or is cancelled (SIGINT/SIGTERM of the run, a terminated run in
the UI), it is stopped before the step ends, so no orphan `dbt` keeps the DuckDB warehouse
locked for the next run. dagster-dbt's per-invocation target folder
(`target/dbt_models-<run>-<id>`) is removed after the step; its `run_results.json` is kept as
`target/run_results.json` (what `ingest summary` reads).
"""

import contextlib
import functools
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from dagster import AssetExecutionContext, AssetsDefinition, Failure
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from ingest_assets.dbt.selection import plan_dbt_selection
from ingest_assets.dbt.targets import remove_ended_run_targets, running_run_ids
from ingest_assets.dbt.translator import ModelTranslator
from ingest_assets.names import DBT_OP, DUCKDB_POOL

GRACE_SECONDS = 5.0
"""How long a cancelled `dbt` gets to stop after SIGINT (it closes its connections) before it
is killed."""

STALE_TARGET_SECONDS = 24 * 3600
"""Per-invocation target folders left by crashed runs are removed once this old (seconds)."""


def build_dbt_assets(
    project: DbtProject, automation: Any = None, timezone: str = "UTC", pool: str = DUCKDB_POOL
) -> AssetsDefinition:
    """Return one multi-asset over all models of `project`, in the `duckdb` pool (or `pool`).

    Args:
        project: a `DbtProject` whose manifest exists (see `load_dbt_project`).
        automation: sources.yml `automation:` (`dbt.automation.AutomationConfig`) or None: the
            models' automation conditions; `timezone` is the zone of its cron expressions.
        pool: the concurrency pool of the dbt step (`ingest_assets.warehouses.pool.dbt_pool`:
            `duckdb` on a DuckDB file, `dbt` with limit 1 on a server warehouse).

    The run invokes `dbt build` for the selected models; dbt reads the warehouse path from
    `INGEST_WAREHOUSE_PATH`, which `settings.export_runtime_environment` sets for the subprocess.
    """

    @dbt_assets(
        manifest=read_manifest(project.manifest_path),
        project=project,
        dagster_dbt_translator=ModelTranslator(automation, timezone),
        pool=pool,
        name=DBT_OP,
    )
    def _models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        remove_stale_targets(project)
        with contextlib.suppress(Exception):  # housekeeping never fails the step
            remove_ended_run_targets(
                _absolute(project, project.target_path),
                [context.run.run_id, *running_run_ids(context.instance)],
            )
        # models whose upstream tables loaded no new rows are left out (see dbt.selection)
        plan = plan_dbt_selection(context, read_manifest(project.manifest_path))
        yield from plan.observations()
        if plan.build_nothing:
            context.log.info(
                f"dbt not started: upstream unchanged for all {len(plan.skipped_models)} selected models"
            )
            return
        invocation = dbt.cli(["build", *plan.cli_args()], context=context)
        # on an interrupt dagster-dbt forwards SIGINT and waits this long (25 s by default)
        invocation.termination_timeout_seconds = GRACE_SECONDS
        events = invocation.stream()
        try:
            # a plain loop, not `yield from`: when this step is closed early, the dbt event
            # generator is not closed mid-read (it would ignore GeneratorExit); it is drained
            # below once the process is stopped
            for event in events:  # noqa: UP028 - see above
                yield event
        except KeyError as error:
            raise _stale_manifest_failure(error) from None
        finally:
            stop_process(invocation.process)
            with contextlib.suppress(Exception):
                for _ in events:  # what dbt printed before it stopped; ends at its EOF
                    pass
            keep_run_results(project, _absolute(project, invocation.target_path))

    return _models


@functools.lru_cache(maxsize=4)
def _read_manifest(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    return orjson.loads(path.read_bytes())


def read_manifest(path: Path) -> dict[str, Any]:
    """The parsed `manifest.json` at `path`, re-read when the file changed (dagster-dbt caches
    a manifest by path for the life of the process, which would keep a refreshed manifest's new
    models out of a second definitions load in the same process)."""
    stat = path.stat()
    return _read_manifest(path.resolve(), stat.st_mtime_ns, stat.st_size)


def stop_process(process: subprocess.Popen, grace_seconds: float = GRACE_SECONDS) -> int | None:
    """Stop `process` if it still runs: SIGINT (dbt cancels its queries and closes its
    connections), then SIGKILL after `grace_seconds`. Waits until it has exited.

    Args:
        process: the `dbt` subprocess of an invocation.
        grace_seconds: seconds between SIGINT and SIGKILL.

    Returns:
        The exit code, or None when the process could not be reaped.
    """
    if process.poll() is not None:
        return process.returncode
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        try:
            return process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process ignoring SIGKILL
            return None


def keep_run_results(project: DbtProject, invocation_target: Path) -> None:
    """Move `run_results.json` of one invocation's target folder to the project's `target/`
    and remove the folder (2-5 MB per run otherwise)."""
    results = invocation_target / "run_results.json"
    if results.exists():
        main_target = _absolute(project, project.target_path)
        temporary = main_target / ".run_results.json.tmp"
        with contextlib.suppress(OSError):
            shutil.copyfile(results, temporary)
            temporary.replace(main_target / "run_results.json")
    if invocation_target.name.startswith("dbt_models-"):
        shutil.rmtree(invocation_target, ignore_errors=True)


def remove_stale_targets(
    project: DbtProject, older_than: float = STALE_TARGET_SECONDS
) -> list[Path]:
    """Remove per-invocation target folders (`target/dbt_models-*`) that crashed or killed
    runs left behind, once older than `older_than` seconds (a running invocation's folder is
    younger). Returns the folders removed."""
    target = _absolute(project, project.target_path)
    removed = []
    cutoff = time.time() - older_than
    for folder in target.glob("dbt_models-*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def _absolute(project: DbtProject, path: Path) -> Path:
    return path if path.is_absolute() else project.project_dir / path


def _stale_manifest_failure(error: KeyError) -> "Failure | KeyError":
    """A readable failure for dbt naming a node the loaded manifest lacks, else `error`."""
    node = str(error.args[0]) if error.args else ""
    if node.split(".")[0] not in {"model", "test", "seed", "snapshot", "source", "unit_test"}:
        return error
    return Failure(
        description=(
            f"dbt ran {node}, which the dbt manifest of these definitions does not have: the "
            "dbt project changed after the definitions were loaded. Reload the definitions "
            "(the Reload button of `dagster dev`, or start the command again); they re-parse "
            "the dbt project when its files changed."
        ),
        allow_retries=False,
    )
