"""The dlt integration: pipelines, the asset translator and the `@dlt_assets` factory."""
