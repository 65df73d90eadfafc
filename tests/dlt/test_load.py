"""The load step's guarantees, for real against DuckDB: full refresh, empty-replace protection,
retries of transient errors, schema contracts and drift, unreadable files, and the ledger."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterEventType
from helpers import materialize_project, query, read_csv, scalar, write_csv
from jaffle import jaffle_source

from ingest_assets.dlt.run_config import LoadConfig, load_run_config

pytestmark = pytest.mark.e2e

FLAKY_SOURCE = '''
import dlt
from pathlib import Path


@dlt.source(name="flaky")
def flaky(marker: str, failures: int = 1, extra_column: bool = False):
    """Fails with a connection reset `failures` times (counted in `marker`), then yields rows."""

    @dlt.resource(write_disposition="append")
    def events():
        path = Path(marker)
        seen = int(path.read_text()) if path.exists() else 0
        if seen < failures:
            path.write_text(str(seen + 1))
            raise ConnectionResetError(104, "Connection reset by peer")
        for i in range(3):
            row = {"id": i, "value": f"v{i}"}
            if extra_column:
                row["surprise"] = "new"
            yield row

    return events
'''


def _flaky_project(make_project, tmp_path: Path, **options) -> Path:
    marker = tmp_path / "attempts.txt"
    kwargs = {"marker": str(marker), **options.pop("kwargs", {})}
    project = make_project(
        [
            {
                "name": "flaky",
                "type": "dlt_native",
                "retry_backoff_seconds": 0.1,
                **options,
                "dlt_native": {
                    "source_module": "flaky",
                    "source_function": "flaky",
                    "function_kwargs": kwargs,
                },
            }
        ]
    )
    (project / "custom_sources" / "flaky.py").write_text(FLAKY_SOURCE)
    return project


def _set_kwargs(project: Path, **kwargs) -> None:
    import yaml

    document = yaml.safe_load((project / "sources.yml").read_text())
    document["sources"][0]["dlt_native"]["function_kwargs"].update(kwargs)
    (project / "sources.yml").write_text(yaml.safe_dump(document))


def _jaffle_project(make_project, jaffle_small: Path, **table_changes) -> tuple[Path, Path]:
    source = jaffle_source("data/landing/jaffle_shop")
    for table in source["filesystem"]["tables"]:
        table.update(table_changes.get(table["name"], {}))
    project = make_project([source])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    return project, landing


def test_transient_error_is_retried_then_loads(make_project, tmp_path):
    project = _flaky_project(make_project, tmp_path, kwargs={"failures": 2})

    result = materialize_project(project, "group:flaky", checks=False)

    assert result.success
    assert scalar(project, "select count(*) from raw_flaky.events") == 3
    restarts = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_RESTARTED]
    assert len(restarts) == 2
    history = query(project, "select status, error from _ingest.load_history order by finished_at")
    assert [h[0] for h in history] == ["failed", "failed", "success"]
    assert "ConnectionResetError" in history[0][1]


def test_transient_error_fails_after_max_retries(make_project, tmp_path):
    project = _flaky_project(make_project, tmp_path, max_retries=1, kwargs={"failures": 5})

    result = materialize_project(project, "group:flaky", raise_on_error=False, checks=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    assert "source 'flaky'" in failure.event_specific_data.error.message


def test_schema_contract_freeze_names_table_and_column(make_project, tmp_path):
    project = _flaky_project(
        make_project, tmp_path, schema_contract="freeze", kwargs={"failures": 0}
    )
    assert materialize_project(project, "group:flaky", checks=False).success
    _set_kwargs(project, extra_column=True)

    result = materialize_project(project, "group:flaky", raise_on_error=False, checks=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    message = failure.event_specific_data.error.message
    assert "events" in message and "surprise" in message
    columns = {
        r[0]
        for r in query(
            project,
            "select column_name from information_schema.columns where table_name = 'events'",
        )
    }
    assert "surprise" not in columns
    assert scalar(project, "select count(*) from raw_flaky.events") == 3


def test_schema_drift_shows_in_metadata(make_project, jaffle_small):
    project, landing = _jaffle_project(make_project, jaffle_small)
    materialize_project(project, "group:jaffle_shop", checks=False)
    stores = read_csv(landing / "raw_stores.csv")
    write_csv(landing / "raw_stores_new.csv", [{**stores[0], "id": "new-store", "region": "north"}])

    result = materialize_project(project, "group:jaffle_shop", checks=False)

    stores_event = next(
        m
        for m in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
        if m.asset_key.path[-1] == "stores"
    )
    assert stores_event.metadata["schema_changes"].value == {"added": {"region": "text"}}
    assert stores_event.metadata["rows_loaded"].value == 1


def test_full_refresh_drops_and_reloads(make_project, jaffle_small):
    project, landing = _jaffle_project(make_project, jaffle_small)
    materialize_project(project, "group:jaffle_shop", checks=False)
    orders = len(read_csv(landing / "raw_orders.csv"))

    from dagster import DagsterInstance

    from ingest_assets.project import build_definitions, load_project

    defs = build_definitions(load_project(project))
    job = defs.resolve_job_def("jaffle_shop_job")
    result = job.execute_in_process(
        run_config=load_run_config("jaffle_shop", LoadConfig(full_refresh=True)),
        instance=DagsterInstance.ephemeral(),
    )

    assert result.success
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders
    orders_event = next(
        m
        for m in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
        if m.asset_key.path[-1] == "orders"
    )
    assert orders_event.metadata["rows_loaded"].value == orders
    # only one load id left in the table: the refresh dropped the first load's rows
    assert scalar(project, "select count(distinct _dlt_load_id) from raw_jaffle_shop.orders") == 1


def test_replace_that_brings_no_rows_keeps_the_table(make_project, jaffle_small):
    project, landing = _jaffle_project(
        make_project, jaffle_small, products={"write_disposition": "replace", "primary_key": None}
    )
    materialize_project(project, "group:jaffle_shop", checks=False)
    products = scalar(project, "select count(*) from raw_jaffle_shop.products")
    (landing / "raw_products.csv").unlink()

    result = materialize_project(project, "group:jaffle_shop", raise_on_error=False, checks=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    message = failure.event_specific_data.error.message
    assert "'products' (10 rows)" in message and "allow_empty_replace" in message
    assert scalar(project, "select count(*) from raw_jaffle_shop.products") == products


def test_unreadable_file_fails_run_but_others_load(make_project, jaffle_small, jaffle_full):
    project, landing = _jaffle_project(make_project, jaffle_small)
    materialize_project(project, "group:jaffle_shop", checks=False)
    orders = scalar(project, "select count(*) from raw_jaffle_shop.orders")
    good = read_csv(landing / "raw_orders.csv")[:5]
    write_csv(landing / "raw_orders_good.csv", [{**r, "id": f"good-{r['id']}"} for r in good])
    # a large file whose row 25,001 has a date that is no date: DuckDB reports the line
    rows = [
        {**r, "id": f"broken-{r['id']}"} for r in read_csv(jaffle_full / "raw_orders.csv")[:25_010]
    ]
    bad = landing / "raw_orders_bad.csv"
    write_csv(bad, rows)
    lines = bad.read_bytes().split(b"\r\n")
    lines[25_001] = b"broken-x,c,not-a-date,s,1,2,3"
    bad.write_bytes(b"\r\n".join(lines))

    result = materialize_project(project, "group:jaffle_shop", raise_on_error=False, checks=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    message = failure.event_specific_data.error.message
    assert "raw_orders_bad.csv" in message
    assert "Line: 25002" in message and "not-a-date" in message
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 5
    assert (
        scalar(project, "select count(*) from raw_jaffle_shop.orders where id like 'broken%'") == 0
    )
    history = query(
        project,
        "select status, error from _ingest.load_history where table_name = 'orders' order by finished_at desc limit 1",
    )
    assert history[0][0] == "failed" and "raw_orders_bad.csv" in history[0][1]

    # the bad file is retried (not recorded as loaded); the good one is not loaded again
    write_csv(bad, rows[:10])
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 15


def test_quarantine_moves_unreadable_file(make_project, jaffle_small):
    source = jaffle_source("data/landing/jaffle_shop")
    source["filesystem"]["quarantine_dir"] = "data/quarantine"
    project = make_project([source])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    (landing / "raw_stores_bad.csv").write_bytes(b'id,name\n1,\xff\xfe broken\n2,"never closed\n')

    result = materialize_project(project, "group:jaffle_shop", raise_on_error=False, checks=False)

    assert not result.success
    assert not (landing / "raw_stores_bad.csv").exists()
    assert (project / "data" / "quarantine" / "stores" / "raw_stores_bad.csv").exists()
    assert scalar(project, "select count(*) from raw_jaffle_shop.stores") == len(
        read_csv(jaffle_small / "raw_stores.csv")
    )
    assert materialize_project(project, "group:jaffle_shop", checks=False).success


def test_ledger_rows_after_a_run(make_project, jaffle_small):
    project, landing = _jaffle_project(make_project, jaffle_small)

    result = materialize_project(project, "group:jaffle_shop", checks=False)

    rows = query(
        project,
        "select table_name, run_id, rows_loaded, status, cursor_before, cursor_after, load_id, started_at <= finished_at "
        "from _ingest.load_history order by table_name",
    )
    assert [r[0] for r in rows] == sorted(
        ["customers", "items", "orders", "products", "stores", "supplies", "tweets"]
    )
    orders = next(r for r in rows if r[0] == "orders")
    assert orders[1] == result.run_id
    assert orders[2] == len(read_csv(landing / "raw_orders.csv"))
    assert orders[3] == "success"
    assert orders[4] is None and orders[5] == "1 files"
    assert orders[6] and orders[7]
