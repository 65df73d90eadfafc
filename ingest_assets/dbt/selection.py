"""Which dbt models a run can skip because nothing upstream of them changed (no-op runs).

A source's job loads its tables, then runs `dbt build` for the models downstream. When the load
brought no new rows, rebuilding those models (and re-running dbt's source tests on the unchanged
raw tables) costs a dbt start and every query for nothing. Before it starts dbt, the dbt step asks
the Dagster instance what changed:

- a raw table (a dlt asset) *changed* when one of its materializations since the model's last
  build has `rows_loaded > 0` (or child-table rows, or no `rows_loaded` at all: a load this
  module does not know is taken as a change);
- an upstream model changed when it was materialized after the model's last build, or is
  rebuilt in this run;
- a model is rebuilt when it was never materialized, its code version (dbt's checksum of the
  SQL) differs from its last materialization's, an upstream table or model changed, or the
  run is a full refresh (`full_refresh: true` in any op's config);
- a run that loaded no raw table (models materialized by hand in the UI) builds everything
  it selected, as before.

Every other selected model is left out of `dbt build` (`--exclude <fqn>`), and the step logs it
and records an `AssetObservation` with `dbt_skipped: upstream unchanged` for it; dbt's tests on
a raw table the run loaded with no new rows are left out the same way. When nothing is left,
dbt is not started at all. Everything is read through public APIs: the step's
`AssetsDefinition` specs (deps, code versions, dbt unique ids),
`DagsterInstance.get_asset_records` (one query for the latest materialization of every model and
raw table) and `DagsterInstance.fetch_materializations` (one per raw table, when a model may be
skipped).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetRecordsFilter,
)

UNIQUE_ID = "dagster_dbt/unique_id"
"""Metadata key dagster-dbt gives each dbt asset and check spec: the node's dbt unique id."""

CODE_VERSION_TAG = "dagster/code_version"
"""Tag Dagster puts on a materialization of an asset that has a code version."""

SKIPPED = "upstream unchanged"
"""The `dbt_skipped` value of the observation recorded for a model that was left out."""

HISTORY_LIMIT = 1000
"""Materializations of one raw table read at most since a model's last build; more is a change."""


@dataclass
class DbtSelection:
    """What the dbt step builds in this run.

    Attributes:
        skipped_models: selected model asset keys left out (upstream unchanged), with the
            reason shown in their observation.
        skipped_tests: selected dbt test checks left out (on raw tables that loaded no rows).
        exclude: dbt node selectors (fully qualified names) for `--exclude`.
        build_nothing: True when every selected model and test is left out: dbt need not run.
    """

    skipped_models: dict[AssetKey, str] = field(default_factory=dict)
    skipped_tests: list[AssetCheckKey] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    build_nothing: bool = False

    def cli_args(self) -> list[str]:
        """`["--exclude", "<fqn> <fqn> ..."]` for `DbtCliResource.cli`, or [] to build all."""
        return ["--exclude", " ".join(self.exclude)] if self.exclude else []

    def observations(self) -> Iterator[AssetObservation]:
        """One observation per skipped model, saying why (shown in the run and the asset's
        history; the model's last materialization stays its latest)."""
        for key, reason in self.skipped_models.items():
            yield AssetObservation(
                asset_key=key, metadata={"dbt_skipped": SKIPPED, "reason": reason}
            )


def is_full_refresh(run_config: Mapping[str, Any]) -> bool:
    """True when any op of the run is configured with `full_refresh: true` (`ingest sync
    --full-refresh`, or the launchpad)."""
    ops = run_config.get("ops") or {}
    return any(
        isinstance(op, Mapping)
        and isinstance(op.get("config"), Mapping)
        and op["config"].get("full_refresh") is True
        for op in ops.values()
    )


def raw_table_changed(metadata: Mapping[str, Any]) -> bool:
    """Whether a dlt asset's materialization (its metadata) changed the table: rows loaded into
    it or its child tables; a materialization without `rows_loaded` counts as a change."""
    rows = _value(metadata.get("rows_loaded"))
    if not isinstance(rows, int):
        return True
    children = _value(metadata.get("child_tables_rows_loaded")) or {}
    return rows > 0 or any(isinstance(n, int) and n > 0 for n in dict(children).values())


def plan_dbt_selection(context: AssetExecutionContext, manifest: Mapping[str, Any]) -> DbtSelection:
    """Decide which of the step's selected models and dbt tests can be left out (see the
    module docstring for the rules).

    Args:
        context: the dbt step's context (its `assets_def`, selection, run config, instance).
        manifest: the parsed dbt manifest of the definitions (`nodes`, `sources` by unique id).

    Returns:
        The selection; empty (build everything selected) on a full refresh.
    """
    selection = DbtSelection()
    if is_full_refresh(context.run.run_config or {}):
        return selection
    assets_def = context.assets_def
    instance = context.instance
    selected = set(context.selected_asset_keys)
    own_keys = set(assets_def.keys)
    specs = {spec.key: spec for spec in assets_def.specs}
    upstream = {key: [dep.asset_key for dep in specs[key].deps] for key in own_keys}

    raw_keys = _raw_keys(upstream, own_keys)
    # one query for the latest materialization of every model and raw table
    latest: dict[AssetKey, Any] = {key: None for key in (*own_keys, *raw_keys)}
    for record in instance.get_asset_records(list(latest)):
        latest[record.asset_entry.asset_key] = record.asset_entry.last_materialization
    run_id = context.run.run_id
    loaded_in_run = {
        key for key in raw_keys if latest[key] is not None and latest[key].run_id == run_id
    }
    if not loaded_in_run:  # no load in this run (e.g. models materialized by hand): build all
        return selection
    built = [latest[key].timestamp for key in selected if latest.get(key) is not None]
    raw_history = _RawHistory(instance, min(built, default=0.0))

    rebuilt: set[AssetKey] = set()
    for key in _topological(selected, upstream):
        reason = _rebuild_reason(
            key, specs[key].code_version, latest, upstream[key], own_keys, rebuilt, raw_history
        )
        if reason is None:
            upstream_names = ", ".join(k.to_user_string() for k in upstream[key]) or "none"
            selection.skipped_models[key] = (
                f"nothing changed upstream ({upstream_names}) since its last build"
            )
        else:
            rebuilt.add(key)

    unchanged_in_run = {
        key
        for key in loaded_in_run
        if not raw_table_changed(latest[key].asset_materialization.metadata)
    }
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    key_of_node = {(spec.metadata or {}).get(UNIQUE_ID): key for key, spec in specs.items()}
    unchanged = set(selection.skipped_models) | unchanged_in_run

    for key in list(selection.skipped_models):
        node = nodes.get((specs[key].metadata or {}).get(UNIQUE_ID, ""))
        if node:
            selection.exclude.append(".".join(node["fqn"]))
        else:  # a model without its dbt node cannot be excluded: build it
            selection.skipped_models.pop(key)
    check_specs = {spec.key: spec for spec in assets_def.check_specs}
    selected_checks = set(context.selected_asset_check_keys)
    for check_key in sorted(selected_checks, key=lambda c: c.to_user_string()):
        spec = check_specs.get(check_key)
        node = nodes.get(((spec.metadata or {}) if spec else {}).get(UNIQUE_ID, ""))
        if not node:
            continue
        parents = [
            _node_key(nodes, uid, key_of_node)
            for uid in node.get("depends_on", {}).get("nodes", [])
        ]
        # a test runs when any table or model it reads changed (e.g. a relationship test)
        if parents and all(parent in unchanged for parent in parents):
            selection.skipped_tests.append(check_key)
            selection.exclude.append(".".join(node["fqn"]))
    selection.build_nothing = selected <= set(selection.skipped_models) and selected_checks <= set(
        selection.skipped_tests
    )
    if selection.skipped_models or selection.skipped_tests:
        context.log.info(
            f"upstream unchanged: {len(selection.skipped_models)} of {len(selected)} dbt models and "
            f"{len(selection.skipped_tests)} dbt tests left out of this build: "
            + ", ".join(k.to_user_string() for k in selection.skipped_models)
        )
    return selection


def _rebuild_reason(
    key: AssetKey,
    code_version: str | None,
    latest: Mapping[AssetKey, Any],
    deps: Iterable[AssetKey],
    own_keys: set[AssetKey],
    rebuilt: set[AssetKey],
    raw_history: _RawHistory,
) -> str | None:
    """Why `key` must be built in this run, or None when it can be skipped."""
    last = latest.get(key)
    if last is None:
        return "never built"
    materialization = last.asset_materialization
    tags = (materialization.tags if materialization else None) or {}
    if code_version and tags.get(CODE_VERSION_TAG) not in (None, code_version):
        return "its SQL changed"
    for dep in deps:
        if dep in own_keys:
            if dep in rebuilt:
                return f"{dep.to_user_string()} is rebuilt"
            dep_last = latest.get(dep)
            if dep_last is not None and dep_last.timestamp > last.timestamp:
                return f"{dep.to_user_string()} was rebuilt since"
        elif raw_history.changed_since(dep, last.timestamp):
            return f"{dep.to_user_string()} loaded rows since"
    return None


class _RawHistory:
    """Materializations of raw tables since the oldest last build of the selected models, read
    from the instance once per table."""

    def __init__(self, instance: Any, since: float) -> None:
        self._instance = instance
        self._since = since
        self._records: dict[AssetKey, list[Any] | None] = {}

    def changed_since(self, key: AssetKey, timestamp: float) -> bool:
        """True when `key` was materialized with new rows after `timestamp` (epoch seconds, not
        before the `since` of this history)."""
        if key not in self._records:
            result = self._instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key, after_timestamp=self._since), limit=HISTORY_LIMIT
            )
            self._records[key] = (
                list(result.records) if len(result.records) < HISTORY_LIMIT else None
            )
        records = self._records[key]
        if records is None:  # too many loads to read: take it as changed
            return True
        return any(raw_table_changed(_metadata(r)) for r in records if r.timestamp > timestamp)


def _node_key(
    nodes: Mapping[str, Any], unique_id: str, key_of_node: Mapping[str, AssetKey]
) -> AssetKey | None:
    """The asset key of a dbt node: a model of the step, or a dbt source (a raw table, keyed
    as the project's translator keys it)."""
    if unique_id in key_of_node:
        return key_of_node[unique_id]
    node = nodes.get(unique_id)
    if node is None or node.get("resource_type") != "source":
        return None
    return _translator().get_asset_key(node)


@functools.cache
def _translator() -> Any:
    from ingest_assets.dbt.translator import ModelTranslator

    return ModelTranslator()


def _raw_keys(
    upstream: Mapping[AssetKey, list[AssetKey]], own_keys: set[AssetKey]
) -> set[AssetKey]:
    return {dep for deps in upstream.values() for dep in deps if dep not in own_keys}


def _topological(
    selected: set[AssetKey], upstream: Mapping[AssetKey, list[AssetKey]]
) -> list[AssetKey]:
    """The selected models, each after the models it depends on."""
    order: list[AssetKey] = []
    seen: set[AssetKey] = set()

    def visit(key: AssetKey) -> None:
        if key in seen:
            return
        seen.add(key)
        for dep in upstream.get(key, []):
            if dep in upstream:
                visit(dep)
        if key in selected:
            order.append(key)

    for key in sorted(selected, key=lambda k: k.to_user_string()):
        visit(key)
    return order


def _metadata(record: Any) -> Mapping[str, Any]:
    materialization = record.asset_materialization
    return materialization.metadata if materialization else {}


def _value(value: Any) -> Any:
    return getattr(value, "value", value)
