"""Your own dlt sources. A module here is referenced in `sources.yml` by its bare name:
`type: dlt_native`, `dlt_native: {source_module: example_shop, source_function: example_shop}`."""
