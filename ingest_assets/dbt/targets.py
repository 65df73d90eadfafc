"""Per-run dbt target folders: no litter in `dbt_project/target/`.

dagster-dbt gives every dbt invocation its own target folder, `target/dbt_models-<run id, 7
characters>-<random>` (2-5 MB: compiled SQL, run results, logs). The dbt step removes its own
folder when it ends (`dbt.assets.keep_run_results`). A folder whose step was killed stays
behind; the next dbt step removes every folder whose run is not in progress on the instance
(`remove_ended_run_targets`), so at most the folders of running runs exist.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

PREFIX = "dbt_models-"
"""Start of the name of dagster-dbt's per-invocation folders of the `dbt_models` step."""


def remove_ended_run_targets(target: Path, running_run_ids: Iterable[str]) -> list[Path]:
    """Remove the per-invocation folders under `target` whose run is not among `running_run_ids`.

    Args:
        target: the dbt project's `target/` folder.
        running_run_ids: ids of the runs in progress on the instance (the current one included).

    Returns:
        The folders removed. Folders whose name does not carry a run id are left alone.
    """
    running = {run_id[:7] for run_id in running_run_ids}
    removed = []
    for folder in target.glob(f"{PREFIX}*"):
        parts = folder.name[len(PREFIX) :].split("-")
        if len(parts) != 2 or len(parts[0]) != 7 or parts[0] in running or not folder.is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def running_run_ids(instance) -> list[str]:
    """Ids of the runs of `instance` (a `DagsterInstance`) that have not ended."""
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    ]
    return [
        record.dagster_run.run_id
        for record in instance.get_run_records(filters=RunsFilter(statuses=statuses))
    ]
