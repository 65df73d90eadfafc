"""Where the project lives on disk, and the one setting that names the DuckDB warehouse.

Every path the project uses (config file, dlt pipelines dir, dbt project, warehouse) is derived
here from the project directory, so dlt, dbt and Dagster resources always agree.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR_ENV = "INGEST_PROJECT_DIR"
"""Environment variable naming the project root (the folder holding `sources.yml`)."""

WAREHOUSE_OVERRIDE_ENV = "INGEST_WAREHOUSE"
"""Environment variable a user sets to override `warehouse` in `sources.yml`."""

DBT_WAREHOUSE_ENV = "INGEST_WAREHOUSE_PATH"
"""Environment variable the code sets to the resolved absolute warehouse path for dbt's profile
(`dbt_project/profiles.yml`); kept apart from the override so that resolving one project never
leaks into resolving another."""

DEFAULT_WAREHOUSE = "warehouse.duckdb"

DBT_PROFILE_PREFIX = "INGEST_DBT_"
"""Prefix of the variables `dbt_project/profiles.yml` reads for a warehouse other than a DuckDB
file (set from `Warehouse.dbt_environment`, ingest_assets/warehouses/targets.py)."""
DBT_SECRET_ENV = "DBT_ENV_SECRET_INGEST_PASSWORD"
"""The warehouse's secret for dbt's profile (dbt scrubs `DBT_ENV_SECRET_` values from its logs)."""

JOB_SHEET_ENV = "INGEST_JOB_SHEET"
"""Environment variable naming the Excel job sheet; wins over `job_sheet:` in `sources.yml`."""

DEFAULT_JOB_SHEET = "ingestion_config.xlsx"
"""The Excel job sheet read when nothing names another one (only if the file exists)."""


def project_dir() -> Path:
    """Return the absolute project root.

    Taken from `INGEST_PROJECT_DIR` when set, else the folder above this package when it holds a
    `sources.yml` (an editable install or a checkout), else the current working directory.
    """
    if os.environ.get(PROJECT_DIR_ENV):
        return Path(os.environ[PROJECT_DIR_ENV]).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "sources.yml").exists():
        return checkout
    return Path.cwd().resolve()


@dataclass(frozen=True)
class ProjectPaths:
    """Absolute paths of one project checkout.

    Attributes:
        root: the project root.
        sources_file: `sources.yml`, the list of sources.
        dbt_project_dir: the dbt project (`dbt_project/`, holding `profiles.yml` too).
        pipelines_dir: dlt's working folder for pipeline state and load packages (git-ignored).
        custom_sources_dir: user-written dlt sources importable as `custom_sources.<module>`.
        job_sheet: the default Excel job sheet, `ingestion_config.xlsx` (see `job_sheet_path`).
    """

    root: Path

    @property
    def sources_file(self) -> Path:
        return self.root / "sources.yml"

    @property
    def dbt_project_dir(self) -> Path:
        return self.root / "dbt_project"

    @property
    def pipelines_dir(self) -> Path:
        return self.root / ".dlt" / "pipelines"

    @property
    def custom_sources_dir(self) -> Path:
        return self.root / "custom_sources"

    @property
    def job_sheet(self) -> Path:
        return self.root / DEFAULT_JOB_SHEET

    def resolve(self, path: str | Path) -> Path:
        """Return `path` made absolute against the project root (absolute paths pass through)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.root / candidate).resolve()


def warehouse_path(paths: ProjectPaths, configured: str | None) -> Path:
    """Return the absolute DuckDB warehouse path: the one place it is decided.

    Args:
        paths: the project's paths; a relative warehouse path is taken against its root.
        configured: the `warehouse` value of `sources.yml`, or None for the default
            `warehouse.duckdb` at the project root.

    `INGEST_WAREHOUSE`, when set, wins over both.
    """
    chosen = os.environ.get(WAREHOUSE_OVERRIDE_ENV) or configured or DEFAULT_WAREHOUSE
    return paths.resolve(chosen)


def warehouse_catalog(warehouse) -> str:
    """The catalog (database) name DuckDB, dbt-duckdb and dlt give the warehouse file.

    Args:
        warehouse: the DuckDB file, e.g. `/srv/warehouse.duckdb`, or an
            `ingest_assets.warehouses.Warehouse` (its `catalog`: the PostgreSQL database, ...).

    Returns:
        The file name up to its first dot (`warehouse`), as DuckDB's `current_database()`
        and dbt-duckdb's inferred `database` spell it.
    """
    catalog = getattr(warehouse, "catalog", None)  # an `ingest_assets.warehouses.Warehouse`
    if catalog is not None:
        return catalog
    return Path(warehouse).name.lstrip(".").split(".")[0]


def job_sheet_path(paths: ProjectPaths, configured: str | None) -> tuple[Path, bool]:
    """Return where the Excel job sheet is, and whether it was named explicitly.

    Args:
        paths: the project's paths; a relative path is taken against its root.
        configured: the `job_sheet` value of `sources.yml`, or None.

    Returns:
        `(path, named)`: `INGEST_JOB_SHEET` when set, else `configured`, else the default
        `<root>/ingestion_config.xlsx`. `named` is False only for the default, which is read
        when it exists and silently skipped when it does not; a named sheet must exist.
    """
    chosen = os.environ.get(JOB_SHEET_ENV) or configured
    if chosen:
        return paths.resolve(chosen), True
    return paths.job_sheet, False


def export_runtime_environment(paths: ProjectPaths, warehouse) -> None:
    """Publish the resolved paths to child processes and to dlt's config lookup.

    Args:
        paths: the project's paths.
        warehouse: the project's `ingest_assets.warehouses.Warehouse`, or a DuckDB file path.

    Sets `INGEST_WAREHOUSE_PATH` (the DuckDB file; read by `dbt_project/profiles.yml` in every
    dbt subprocess) and the variables that pick and configure the profile's output for other
    warehouses (`Warehouse.dbt_environment`: `INGEST_DBT_TARGET`, ...),
    `DLT_PROJECT_DIR` (so dlt reads `.dlt/config.toml` and `.dlt/secrets.toml` of this
    project whatever the working directory is), and puts this interpreter's `bin` folder first
    on `PATH`, as activating the virtualenv would, so the `dbt` installed beside it is the one
    dagster-dbt runs even when the environment is not activated.
    """
    # a `Warehouse` (ingest_assets.warehouses, a higher room: not imported) or a DuckDB file
    dbt_environment = getattr(warehouse, "dbt_environment", None)
    for name in [n for n in os.environ if n.startswith(DBT_PROFILE_PREFIX) or n == DBT_SECRET_ENV]:
        del os.environ[name]  # one warehouse never inherits another's values
    if dbt_environment is not None:
        os.environ.update(dbt_environment())
        warehouse = warehouse.path
    if warehouse is not None:
        os.environ[DBT_WAREHOUSE_ENV] = str(warehouse)
    else:
        os.environ.pop(DBT_WAREHOUSE_ENV, None)
    os.environ["DLT_PROJECT_DIR"] = str(paths.root)
    # dlt reads its config and secrets providers once per process and may have done so before
    # this variable was set: reload them so they read this project's .dlt/ (takes ~7 ms). A
    # process that has not imported dlt yet reads the variable when it does (and commands that
    # need no dlt, such as `ingest status`, never import it)
    if "dlt" in sys.modules:
        _reload_dlt_config(paths.root)
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


_dlt_config_read: tuple | None = None
"""The project root and the `.dlt/` files' modification times dlt's providers last read."""


def _reload_dlt_config(root: Path) -> None:
    """Make dlt's config and secrets providers read `<root>/.dlt/` again, unless they already read
    these files unchanged: a definitions load exports the environment once per component (~50 ms
    of TOML parsing each time)."""
    global _dlt_config_read
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    files = [root / ".dlt" / name for name in ("config.toml", "secrets.toml")]
    seen = (str(root), *(f.stat().st_mtime_ns if f.exists() else None for f in files))
    if seen == _dlt_config_read:
        return
    Container()[PluggableRunContext].reload(str(root))
    _dlt_config_read = seen
