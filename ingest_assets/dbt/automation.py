"""Declarative automation of dbt models: `automation:` in sources.yml.

```yaml
automation:
  models: eager                      # every dbt model: eager | {on_cron: "<cron>"} | off
  folders:                           # per top folder under models/ (overrides `models`)
    staging: eager
    marts: {on_cron: "0 6 * * *"}
  sensor: running                    # the automation sensor starts running (default) or stopped
```

A model with a condition is no longer part of the source jobs (`<source>_job` loads the source
and builds the models downstream that have none): the automation sensor
(`dbt_automation_sensor`) requests it once its upstream raw tables have new data. `eager`
requests it in the tick after any upstream table was materialized (and all are present), so
tables that several sources updated since the last tick build the model once; `on_cron`
requests it once per cron tick after all its upstream tables were updated since the last tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import (
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
)

from ingest_assets.config.automation import AutomationConfig
from ingest_assets.names import AUTOMATION_SENSOR


def condition_of(
    config: AutomationConfig | None, timezone: str, dbt_resource_props: Mapping[str, Any]
) -> AutomationCondition | None:
    """The automation condition of one dbt node (its manifest entry), or None: models only,
    their folder's entry first, else `models`.

    Args:
        config: the project's `automation:`; None is off.
        timezone: IANA zone `on_cron` expressions are read in (top-level `timezone`).
        dbt_resource_props: the node's manifest entry (`resource_type`, `fqn`).
    """
    if config is None or dbt_resource_props.get("resource_type") not in (
        "model",
        "snapshot",
        "seed",
    ):
        return None
    fqn = dbt_resource_props.get("fqn", [])
    folder = fqn[1] if len(fqn) > 2 else None
    chosen = config.folders.get(folder, config.models) if folder else config.models
    if chosen == "off":
        return None
    if chosen == "eager":
        return AutomationCondition.eager()
    return AutomationCondition.on_cron(chosen.on_cron, cron_timezone=timezone)


def automation_sensor(
    config: AutomationConfig | None,
) -> AutomationConditionSensorDefinition | None:
    """`dbt_automation_sensor`, evaluating every asset's automation condition, or None when
    automation is off. Requires the Dagster daemon (`dagster dev` runs one)."""
    if config is None or not config.enabled:
        return None
    return AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING
        if config.sensor == "running"
        else DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=config.minimum_interval_seconds,
        description="Builds each dbt model with an automation condition once its upstream tables have new data.",
    )


def automated_selection(
    config: AutomationConfig | None, source_names: list[str]
) -> AssetSelection | None:
    """The assets the automation sensor builds, to leave out of the source jobs, or None.

    The models' groups are their top folders (`dbt.translator.ModelTranslator`), so the
    selection follows `condition_of`: with `models` set, every asset outside the sources'
    groups (`source_names`) and outside the folders set to `off`; else the groups of the
    folders that have a condition.
    """
    if config is None or not config.enabled:
        return None
    off = [folder for folder, condition in config.folders.items() if condition == "off"]
    if config.models != "off":
        return AssetSelection.all() - AssetSelection.groups(*source_names, *off)
    return AssetSelection.groups(*(f for f, c in config.folders.items() if c != "off"))
