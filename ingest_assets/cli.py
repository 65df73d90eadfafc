"""The `ingest` command: check the config, make demo data, and show what is in the warehouse."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest_assets.config import ConfigError, load_project_config
from ingest_assets.config.loader import job_sheet_location
from ingest_assets.settings import ProjectPaths, project_dir

app = typer.Typer(help="Manage the ingestion project: sources.yml -> dlt -> DuckDB -> dbt.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

ProjectOption = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="Project root (default: INGEST_PROJECT_DIR or this checkout)."),
]


def _paths(project: Path | None) -> ProjectPaths:
    return ProjectPaths(project.resolve() if project else project_dir())


@app.command()
def validate(project: ProjectOption = None, build: bool = typer.Option(True, help="Also build each enabled source's dlt source (imports custom modules; no network).")) -> None:
    """Check sources.yml and the Excel job sheet; exit 1 with one line per problem."""
    from ingest_assets.sources import build_dlt_source

    paths = _paths(project)
    try:
        config = load_project_config(paths.sources_file)
    except ConfigError as error:
        for problem in error.problems:
            errors.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error
    problems = []
    if build:
        for source in config.enabled_sources:
            try:
                build_dlt_source(source, paths)
            except Exception as error:  # report every source, not only the first
                problems.append(f"{config.source_origin(source.name)}: source '{source.name}': {error}")
    for problem in problems:
        errors.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    enabled = ", ".join(s.name for s in config.enabled_sources) or "none"
    sheet = [s.name for s in config.sources if config.source_origin(s.name) != paths.sources_file.name]
    files = f"{paths.sources_file}" + (f" and {job_sheet_location(paths.sources_file)[0]} ({len(sheet)} sources)" if sheet else "")
    console.print(f"[green]✓[/green] {files}: {len(config.sources)} sources, enabled: {enabled}")


@app.command("excel-template")
def excel_template(
    output: Path | None = typer.Option(None, "--output", "-o", help="Workbook to write (default: the project's job sheet, ingestion_config.xlsx)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the file when it exists."),
    project: ProjectOption = None,
) -> None:
    """Write a sample Excel job sheet (SourceConfig sheet with example jobs, Columns help sheet)."""
    from ingest_assets.excel_template import write_template

    target = output.resolve() if output else job_sheet_location(_paths(project).sources_file)[0]
    try:
        write_template(target, force=force)
    except FileExistsError as error:
        errors.print(f"[red]✗[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error
    console.print(f"wrote {target}: replace the example jobs with yours, then run ingest validate", highlight=False)


@app.command("demo-data")
def demo_data(
    project: ProjectOption = None,
    source: str = typer.Option("jaffle_shop", help="The filesystem source whose landing folder gets the files."),
    years: int = typer.Option(1, help="Years of orders to simulate (~200k rows a year)."),
    force: bool = typer.Option(False, help="Regenerate even when the files exist (a new delivery)."),
) -> None:
    """Generate the Jaffle Shop CSVs (dbt Labs' jafgen) into the source's landing folder."""
    from ingest_assets.demo_data import generate_jaffle_data

    paths = _paths(project)
    config = load_project_config(paths.sources_file)
    match = [s for s in config.sources if s.name == source and s.type == "filesystem"]
    if not match:
        errors.print(f"{paths.sources_file.name}: no filesystem source named '{source}'")
        raise typer.Exit(1)
    landing = paths.resolve(match[0].filesystem.bucket_url)
    written = generate_jaffle_data(landing, years=years, force=force)
    if written:
        console.print(f"wrote {len(written)} files to {landing}")
    else:
        console.print(f"{landing} already has the demo files; kept them (use --force for new ones)")


@app.command()
def prepare(project: ProjectOption = None) -> None:
    """Refresh dbt's manifest (dbt parse) after editing models, outside `dagster dev`."""
    from dagster_dbt import DbtProject

    from ingest_assets.project import load_project

    loaded = load_project(_paths(project).root)
    dbt_project = DbtProject(project_dir=loaded.paths.dbt_project_dir, profiles_dir=loaded.paths.dbt_project_dir)
    dbt_project.preparer.prepare(dbt_project)
    console.print(f"dbt manifest written to {dbt_project.manifest_path}")


@app.command()
def assets(project: ProjectOption = None) -> None:
    """List every asset of the Dagster definitions, grouped by asset group (one group per source)."""
    from ingest_assets.project import build_definitions, load_project

    graph = build_definitions(load_project(_paths(project).root)).resolve_asset_graph()
    groups: dict[str, list[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name or "default", []).append(key.to_user_string())
    for group in sorted(groups):
        console.print(f"[bold]{group}[/bold] ({len(groups[group])})")
        for key in sorted(groups[group]):
            console.print(f"  {key}", highlight=False)


@app.command()
def summary(project: ProjectOption = None) -> None:
    """Print every warehouse table with its row count, and dbt's last models and tests."""
    from ingest_assets.project import load_project
    from ingest_assets.warehouse import latest_dbt_results, table_counts

    loaded = load_project(_paths(project).root)
    counts = table_counts(loaded.warehouse)
    table = Table(title=f"Warehouse {loaded.warehouse}")
    for column in ("schema", "table", "kind", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for count in counts:
        table.add_row(count.schema, count.table, count.kind.lower(), f"{count.rows:,}")
    console.print(table)
    results = latest_dbt_results(loaded.paths.dbt_project_dir)
    if results:
        models = ", ".join(f"{n} {status}" for status, n in sorted(results.models.items()))
        tests = ", ".join(f"{n} {status}" for status, n in sorted(results.tests.items()))
        console.print(f"dbt models: {models or 'none'}; dbt tests: {tests or 'none'}")
    else:
        console.print("dbt has not run yet")


@app.command()
def status(project: ProjectOption = None) -> None:
    """Per source: last run, status, rows loaded, cursor, next scheduled run, failing or not."""
    from ingest_assets.ledger import latest_per_source
    from ingest_assets.project import load_project
    from ingest_assets.schedule_times import next_run
    from ingest_assets.warehouse import table_counts

    loaded = load_project(_paths(project).root)
    history = latest_per_source(loaded.warehouse)
    totals: dict[str, int] = {}
    for count in table_counts(loaded.warehouse):
        totals[count.schema] = totals.get(count.schema, 0) + count.rows
    table = Table(title="Sources")
    for column in ("source", "last run (UTC)", "status", "rows loaded", "rows in warehouse", "cursor", "next run", "failing"):
        table.add_column(column, justify="right" if column.startswith("rows") else "left")
    for source in loaded.config.sources:
        rows = history.get(source.name, [])
        upcoming = next_run(source.schedule, loaded.config.timezone) if source.enabled else None
        in_warehouse = f"{totals[source.dataset_name]:,}" if source.dataset_name in totals else "-"
        if not rows:
            state = "disabled" if not source.enabled else "-"
            table.add_row(source.name, "never", state, "-", in_warehouse, "-", upcoming or "-", "-")
            continue
        failed = [r for r in rows if r["status"] not in ("success", "rewound")]
        cursors = "; ".join(f"{r['table_name']}: {r['cursor_after']}" for r in rows if r["cursor_after"])
        table.add_row(
            source.name,
            max(r["finished_at"] for r in rows).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "failed" if failed else "success",
            f"{sum(r['rows_loaded'] for r in rows):,}",
            in_warehouse,
            cursors or "-",
            upcoming or "-",
            "[red]yes[/red]: " + (failed[0]["error"] or "")[:120] if failed else "no",
        )
    console.print(table)


@app.command()
def sync(
    source: str = typer.Argument(help="The source to load (its asset group and the dbt models downstream)."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Drop the source's tables and dlt state, then load everything again."),
    project: ProjectOption = None,
) -> None:
    """Run one source's job now, on the project's Dagster instance (DAGSTER_HOME)."""
    import os

    from dagster import DagsterInstance

    from ingest_assets.dlt.run_config import LoadConfig, load_run_config
    from ingest_assets.project import build_definitions, load_project

    loaded = load_project(_paths(project).root)
    names = [s.name for s in loaded.config.enabled_sources]
    if source not in names:
        errors.print(f"{loaded.paths.sources_file.name}: no enabled source named '{source}' (enabled: {', '.join(names)})")
        raise typer.Exit(1)
    os.environ.setdefault("DAGSTER_HOME", str(loaded.paths.root / "dagster_home"))
    job = build_definitions(loaded).resolve_job_def(f"{source}_job")
    config = next(s for s in loaded.config.enabled_sources if s.name == source)
    if config.destination == "both":
        # the lake is the raw history: a full refresh replays it into the warehouse, it is
        # not dropped
        run_config = {"ops": {f"project_{source}": {"config": {"full_refresh": full_refresh}}}}
    else:
        run_config = load_run_config(source, LoadConfig(full_refresh=full_refresh))
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
        )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                errors.print(f"[red]✗[/red] {event.step_key}: {event.event_specific_data.error.message.strip()}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] {source}: run {result.run_id} succeeded")


@app.command()
def rewind(
    source: str = typer.Argument(help="The source to rewind."),
    to: str | None = typer.Option(None, "--to", help="The dlt load id to go back to (see --list)."),
    list_loads: bool = typer.Option(False, "--list", help="List the source's completed loads and exit."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    project: ProjectOption = None,
) -> None:
    """Undo every load after --to: delete their rows and put back the dlt state (cursors, loaded files) of that load."""
    from ingest_assets.dlt.rewind import RewindError, completed_loads, rewind as rewind_source
    from ingest_assets.project import load_project

    loaded = load_project(_paths(project).root)
    match = [s for s in loaded.config.sources if s.name == source]
    if not match:
        errors.print(f"{loaded.paths.sources_file.name}: no source named '{source}'", highlight=False)
        raise typer.Exit(1)
    loads = completed_loads(loaded.warehouse, match[0])
    if list_loads or to is None:
        table = Table(title=f"Loads of {match[0].dataset_name}")
        table.add_column("load id")
        table.add_column("loaded at (UTC)")
        for load_id, at in loads:
            table.add_row(load_id, at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
        console.print(table)
        if to is None and not list_loads:
            errors.print("give the load to go back to with --to <load id>")
            raise typer.Exit(1)
        return
    later = [load_id for load_id, _ in loads if load_id != to and float(load_id) > float(to)] if loads else []
    if not yes and not typer.confirm(f"delete the rows of {len(later)} later load(s) of {source} and rewind its state to load {to}?"):
        raise typer.Exit(1)
    console.print(f"rewinding {source} to load {to} ({len(later)} later load(s))", highlight=False)
    try:
        result = rewind_source(match[0], to, loaded.warehouse, loaded.paths.pipelines_dir)
    except RewindError as error:
        errors.print(f"[red]✗[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error
    rows = sum(result.rows_deleted.values())
    console.print(
        f"[green]✓[/green] {source}: rewound to load {to}: {len(result.undone_loads)} load(s) undone, {rows:,} rows deleted; "
        "the next run loads them again",
        highlight=False,
    )


if __name__ == "__main__":
    app()
