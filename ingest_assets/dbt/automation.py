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
from typing import Any, Literal

from dagster import (
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
)
from pydantic import BaseModel, ConfigDict, Field, field_validator

AUTOMATION_SENSOR = "dbt_automation_sensor"
"""Name of the sensor that evaluates the models' automation conditions."""


class OnCron(BaseModel):
    """`{on_cron: "<cron>"}`: build once per cron tick, after all upstream tables updated."""

    model_config = ConfigDict(extra="forbid")

    on_cron: str

    @field_validator("on_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value


ConditionConfig = Literal["eager", "off"] | OnCron
"""One model's (or folder's) automation: `eager`, `{on_cron: ...}` or `off`."""


class AutomationConfig(BaseModel):
    """sources.yml `automation:`.

    Attributes:
        models: the condition of every dbt model without a folder entry; default `off`.
        folders: `{top folder under models/: condition}`, e.g. `{marts: eager}`.
        sensor: whether `dbt_automation_sensor` starts `running` (default) or `stopped`.
        minimum_interval_seconds: seconds between two evaluations of the sensor (default 30).
    """

    model_config = ConfigDict(extra="forbid")

    models: ConditionConfig = "off"
    folders: dict[str, ConditionConfig] = Field(default_factory=dict)
    sensor: Literal["running", "stopped"] = "running"
    minimum_interval_seconds: int = Field(default=30, ge=5)

    @property
    def enabled(self) -> bool:
        """True when any model can get a condition."""
        return self.models != "off" or any(c != "off" for c in self.folders.values())


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
