"""Alerts: `alerts:` in sources.yml sends a message (webhook, email) on a run failure, a failed
check of error severity, a freshness miss and schema drift. The `alerts:` model is
`ingest_assets.config.alerts`; delivery in `channels`, sensors in `sensors`."""
