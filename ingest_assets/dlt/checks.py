"""Asset checks on every raw table: rows are there, and the data is fresh where configured.

- `row_count` (every table): fails at 0 rows unless the table sets `allow_empty: true`.
- `cursor_freshness` (tables with `freshness.cursor`): the newest value of that timestamp
  column is at most `freshness.max_lag` old. Evaluated after each load.
- Load-time freshness (tables with `freshness` and no cursor): Dagster's own last-update
  freshness check, evaluated by the `freshness_checks_sensor` between runs too.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DefaultSensorStatus,
    SensorDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource

from ingest_assets import names
from ingest_assets.config.common import LoadOptions, SourceBase

ROW_COUNT = names.ROW_COUNT_CHECK
CURSOR_FRESHNESS = names.CURSOR_FRESHNESS_CHECK


def build_table_checks(source: SourceBase, keys: Sequence[AssetKey]) -> AssetChecksDefinition:
    """Row-count and cursor-freshness checks for the raw tables `keys` of `source`.

    Args:
        source: the source config; per-table options from `source.table_options()`.
        keys: the source's asset keys, `[raw_<source>, <table>]`.

    The checks read the warehouse through the `warehouse` resource (a `DuckDBResource`), in the `duckdb` pool (a reader
    would otherwise collide with a writing process).
    """
    options = source.table_options()
    specs = []
    for key in keys:
        table_options = options.get(key.path[-1], LoadOptions())
        specs.append(
            AssetCheckSpec(ROW_COUNT, asset=key, description=_row_count_text(table_options))
        )
        if table_options.freshness and table_options.freshness.cursor:
            specs.append(
                AssetCheckSpec(
                    CURSOR_FRESHNESS,
                    asset=key,
                    description=(
                        f"max({table_options.freshness.cursor}) is at most "
                        f"{table_options.freshness.max_lag} old"
                    ),
                )
            )

    @multi_asset_check(
        specs=specs,
        name=names.table_checks_name(source.name),
        can_subset=True,
        pool=names.DUCKDB_POOL,
    )
    def _checks(
        context: AssetCheckExecutionContext, warehouse: DuckDBResource
    ) -> Iterator[AssetCheckResult]:
        with warehouse.get_connection() as conn:
            for check in context.selected_asset_check_keys:
                table_options = options.get(check.asset_key.path[-1], LoadOptions())
                qualified = f'"{check.asset_key.path[0]}"."{check.asset_key.path[-1]}"'
                if check.name == ROW_COUNT:
                    yield _row_count(conn, check.asset_key, qualified, table_options)
                else:
                    yield _cursor_freshness(conn, check.asset_key, qualified, table_options)

    return _checks


def build_load_time_freshness(
    sources: Sequence[SourceBase], keys_by_source: dict[str, list[AssetKey]]
) -> tuple[list[AssetChecksDefinition], list[SensorDefinition]]:
    """Dagster's last-update freshness checks for tables with `freshness` and no cursor column,
    and the sensor that evaluates them (running by default); empty lists when none is set."""
    checks: list[AssetChecksDefinition] = []
    for source in sources:
        options = source.table_options()
        for key in keys_by_source[source.name]:
            freshness = options.get(key.path[-1], LoadOptions()).freshness
            if freshness and not freshness.cursor:
                checks.extend(
                    build_last_update_freshness_checks(
                        assets=[key], lower_bound_delta=freshness.max_lag_delta
                    )
                )
    if not checks:
        return [], []
    sensor = build_sensor_for_freshness_checks(
        freshness_checks=checks, default_status=DefaultSensorStatus.RUNNING
    )
    return checks, [sensor]


def _row_count_text(options: LoadOptions) -> str:
    return "rows in the table (0 allowed)" if options.allow_empty else "the table has rows"


def _row_count(conn, key: AssetKey, qualified: str, options: LoadOptions) -> AssetCheckResult:
    try:
        rows = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0]
    except duckdb.CatalogException:
        rows = 0  # dlt creates a table with its first row: no table means no row loaded yet
    return AssetCheckResult(
        asset_key=key,
        check_name=ROW_COUNT,
        passed=bool(rows) or options.allow_empty,
        metadata={"row_count": int(rows)},
        description=None
        if rows or options.allow_empty
        else "the table is empty; set allow_empty: true if that is expected",
    )


def _cursor_freshness(
    conn, key: AssetKey, qualified: str, options: LoadOptions
) -> AssetCheckResult:
    freshness = options.freshness
    assert freshness and freshness.cursor
    newest = conn.execute(f'SELECT max("{freshness.cursor}") FROM {qualified}').fetchone()[0]
    if newest is None:
        return AssetCheckResult(
            asset_key=key, check_name=CURSOR_FRESHNESS, passed=False, metadata={"newest": "none"}
        )
    if isinstance(newest, datetime) and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    lag = datetime.now(UTC) - newest
    return AssetCheckResult(
        asset_key=key,
        check_name=CURSOR_FRESHNESS,
        passed=lag <= freshness.max_lag_delta,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "newest": str(newest),
            "lag_seconds": round(lag.total_seconds(), 1),
            "max_lag": freshness.max_lag,
        },
    )
