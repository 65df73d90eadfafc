"""Declarative automation: a dbt model fed by three sources is requested once after all three
loaded, and the source jobs (and `ingest sync`) are `group:<source>+` minus the automated models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import (
    AssetKey,
    AssetSelection,
    AutomationCondition,
    DagsterInstance,
    DefaultSensorStatus,
    evaluate_automation_conditions,
)
from helpers import dbt_parse, scalar, write_csv

from ingest_assets.config import ConfigError, load_project_config
from ingest_assets.names import AUTOMATION_SENSOR
from ingest_assets.orchestration.jobs import source_selection
from ingest_assets.project import build_definitions, load_project

pytestmark = pytest.mark.integration

FEEDS = ("feed_a", "feed_b", "feed_c")
MART = AssetKey(["feeds_total"])


def feed_source(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "filesystem",
        "filesystem": {
            "bucket_url": f"data/{name}",
            "tables": [{"name": "t", "file_glob": "*.csv", "format": "csv"}],
        },
    }


def project_with_feeds(
    make_project, automation: dict[str, Any] | None, name: str = "project"
) -> Path:
    """A project with three file sources and a mart `feeds_total` reading one table of each."""
    document: dict[str, Any] = {"version": 1, "sources": [feed_source(name) for name in FEEDS]}
    if automation is not None:
        document["automation"] = automation
    root = make_project(yaml.safe_dump(document, sort_keys=False), name=name)
    marts = root / "dbt_project" / "models" / "marts"
    (marts / "feeds.yml").write_text(
        yaml.safe_dump(
            {
                "version": 2,
                "sources": [{"name": f"raw_{name}", "tables": [{"name": "t"}]} for name in FEEDS],
            }
        )
    )
    (marts / "feeds_total.sql").write_text(
        "\nunion all\n".join(
            f"select '{name}' as feed, count(*) as n from {{{{ source('raw_{name}', 't') }}}}"
            for name in FEEDS
        )
    )
    dbt_parse(root / "dbt_project", root / "warehouse.duckdb")
    for index, name in enumerate(FEEDS):
        write_csv(root / "data" / name / "rows.csv", [{"id": i} for i in range(index + 1)])
    return root


def test_a_model_fed_by_three_sources_is_requested_once(make_project):
    root = project_with_feeds(make_project, {"models": "eager"})
    defs = build_definitions(load_project(root))
    assert isinstance(
        defs.resolve_assets_def(MART).automation_conditions_by_key[MART], AutomationCondition
    )
    sensor = defs.resolve_sensor_def(AUTOMATION_SENSOR)
    assert sensor.default_status == DefaultSensorStatus.RUNNING

    with DagsterInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.get_num_requested(MART) == 0  # its raw tables were never loaded

        for name in FEEDS:  # each source's job: its tables only, not the automated mart
            job = defs.resolve_job_def(f"{name}_job")
            result = job.execute_in_process(instance=instance)
            assert result.success
            assert {e.asset_key for e in result.get_asset_materialization_events()} == {
                AssetKey([f"raw_{name}", "t"])
            }

        after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert after.get_num_requested(MART) == 1  # once for three updated sources
        assert after.total_requested == 1
        # nothing new upstream: not requested again
        again = evaluate_automation_conditions(defs=defs, instance=instance, cursor=after.cursor)
        assert again.total_requested == 0

        # the sensor's run builds the mart once, from the three loaded tables
        build = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=[MART]
        )
        assert build.success
    assert scalar(root, "select sum(n) from main.feeds_total") == 1 + 2 + 3


def test_job_selection_is_group_plus_minus_automated_models(make_project):
    root = project_with_feeds(make_project, None)
    defs = build_definitions(load_project(root))
    graph = defs.resolve_asset_graph()
    for name in FEEDS:
        downstream = AssetSelection.from_string(f"group:{name}+").resolve(graph)
        assert MART in downstream
        assert (
            set(defs.resolve_job_def(f"{name}_job").asset_layer.selected_asset_keys) == downstream
        )
        assert source_selection(name).resolve(graph) == downstream
    assert not any(s.name == AUTOMATION_SENSOR for s in defs.sensors or [])

    automated = project_with_feeds(
        make_project,
        {"models": "off", "folders": {"marts": "eager"}, "sensor": "stopped"},
        "automated",
    )
    defs = build_definitions(load_project(automated))
    graph = defs.resolve_asset_graph()
    assert defs.resolve_sensor_def(AUTOMATION_SENSOR).default_status == DefaultSensorStatus.STOPPED
    for name in FEEDS:
        downstream = AssetSelection.from_string(f"group:{name}+").resolve(graph)
        job_keys = set(defs.resolve_job_def(f"{name}_job").asset_layer.selected_asset_keys)
        assert job_keys == downstream - {MART} == {AssetKey([f"raw_{name}", "t"])}


def test_on_cron_per_folder_and_config_errors(make_project, tmp_path):
    root = project_with_feeds(
        make_project, {"models": "eager", "folders": {"marts": {"on_cron": "0 6 * * *"}}}
    )
    defs = build_definitions(load_project(root))
    condition = defs.resolve_assets_def(MART).automation_conditions_by_key[MART]
    assert "0 6 * * *" in str(condition.get_label() or condition)
    staging = AssetKey(["stg_jaffle_shop__orders"])
    assert (
        defs.resolve_assets_def(staging).automation_conditions_by_key[staging].get_label()
        == "eager"
    )

    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nautomation:\n  models: {on_cron: 'every day'}\nsources: []\n")
    with pytest.raises(ConfigError, match="automation.models"):
        load_project_config(bad)
