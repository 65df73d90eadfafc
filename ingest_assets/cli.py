"""The `ingest` command: check the config, make demo data, and show what is in the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest_assets.config import ConfigError, load_project_config
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
    """Check sources.yml; exit 1 with one line per problem."""
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
                problems.append(f"{paths.sources_file.name}: source '{source.name}': {error}")
    for problem in problems:
        errors.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    enabled = ", ".join(s.name for s in config.enabled_sources) or "none"
    console.print(f"[green]✓[/green] {paths.sources_file}: {len(config.sources)} sources, enabled: {enabled}")


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


if __name__ == "__main__":
    app()
