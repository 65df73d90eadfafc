"""Source types: one package per `type:` of sources.yml (`filesystem`, `sql_database`,
`rest_api`, `dlt_native`), each behind the interface of `ingest_assets.sources.base`, listed in
`ingest_assets.sources.registry`.

This package module imports nothing, so that a source type's package can be imported without
the others (`ingest_assets.sources.registry` imports them all).
"""
