"""The `ingest` command: check the config, make demo data, and show what is in the warehouse.

Output conventions: every message goes through `say`/`problem`/`warning`, which escape Rich
markup in the text (a `[sources.x]` in a message is printed, not eaten as a style tag). A
config error prints one line per problem (`sources.yml:12: source 'crm': ...`) and exits 1 in
every command; `-v` adds the traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ingest_assets.config import ConfigError, load_project_config
from ingest_assets.config.loader import job_sheet_location
from ingest_assets.names import job_name, schedule_name
from ingest_assets.settings import ProjectPaths, project_dir

if TYPE_CHECKING:
    from ingest_assets.config import ProjectConfig

app = typer.Typer(
    help="Manage the ingestion project: sources.yml -> dlt -> DuckDB -> dbt.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project", "-p", help="Project root (default: INGEST_PROJECT_DIR or this checkout)."
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Show tracebacks of errors (and, for sync, the full run log)."
    ),
]

ValidateCheck = Callable[["ProjectConfig", ProjectPaths], list[str]]
"""A check `ingest validate` runs on a valid config: returns warnings (one message each, naming
the file, source and field), e.g. a folder that does not exist. Add checks to
`VALIDATE_WARNINGS`."""


def _file_path_warnings(config: Any, paths: ProjectPaths) -> list[str]:
    """Local folders that do not exist and globs that match no file, per enabled filesystem source."""
    from ingest_assets.sources.filesystem import path_warnings

    return [
        warning
        for source in config.enabled_sources
        if source.type == "filesystem"
        for warning in path_warnings(source, paths)
    ]


VALIDATE_WARNINGS: list[ValidateCheck] = [_file_path_warnings]
"""The warning checks of `ingest validate`, run in order; warnings do not change the exit code."""


def _paths(project: Path | None) -> ProjectPaths:
    return ProjectPaths(project.resolve() if project else project_dir())


def say(text: str, style: str | None = None) -> None:
    """Print `text` to stdout as it is (Rich markup in it escaped), optionally in `style`."""
    console.print(
        f"[{style}]{escape(text)}[/{style}]" if style else escape(text),
        highlight=False,
        soft_wrap=True,
    )


def problem(text: str) -> None:
    """Print one problem to stderr: a red cross and `text` as it is (markup escaped)."""
    errors.print(f"[red]✗[/red] {escape(text)}", highlight=False, soft_wrap=True)


def warning(text: str) -> None:
    """Print one warning to stderr: a yellow `!` and `text` as it is (markup escaped)."""
    errors.print(f"[yellow]![/yellow] {escape(text)}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def user_errors(verbose: bool = False) -> Iterator[None]:
    """Turn the errors a user fixes in their files into one line per problem and exit 1.

    Handles `ConfigError` (sources.yml or the job sheet: one line per problem, with its YAML
    line), `DbtParseError` (dbt cannot parse the project), DuckDB's lock error (a run is
    writing the warehouse), an unknown `INGEST_ENV`, an unset warehouse password variable and
    a PostgreSQL warehouse that refuses the connection. With `verbose`, the traceback is printed first.
    """
    from ingest_assets.warehouses.environments import UnknownEnvironment
    from ingest_assets.warehouses.targets import WarehouseSecretMissing

    try:
        yield
    except _raised_by("duckdb", "IOException") as error:
        from ingest_assets.errors import is_transient

        if not is_transient(error):  # by type, in the one place that classifies errors
            raise
        if verbose:
            errors.print_exception()
        problem(
            "the warehouse is being written by another process (a run or `dagster dev`): DuckDB "
            "lets no one read it meanwhile; try again when the run has ended"
        )
        raise typer.Exit(1) from None
    except ConfigError as error:
        if verbose:
            errors.print_exception()
        for line in error.located:
            problem(line)
        raise typer.Exit(1) from None
    except _raised_by("ingest_assets.dbt.project", "DbtParseError") as error:
        if verbose:
            errors.print_exception()
        problem(str(error))
        raise typer.Exit(1) from None
    except (
        UnknownEnvironment,
        WarehouseSecretMissing,
        _raised_by("ingest_assets.warehouses.connection", "UnsupportedWarehouse"),
    ) as error:
        if verbose:
            errors.print_exception()
        problem(str(error))
        raise typer.Exit(1) from None
    except _raised_by("psycopg2", "OperationalError") as error:
        if verbose:
            errors.print_exception()
        from ingest_assets.redact import redact

        problem(
            f"cannot connect to the PostgreSQL warehouse: {redact(' '.join(str(error).split()))}"
        )
        raise typer.Exit(1) from None


class _NeverRaised(Exception):
    """Stands for an exception class whose module was never imported (so nothing raised it)."""


def _raised_by(module: str, name: str) -> type[BaseException]:
    """Exception class `name` of `module` when that module is imported, else `_NeverRaised`:
    `user_errors` handles DuckDB's and dbt's errors without importing DuckDB or dagster-dbt
    for commands that use neither."""
    loaded = sys.modules.get(module)
    return getattr(loaded, name) if loaded is not None else _NeverRaised


def _load(project: Path | None, verbose: bool):
    """`project.load_project` of the project root, with config errors reported as lines."""
    from ingest_assets.loaded_project import load_project

    with user_errors(verbose):
        return load_project(_paths(project).root)


@app.command()
def validate(
    project: ProjectOption = None,
    build: bool = typer.Option(
        False,
        "--build/--no-build",
        help=(
            "Also build each enabled source's dlt source (imports dlt and the custom modules, "
            "warns about secrets set nowhere; no network) and check disabled sources with dlt's "
            "rules too. Default --no-build: YAML and pydantic only (about a second)."
        ),
    ),
    verbose: VerboseOption = False,
) -> None:
    """Check sources.yml and the Excel job sheet; exit 1 with one line per problem.

    Without `--build` (the default; `--no-build` is accepted and means the same) it imports
    neither Dagster nor dlt: the config models (with dlt's REST API rules for enabled `rest_api`
    sources only, see `config.common.library_checks_apply`), each enabled source's
    `quick_check` (a `dlt_native` module and function found without importing them), the
    environments and `VALIDATE_WARNINGS`. `--build` adds what needs dlt: dlt's rules on
    disabled sources too, and building each enabled source (`SourceType.check`: custom modules
    imported, secrets set nowhere reported as warnings).

    Warnings (`VALIDATE_WARNINGS`, e.g. a folder that does not exist) are printed with `!`
    and do not fail the check."""
    paths = _paths(project)
    with user_errors(verbose):
        config = load_project_config(paths.sources_file, check_disabled=build)
    from ingest_assets.sources.registry import source_type

    problems = []
    if build:
        from ingest_assets.settings import export_runtime_environment

        # dlt reads this project's .dlt/ (secrets.toml) whatever the working directory is
        export_runtime_environment(paths, paths.root / "warehouse.duckdb")
    for source in config.enabled_sources:
        origin = config.source_origin(source.name)
        try:
            if not build:
                problems += [
                    f"{origin}: source '{source.name}': {_without_source(text, source.name)}"
                    for text in source_type(source).quick_check(source, paths)
                ]
                continue
            # missing secrets are warnings naming the key to add (no value is printed)
            if _local_files(source):
                continue  # nothing to resolve beyond the config model: no dlt import
            unset = source_type(source).check(source, paths)
            for text in unset:
                warning(f"{origin}: {text}")
        except Exception as error:  # noqa: BLE001 - report every source, not only the first
            if verbose:
                errors.print_exception()
            problems.append(
                f"{origin}: source '{source.name}': {_without_source(error, source.name)}"
            )
    environments, env_problems, env_warnings = check_environments(config, paths)
    problems += env_problems
    for text in env_warnings:
        warning(text)
    for text in problems:
        problem(text)
    for check in VALIDATE_WARNINGS:
        for text in check(config, paths):
            warning(text)
    if problems:
        raise typer.Exit(1)
    enabled = ", ".join(s.name for s in config.enabled_sources) or "none"
    sheet = [
        s.name for s in config.sources if config.source_origin(s.name) != paths.sources_file.name
    ]
    files = f"{paths.sources_file}" + (
        f" and {job_sheet_location(paths.sources_file)[0]} ({len(sheet)} sources)" if sheet else ""
    )
    console.print(
        f"[green]✓[/green] {escape(files)}: {len(config.sources)} sources, enabled: {escape(enabled)}",
        highlight=False,
    )
    say(f"  environments: {'; '.join(environments)}")
    if not build and not all(_local_files(source) for source in config.enabled_sources):
        say(
            "  not built: `ingest validate --build` also imports each source's dlt source "
            "(custom modules, dlt) and warns about secrets set nowhere",
            "dim",
        )


def check_environments(config: Any, paths: ProjectPaths) -> tuple[list[str], list[str], list[str]]:
    """Check every environment of `config` (`ingest validate`): its warehouse resolves, its
    overrides apply to the sources, the active one (`INGEST_ENV`) exists, and the variables its
    `*_env` keys name are set (a warning: another machine's secrets may be elsewhere).

    Returns:
        `(descriptions, problems, warnings)`: one `name: warehouse` per environment (the
        active one marked), and the messages.
    """
    from ingest_assets.warehouses import (
        UnknownEnvironment,
        WarehouseSecretMissing,
        active_environment,
        apply_environment,
        environment_names,
        resolve_warehouse,
    )

    active = active_environment()
    descriptions, problems, warnings = [], [], []
    for name in environment_names(config):
        warehouse = resolve_warehouse(config, paths.root, name)
        apply_environment(config, name)
        descriptions.append(
            f"{name}{' (active)' if name == active else ''}: {warehouse.describe()}, pool limit {warehouse.pool_limit}"
        )
        try:
            warehouse.dbt_environment()  # reads the secret the way a run does
        except WarehouseSecretMissing as error:
            warnings.append(f"environment '{name}': {error}")
    try:
        resolve_warehouse(config, paths.root, active)
    except UnknownEnvironment as error:
        problems.append(str(error))
    return descriptions, problems, warnings


def _local_files(source: Any) -> bool:
    """True for a `filesystem` source over a local folder (not a lake): building its dlt source
    resolves no credentials and checks nothing its config model has not (its folder and globs
    are checked by `VALIDATE_WARNINGS`), so `ingest validate` does not build it (or import dlt)."""
    if source.type != "filesystem" or getattr(source, "writes_lake", False):
        return False
    url = str(source.filesystem.bucket_url)
    return "://" not in url or url.startswith("file://")


def _without_source(error: BaseException | str, source: str) -> str:
    """The error's (or text's) message without a leading `source '<source>': ` (the caller
    names it)."""
    text = str(error)
    prefix = f"source '{source}': "
    return text[len(prefix) :] if text.startswith(prefix) else text


@app.command("excel-template")
def excel_template(
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help=(
            "Workbook to write (default: ingestion_config.example.xlsx at the project root, "
            "which the project does not read)."
        ),
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the file when it exists."),
    project: ProjectOption = None,
) -> None:
    """Write a sample Excel job sheet (SourceConfig sheet with disabled example jobs, Columns help sheet)."""
    from ingest_assets.excel_template import default_template_path, write_template

    paths = _paths(project)
    target = output.resolve() if output else default_template_path(paths)
    try:
        write_template(target, force=force)
    except FileExistsError as error:
        problem(str(error))
        raise typer.Exit(1) from error
    sheet = job_sheet_location(paths.sources_file)[0]
    say(
        f"wrote {target}: its example jobs are disabled; replace them with yours (enabled Y) and "
        + (
            "run ingest validate"
            if target == sheet
            else f"save it as {sheet}, then run ingest validate"
        )
    )


@app.command("demo-data")
def demo_data(
    project: ProjectOption = None,
    source: str = typer.Option(
        "jaffle_shop", help="The filesystem source whose landing folder gets the files."
    ),
    years: int = typer.Option(1, help="Years of orders to simulate (~200k rows a year)."),
    force: bool = typer.Option(
        False, help="Regenerate even when the files exist (a new delivery)."
    ),
    verbose: VerboseOption = False,
) -> None:
    """Generate the Jaffle Shop CSVs (dbt Labs' jafgen) into the source's landing folder."""
    from ingest_assets.demo_data import generate_jaffle_data

    paths = _paths(project)
    with user_errors(verbose):
        config = load_project_config(paths.sources_file)
    match = [s for s in config.sources if s.name == source and s.type == "filesystem"]
    if not match:
        problem(f"{paths.sources_file.name}: no filesystem source named '{source}'")
        raise typer.Exit(1)
    landing = paths.resolve(match[0].filesystem.bucket_url)
    written = generate_jaffle_data(landing, years=years, force=force)
    if written:
        say(f"wrote {len(written)} files to {landing}")
    else:
        say(f"{landing} already has the demo files; kept them (use --force for new ones)")


@app.command()
def assets(project: ProjectOption = None, verbose: VerboseOption = False) -> None:
    """List every asset of the Dagster definitions, grouped by asset group (one group per source)."""
    from ingest_assets.project import build_definitions

    loaded = _load(project, verbose)
    with user_errors(verbose):
        graph = build_definitions(loaded).resolve_asset_graph()
    groups: dict[str, list[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name or "default", []).append(key.to_user_string())
    for group in sorted(groups):
        console.print(f"[bold]{escape(group)}[/bold] ({len(groups[group])})", highlight=False)
        for key in sorted(groups[group]):
            say(f"  {key}")


@app.command()
def summary(project: ProjectOption = None, verbose: VerboseOption = False) -> None:
    """Print every warehouse table with its row count, and dbt's last models and tests."""
    from ingest_assets.warehouse import latest_dbt_results, table_counts

    loaded = _load(project, verbose)
    with user_errors(verbose):
        counts = table_counts(loaded.warehouse)
    table = Table(
        title=escape(
            f"Warehouse {loaded.warehouse.describe()} (environment {loaded.warehouse.environment})"
        )
    )
    for column in ("schema", "table", "kind", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left", overflow="fold")
    for count in counts:
        table.add_row(
            escape(count.schema), escape(count.table), count.kind.lower(), f"{count.rows:,}"
        )
    console.print(table)
    results = latest_dbt_results(loaded.paths.dbt_project_dir)
    if results:
        models = ", ".join(f"{n} {status}" for status, n in sorted(results.models.items()))
        tests = ", ".join(f"{n} {status}" for status, n in sorted(results.tests.items()))
        say(f"dbt models: {models or 'none'}; dbt tests: {tests or 'none'}")
    else:
        say("dbt has not run yet")


STATUS_COLUMNS = (
    "source",
    "last run (UTC)",
    "status",
    "rows loaded",
    "rows in warehouse",
    "cursor",
    "schedule",
    "failing",
)
"""Columns of `ingest status`; on a narrow terminal the optional ones go first (below)."""

_DROPPABLE = ("cursor", "rows loaded", "last run (UTC)", "rows in warehouse")
"""Columns `ingest status` leaves out, in this order, until the table fits the terminal."""


@app.command()
def status(
    project: ProjectOption = None,
    as_json: bool = typer.Option(
        False, "--json", help="Print the status as JSON (one object per source) instead of a table."
    ),
    verbose: VerboseOption = False,
) -> None:
    """Per source: last run, status, rows loaded, cursor, schedule (stopped, or its next run), failing or not.

    The table fits the terminal: long values wrap, and on a narrow terminal the cursor, rows
    loaded, last run and warehouse rows columns are left out (in that order); `--json` has
    everything. The schedule's state is the one of the project's Dagster instance
    (`DAGSTER_HOME`, default `dagster_home/`), else `schedule_status` of sources.yml.
    """
    loaded = _load(project, verbose)
    with user_errors(verbose):
        rows = source_status(loaded)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    # folded at the terminal's width like the table (a long DuckDB path has no space to wrap at)
    console.print(
        escape(
            f"environment {loaded.warehouse.environment}: warehouse {loaded.warehouse.describe()}"
        ),
        highlight=False,
        overflow="fold",
    )
    cells = [_status_cells(row) for row in rows]
    shown = _fitting_columns(cells, console.width)
    widths = _column_widths(cells, shown, console.width)
    table = Table(title="Sources")
    for column in shown:
        table.add_column(
            column,
            justify="right" if column.startswith("rows") else "left",
            overflow="fold",
            width=widths[column],  # values wrap at spaces, never inside a word
        )
    for row in cells:
        table.add_row(*(escape(row[column]) for column in shown))
    console.print(table)
    left_out = [c for c in STATUS_COLUMNS if c not in shown]
    if left_out:
        say(f"(left out to fit {console.width} columns: {', '.join(left_out)}; see --json)", "dim")
    for row in rows:
        if row["error"]:
            problem(f"{row['source']}: {row['error']}")


def source_status(loaded: Any) -> list[dict[str, Any]]:
    """What `ingest status` shows, per source of the loaded project, as JSON-ready dicts.

    Returns:
        `{source, enabled, last_run (ISO UTC or None), status (success/failed/never/disabled),
        rows_loaded, rows_in_warehouse, cursors {table: value}, schedule {cron, state
        (running/stopped/None), next_run}, failing, error, environment (the active one,
        `INGEST_ENV`), warehouse (where it is, no secret)}` per source, in sources.yml order.
    """
    from ingest_assets.ledger import latest_per_source
    from ingest_assets.schedule_times import next_run
    from ingest_assets.warehouse import table_counts

    history = latest_per_source(loaded.warehouse)
    totals: dict[str, int] = {}
    for count in table_counts(loaded.warehouse):
        totals[count.schema] = totals.get(count.schema, 0) + count.rows
    states = schedule_states(loaded.paths)
    result = []
    for source in loaded.config.sources:
        runs = history.get(source.name, [])
        failed = [r for r in runs if r["status"] not in ("success", "rewound")]
        state = None
        if source.schedule:
            state = states.get(schedule_name(source.name), source.schedule_status)
        upcoming = (
            next_run(source.schedule, loaded.config.timezone)
            if source.enabled and state == "running"
            else None
        )
        result.append(
            {
                "source": source.name,
                "enabled": source.enabled,
                "last_run": max(r["finished_at"] for r in runs).astimezone(UTC).isoformat()
                if runs
                else None,
                "status": ("failed" if failed else "success")
                if runs
                else ("never" if source.enabled else "disabled"),
                "rows_loaded": sum(r["rows_loaded"] for r in runs) if runs else None,
                "rows_in_warehouse": totals.get(source.dataset_name),
                "cursors": {r["table_name"]: r["cursor_after"] for r in runs if r["cursor_after"]},
                "schedule": {
                    "cron": source.schedule,
                    "state": state if source.enabled else "disabled",
                    "next_run": upcoming,
                },
                "failing": bool(failed),
                "error": (failed[0]["error"] or "failed") if failed else None,
                "environment": loaded.warehouse.environment,
                "warehouse": loaded.warehouse.describe(),
            }
        )
    return result


def schedule_states(paths: ProjectPaths) -> dict[str, str]:
    """`{schedule name: "running" | "stopped"}` as the project's Dagster instance records them
    (see `ingest_assets.instance_state`, which reads them without importing Dagster)."""
    from ingest_assets.instance_state import schedule_states as read_states

    return read_states(paths.root)


def _status_cells(row: dict[str, Any]) -> dict[str, str]:
    schedule = row["schedule"]
    if not schedule["cron"]:
        when = "-"
    elif schedule["state"] == "running":
        when = f"next {schedule['next_run']}"
    else:
        when = schedule["state"] or "-"
    last = row["last_run"]
    return {
        "source": row["source"],
        "last run (UTC)": last[:19].replace("T", " ") if last else "never",
        "status": row["status"],
        "rows loaded": f"{row['rows_loaded']:,}" if row["rows_loaded"] is not None else "-",
        "rows in warehouse": f"{row['rows_in_warehouse']:,}"
        if row["rows_in_warehouse"] is not None
        else "-",
        "cursor": "; ".join(f"{t}: {c}" for t, c in row["cursors"].items()) or "-",
        "schedule": when,
        "failing": "yes (below)" if row["failing"] else "no",
    }


def _fitting_columns(cells: list[dict[str, str]], width: int) -> list[str]:
    """The status columns that fit `width` characters at their natural width (longest value;
    a long cursor list counts by its longest entry, since it wraps), dropping `_DROPPABLE`
    columns in order until they do."""

    shown = list(STATUS_COLUMNS)
    for column in _DROPPABLE:
        if sum(_min_width(cells, c) + 3 for c in shown) + 1 <= width:  # padding and borders
            break
        shown.remove(column)
    return shown


def _column_widths(cells: list[dict[str, str]], shown: list[str], width: int) -> dict[str, int]:
    """Content widths of the shown status columns: each one's longest header or value, the
    widest narrowed first (down to `_min_width`) until the table fits `width` characters."""
    widths = {c: max([len(c), *(len(row[c]) for row in cells)]) for c in shown}
    floors = {c: _min_width(cells, c) for c in shown}
    budget = width - (3 * len(shown) + 1)  # padding and borders
    while sum(widths.values()) > budget:
        column = max(
            (c for c in shown if widths[c] > floors[c]), key=lambda c: widths[c], default=None
        )
        if column is None:
            break
        widths[column] -= 1
    return widths


def _min_width(cells: list[dict[str, str]], column: str) -> int:
    """The narrowest a status column can be without breaking a word of its header or values."""
    words = column.split(" ") + [word for row in cells for word in row[column].split(" ")]
    return max(map(len, words))


@app.command()
def sync(
    source: str = typer.Argument(
        help="The source to load (its asset group and the dbt models downstream)."
    ),
    full_refresh: bool = typer.Option(
        False,
        "--full-refresh",
        help="Drop the source's tables and dlt state, then load everything again.",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Start a run even when the source is up to date (no new or changed file since the last successful sync).",
    ),
    project: ProjectOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Run one source's job now, on the project's Dagster instance (DAGSTER_HOME).

    Prints a summary at the end: rows loaded per table, dbt models built and tests passed or
    failed, and each failure once. `-v` also prints the run's full log (Dagster's events and
    dbt's output) as it happens; the run is in the Dagster UI either way.

    A `filesystem` source that is up to date starts no run: every file its tables match was
    loaded, and nothing was loaded and neither sources.yml nor the dbt project changed since
    its last successful sync (see `orchestration.sync_record`). It says so and exits 0 in
    about a second; `--force` runs it anyway.
    """
    from ingest_assets.orchestration.sync_record import (
        check_sync,
        forget_sync,
        record_sync,
        settings_digest,
    )

    loaded = _load(project, verbose)
    names = [s.name for s in loaded.config.enabled_sources]
    if source not in names:
        problem(
            f"{loaded.paths.sources_file.name}: no enabled source named '{source}' (enabled: {', '.join(names)})"
        )
        raise typer.Exit(1)
    config = next(s for s in loaded.config.enabled_sources if s.name == source)
    if not (force or full_refresh):
        check = check_sync(loaded, config)
        if check.up_to_date is not None:
            say(check.up_to_date.message())
            return
        if check.reason:
            say(f"{source}: {check.reason}: starting a run")
    # taken before the run: an edit made while it runs is not recorded as synced
    settings = None
    with contextlib.suppress(OSError):  # an unreadable dbt project: the run says what is wrong
        settings = settings_digest(loaded, config)

    from ingest_assets.dlt.run_config import LoadConfig, load_run_config
    from ingest_assets.project import build_definitions

    os.environ.setdefault("DAGSTER_HOME", str(loaded.paths.root / "dagster_home"))
    with user_errors(verbose):
        job = build_definitions(loaded).resolve_job_def(job_name(source))
    if config.destination == "both":
        # the lake is the raw history: a full refresh replays it into the warehouse, it is
        # not dropped
        run_config = {"ops": {f"project_{source}": {"config": {"full_refresh": full_refresh}}}}
    else:
        run_config = load_run_config(source, LoadConfig(full_refresh=full_refresh))
    tags = None
    if config.partitions is not None and full_refresh:
        problem(
            f"source '{source}' is partitioned: a full refresh would keep only one partition; rerun the "
            f"partitions instead (`ingest backfill {source} --from ... --to ...`), each replaces its own rows"
        )
        raise typer.Exit(1)
    if config.partitions is not None:  # a partitioned source runs its last complete partition
        from ingest_assets.partitions import partitions_def

        last = partitions_def(config.partitions).get_last_partition_key()
        if last is None:
            problem(
                f"source '{source}': no partition is complete yet "
                f"(partitions start {config.partitions.start:%Y-%m-%d %H:%M})"
            )
            raise typer.Exit(1)
        say(
            f"{source} is partitioned: running its last complete partition {last} (`ingest backfill` runs others)"
        )
        tags = {"dagster/partition": last}
    forget_sync(loaded, source)  # a run that fails or is killed leaves the next sync to run
    result = _execute(job, run_config, verbose, tags, loaded.warehouse)
    if result.success and settings is not None:
        try:
            record_sync(loaded, config, settings, result.run_id)
        except OSError as error:
            warning(f"{source}: could not record this sync ({error}); its next sync runs again")
    summary_lines, failures = sync_summary(result, source, loaded.paths.dbt_project_dir)
    for text in failures:
        problem(text)
    for text in summary_lines:
        say(text)
    if not result.success:
        say(
            f"sync {source} failed (run {result.run_id}){'' if verbose else '; -v prints the full log'}",
            "red",
        )
        raise typer.Exit(1)
    console.print(
        f"[green]✓[/green] {escape(source)}: run {result.run_id} succeeded", highlight=False
    )


def _execute(
    job: Any,
    run_config: dict,
    verbose: bool,
    tags: dict[str, str] | None = None,
    warehouse: Any = None,
) -> Any:
    """Execute `job` in this process on the project's instance. Quiet unless `verbose`:
    Dagster's console log shows errors only, and dbt's output (which dagster-dbt writes to
    stdout) is not printed.

    Before the run, runs whose process died are ended and their pool slots freed
    (`run_recovery.recover_dead_runs`). SIGTERM/SIGINT cancel the run and exit with
    128 + the signal number (`typer.Exit`). `tags` are added to the run's (e.g. its partition).
    `warehouse` (the loaded project's warehouse settings), when given, sets the pool limits it
    calls for on the instance first (`warehouses.pool.apply_pool_limits`)."""
    from dagster import DagsterInstance

    if not verbose:
        run_config = {**run_config, "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    import uuid

    from ingest_assets.orchestration.run_recovery import (
        cancel_on_signal,
        describe,
        launch_tags,
        recover_dead_runs,
    )
    from ingest_assets.warehouses.pool import apply_pool_limits

    run_id = str(uuid.uuid4())
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(DagsterInstance.get())
        watch = stack.enter_context(cancel_on_signal([run_id]))
        for ended in recover_dead_runs(instance):  # runs killed earlier must not hold the pool
            warning(describe(ended))
        if warehouse is not None:  # the warehouse pool's limit follows the warehouse
            apply_pool_limits(instance, warehouse)
        if not verbose:
            stack.enter_context(
                contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w")))
            )
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            tags={**launch_tags(), **(tags or {})},
        )
    if watch.signal is not None:
        problem(f"run {run_id} canceled by signal {watch.signal}")
        raise typer.Exit(128 + watch.signal)
    return result


@app.command()
def backfill(
    source: str = typer.Argument(help="The partitioned source to load."),
    start: str = typer.Option(
        ...,
        "--from",
        help="First day (YYYY-MM-DD, or YYYY-MM-DD HH:MM): its partition is the first loaded.",
    ),
    end: str = typer.Option(
        ...,
        "--to",
        help="Last day (YYYY-MM-DD, or YYYY-MM-DD HH:MM), included: its partition is the last loaded.",
    ),
    per_partition: bool = typer.Option(
        False,
        "--per-partition",
        help="One run per partition instead of one run for the whole range.",
    ),
    project: ProjectOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Load a range of a partitioned source's partitions now, on the project's Dagster instance.

    The partitions from the one holding `--from` to the one holding `--to` (both included) load
    in one run whose window is the whole range (as a single-run backfill in the UI), or with
    `--per-partition` in one run each, stopping at the first failed run. Each partition's rows
    replace those it had, so a range can be loaded again safely. Prints each run's summary.
    """
    from datetime import datetime

    from ingest_assets.partitions import backfill_tags, keys_between
    from ingest_assets.project import build_definitions

    loaded = _load(project, verbose)
    config = next((s for s in loaded.config.enabled_sources if s.name == source), None)
    if config is None:
        names = ", ".join(s.name for s in loaded.config.enabled_sources)
        problem(
            f"{loaded.paths.sources_file.name}: no enabled source named '{source}' (enabled: {names})"
        )
        raise typer.Exit(1)
    if config.partitions is None:
        problem(
            f"{loaded.config.source_origin(source)}: source '{source}' has no partitions: add "
            "`partitions: {type: daily, start: YYYY-MM-DD}` to it, or load it with `ingest sync`"
        )
        raise typer.Exit(1)
    try:
        first, last = (datetime.fromisoformat(value.strip()) for value in (start, end))
        keys = keys_between(config.partitions, first, last)
    except ValueError as error:
        problem(
            f"backfill {source}: {error} (write --from and --to as YYYY-MM-DD or 'YYYY-MM-DD HH:MM')"
        )
        raise typer.Exit(1) from None
    os.environ.setdefault("DAGSTER_HOME", str(loaded.paths.root / "dagster_home"))
    with user_errors(verbose):
        job = build_definitions(loaded).resolve_job_def(job_name(source))
    runs = backfill_tags(keys, per_partition)
    say(
        f"backfill {source}: {len(keys)} partition(s) {keys[0]} to {keys[-1]} in {len(runs)} run(s)"
    )
    for tags in runs:
        label = tags.get("dagster/partition") or f"{keys[0]}...{keys[-1]}"
        result = _execute(job, {}, verbose, tags, loaded.warehouse)
        summary_lines, failures = sync_summary(result, source, loaded.paths.dbt_project_dir)
        for text in failures:
            problem(text)
        for text in summary_lines:
            say(f"{label}: {text}")
        if not result.success:
            say(
                f"backfill {source}: run {result.run_id} of {label} failed"
                + ("" if verbose else "; -v prints the full log"),
                "red",
            )
            raise typer.Exit(1)
    console.print(
        f"[green]✓[/green] {escape(source)}: {len(keys)} partition(s) loaded", highlight=False
    )


def _error_text(error: Any) -> str:
    """A step failure's message without Dagster's dotted class path: a `Failure`'s description
    as it is (the project writes those for people), else `<ExceptionClass>: <message>`."""
    message = error.message.strip()
    head, sep, rest = message.partition(": ")
    if sep and head.split(".")[-1] == error.cls_name:
        return rest.strip() if error.cls_name == "Failure" else f"{error.cls_name}: {rest.strip()}"
    return message


def sync_summary(
    result: Any, source: str, dbt_project_dir: Path | None = None
) -> tuple[list[str], list[str]]:
    """The end-of-run summary of an `execute_in_process` result of `<source>_job`.

    Args:
        result: the execution result.
        source: the source's name.
        dbt_project_dir: the dbt project, whose `target/run_results.json` (kept by the dbt
            step, see `ingest_assets.dbt.assets`) gives the dbt counts when dbt ran.

    Returns:
        `(lines, failures)`: lines `<dataset>.<table>: <n> rows loaded` per raw table
        materialized, `dbt models: 13 success; dbt tests: 89 pass` (dbt's statuses: success,
        error, skipped; pass, fail, warn) when dbt ran, and the other asset checks; failures
        are one message per failed step, naming the source once (`source '<source>': ...`,
        `dbt: ...`).
    """
    from ingest_assets.warehouse import latest_dbt_results

    lines: list[str] = []
    checks: dict[bool, list[str]] = {True: [], False: []}
    failures: list[str] = []
    dbt_ran = False
    dbt_skipped = dbt_built = 0
    for event in result.all_events:
        kind = event.event_type_value
        data = event.event_specific_data
        is_dbt = event.step_key == "dbt_models"
        dbt_ran = dbt_ran or (is_dbt and kind == "STEP_START")
        if is_dbt and kind in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"):
            dbt_built += 1
        elif (
            is_dbt
            and kind == "ASSET_OBSERVATION"
            and "dbt_skipped" in data.asset_observation.metadata
        ):
            dbt_skipped += 1
        if kind == "ASSET_MATERIALIZATION" and not is_dbt:
            materialization = data.materialization
            rows = materialization.metadata.get("rows_loaded")
            count = getattr(rows, "value", rows)
            name = ".".join(materialization.asset_key.path)
            lines.append(
                f"{name}: {count:,} rows loaded" if isinstance(count, int) else f"{name}: loaded"
            )
        elif kind == "ASSET_CHECK_EVALUATION" and not is_dbt:
            checks[bool(data.passed)].append(f"{data.asset_key.to_user_string()}:{data.check_name}")
        elif event.is_step_failure:
            message = _error_text(data.error) if data and data.error else "failed"
            if is_dbt:
                failures.append(message if message.startswith("dbt") else f"dbt: {message}")
            else:
                failures.append(
                    message if f"source '{source}'" in message else f"source '{source}': {message}"
                )
    # dbt's run_results.json is this run's only when dbt started (not when every model was skipped)
    dbt_started = dbt_ran and not (dbt_skipped and not dbt_built)
    results = latest_dbt_results(dbt_project_dir) if dbt_started and dbt_project_dir else None
    skipped = f"; {dbt_skipped} models skipped (upstream unchanged)" if dbt_skipped else ""
    if results:
        models = ", ".join(f"{n} {status}" for status, n in sorted(results.models.items()))
        tests = ", ".join(f"{n} {status}" for status, n in sorted(results.tests.items()))
        lines.append(f"dbt models: {models or 'none'}; dbt tests: {tests or 'none'}{skipped}")
    elif dbt_skipped:
        lines.append(f"dbt not run: {dbt_skipped} models skipped (upstream unchanged)")
    if checks[True] or checks[False]:
        lines.append(
            f"checks: {len(checks[True])} passed, {len(checks[False])} failed"
            + (f" ({', '.join(checks[False][:5])})" if checks[False] else "")
        )
    return lines, failures


@app.command()
def rewind(
    source: str = typer.Argument(help="The source to rewind."),
    to: str | None = typer.Option(None, "--to", help="The dlt load id to go back to (see --list)."),
    list_loads: bool = typer.Option(
        False, "--list", help="List the source's completed loads and exit."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    project: ProjectOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Undo every load after --to: delete their rows and put back the dlt state (cursors, loaded files) of that load."""
    from ingest_assets.dlt.rewind import RewindError, completed_loads
    from ingest_assets.dlt.rewind import rewind as rewind_source

    loaded = _load(project, verbose)
    match = [s for s in loaded.config.sources if s.name == source]
    if not match:
        problem(f"{loaded.paths.sources_file.name}: no source named '{source}'")
        raise typer.Exit(1)
    loads = completed_loads(loaded.warehouse, match[0])
    if list_loads or to is None:
        table = Table(title=escape(f"Loads of {match[0].dataset_name}"))
        table.add_column("load id")
        table.add_column("loaded at (UTC)")
        for load_id, at in loads:
            table.add_row(escape(load_id), at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
        console.print(table)
        if to is None and not list_loads:
            problem("give the load to go back to with --to <load id>")
            raise typer.Exit(1)
        return
    later = (
        [load_id for load_id, _ in loads if load_id != to and float(load_id) > float(to)]
        if loads
        else []
    )
    if not yes and not typer.confirm(
        f"delete the rows of {len(later)} later load(s) of {source} and rewind its state to load {to}?"
    ):
        raise typer.Exit(1)
    say(f"rewinding {source} to load {to} ({len(later)} later load(s))")
    try:
        with user_errors(verbose):
            result = rewind_source(match[0], to, loaded.warehouse, loaded.paths.pipelines_dir)
    except RewindError as error:
        problem(str(error))
        raise typer.Exit(1) from error
    rows = sum(result.rows_deleted.values())
    console.print(
        f"[green]✓[/green] {escape(source)}: rewound to load {escape(to)}: {len(result.undone_loads)} load(s) undone, "
        f"{rows:,} rows deleted; the next run loads them again",
        highlight=False,
    )


if __name__ == "__main__":
    app()
