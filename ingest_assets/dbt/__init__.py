"""The dbt integration: the dbt project, its manifest and the `@dbt_assets` definition."""
