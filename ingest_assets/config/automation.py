"""sources.yml `automation:`: which dbt models get a Dagster automation condition.

```yaml
automation:
  models: eager                      # every dbt model: eager | {on_cron: "<cron>"} | off
  folders:                           # per top folder under models/ (overrides `models`)
    staging: eager
    marts: {on_cron: "0 6 * * *"}
  sensor: running                    # the automation sensor starts running (default) or stopped
```

The conditions, the sensor and the jobs' selection are in `ingest_assets.dbt.automation`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
