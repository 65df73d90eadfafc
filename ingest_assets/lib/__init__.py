"""The project's reusable Components (`dg list components` lists them, `registry_modules`).

- `SourcesComponent`: reads `sources.yml` (and the Excel job sheet) and builds each enabled
  source's asset group, checks, job, schedule, sensors and the alert sensors.
- `DbtModelsComponent`: the dbt project as dagster-dbt's `DbtProjectComponent`, with this
  project's translator, pool and manifest fingerprint.
"""

from ingest_assets.lib.dbt_models import DbtModelsComponent
from ingest_assets.lib.sources import SourcesComponent

__all__ = ["DbtModelsComponent", "SourcesComponent"]
