"""The secret values of a run, registered for redaction, and a dlt trace that keeps none of them.

A run registers (`remember_run_secrets`) every secret value dlt can resolve for it, so that
`ingest_assets.redact.redact` removes them from every text the project writes: failure messages,
metadata, the ledger, the audit log and log lines. They are:
- every value of dlt's secret documents (`.dlt/secrets.toml`, and any other secrets provider
  holding a document), except where/who keys (`host`, `port`, `database`, `username`, ... see
  `NOT_SECRET_KEYS`);
- the environment variables named by the source's `*_env` keys in `sources.yml`;
- dlt-style environment variables (`SOURCES__...`, `DESTINATION__...`, ...) whose key is a
  credential (`...__PASSWORD`, `...__TOKEN`, `...__API_KEY`, `...__CREDENTIALS`, ...);
- every value dlt resolved with a secret hint (`dlt.secrets.value`, credentials specs) in this
  process, whatever its provider, e.g. `SOURCES__SHOP__PARTNER` read for `partner: str =
  dlt.secrets.value`.

Values stay in the process's memory. dlt's own trace (`trace.pickle` in the pipeline's working
folder) is written through `RedactingCollector`, which redacts each step's exception text and
exception traces before dlt saves it.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.configuration import is_secret_hint
from dlt.common.configuration.providers.doc import BaseDocProvider
from dlt.common.configuration.utils import get_resolved_traces
from dlt.common.runtime.collector import LogCollector

from ingest_assets.config.common import SourceBase
from ingest_assets.redact import (
    forget_secrets,
    redact,
    redact_data,
    redact_logger,
    remember_secrets,
)

_DLT_ENV_SECTIONS = ("SOURCES", "DESTINATION", "CREDENTIALS", "STAGING")
_SECRET_ENV_KEY = re.compile(
    r"(PASSWORD|PASSWD|PWD|SECRET|TOKEN|KEY|KEY_ID|SIG|SIGNATURE|CREDENTIALS|CONNECTION_STRING|DSN)$"
)

_NOT_SECRET_ENV_KEYS = frozenset(
    {"PRIMARY_KEY", "MERGE_KEY", "ROOT_KEY", "PARTITION_KEY", "SORT_KEY", "CLUSTER_KEY"}
)
"""Key names that end like a credential but are table hints."""


def remember_run_secrets(source: SourceBase | None = None, fresh: bool = False) -> None:
    """Register the secret values of a run of `source` for redaction (see the module docstring),
    and redact dlt's log records. Call it when the run starts (`fresh=True`), and again after
    the run's dlt source is built (so the secrets dlt resolved for it are known).

    Args:
        source: the source config whose `*_env` variables are secrets too; None registers the
            project-wide values only.
        fresh: forget the values registered before (by an earlier run in this process), so a
            long-lived process holds only the current run's secrets.
    """
    if fresh:
        forget_secrets()
    remember_secrets(_secret_values(source))
    redact_logger(logging.getLogger("dlt"))


def _secret_values(source: SourceBase | None) -> Iterator[str]:
    yield from _document_secrets()
    yield from _env_secrets()
    if source is not None:
        for variable in _named_env_variables(source.model_dump()):
            value = os.environ.get(variable)
            if value:
                yield value
    yield from resolved_secret_values()


def resolved_secret_values() -> list[str]:
    """The values dlt resolved with a secret hint since its trace log was last cleared."""
    values = []
    for trace in get_resolved_traces().resolved_traces:
        if is_secret_hint(trace.hint) and isinstance(trace.value, (str, bytes)) and trace.value:
            values.append(
                trace.value
                if isinstance(trace.value, str)
                else trace.value.decode(errors="replace")
            )
    return values


def _document_secrets() -> Iterator[str]:
    """Every leaf value of dlt's secret documents (`.dlt/secrets.toml`)."""
    for provider in dlt.secrets.config_providers:
        if (
            isinstance(provider, BaseDocProvider)
            and provider.supports_secrets
            and not provider.is_empty
        ):
            try:
                document = tomllib.loads(provider.to_toml())
            except (tomllib.TOMLDecodeError, TypeError, ValueError):
                continue
            yield from _leaves(document)


def _env_secrets() -> Iterator[str]:
    """Values of dlt-style environment variables whose key names a credential."""
    for name, value in os.environ.items():
        parts = name.upper().split("__")
        if len(parts) < 2 or parts[0] not in _DLT_ENV_SECTIONS:
            continue
        if _SECRET_ENV_KEY.search(parts[-1]) and parts[-1] not in _NOT_SECRET_ENV_KEYS:
            yield value


def _named_env_variables(config: Any) -> Iterator[str]:
    """The variable names given in `*_env` keys anywhere in a source's config."""
    if isinstance(config, dict):
        for key, value in config.items():
            if isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
                yield value
            else:
                yield from _named_env_variables(value)
    elif isinstance(config, list):
        for item in config:
            yield from _named_env_variables(item)


NOT_SECRET_KEYS = frozenset(
    {
        "host",
        "port",
        "database",
        "username",
        "user",
        "drivername",
        "region_name",
        "region",
        "endpoint_url",
        "base_url",
        "bucket_url",
        "schema",
        "dataset_name",
        "warehouse",
        "role",
        "query",
        "timeout",
        "use_ssl",
        "verify",
    }
)
"""Keys of `.dlt/secrets.toml` whose values are where and who, not secrets: not redacted (a
host or user name blanked out of every message would hide what failed)."""


def _leaves(document: Any) -> Iterator[str]:
    if isinstance(document, dict):
        for key, value in document.items():
            if str(key).lower() not in NOT_SECRET_KEYS:
                yield from _leaves(value)
    elif isinstance(document, list):
        for value in document:
            yield from _leaves(value)
    elif isinstance(document, str) and not _is_flag_or_number(document):
        yield document


def _is_flag_or_number(value: str) -> bool:
    return (
        value.lower() in {"true", "false", "yes", "no", "none", "null"}
        or value.replace(".", "", 1).isdigit()
    )


class RedactingCollector(LogCollector):
    """dlt's `LogCollector` (progress lines) that also keeps secrets out of dlt's trace.

    At the end of each pipeline step it registers the secret values dlt resolved (before dlt
    clears its trace log), and replaces the step's exception text and exception traces in the
    trace by their redacted form, before dlt saves `trace.pickle`.
    """

    def on_end_trace_step(
        self, trace: Any, step: Any, pipeline: Any, step_info: Any, send_state: bool
    ) -> None:
        """Register resolved secrets and redact the steps of `trace` (see the class docstring)."""
        remember_secrets(resolved_secret_values())
        _redact_steps(trace)
        super().on_end_trace_step(trace, step, pipeline, step_info, send_state)

    def on_end_trace(self, trace: Any, pipeline: Any, send_state: bool) -> None:
        """Redact every step of `trace` once more before dlt merges and saves it."""
        _redact_steps(trace)
        super().on_end_trace(trace, pipeline, send_state)


def _redact_steps(trace: Any) -> None:
    steps = getattr(trace, "steps", None)
    if not steps:
        return
    for index, step in enumerate(steps):
        if step.step_exception is None and not step.exception_traces:
            continue
        steps[index] = step._replace(
            step_exception=redact(step.step_exception)
            if step.step_exception
            else step.step_exception,
            exception_traces=redact_data(step.exception_traces)
            if step.exception_traces
            else step.exception_traces,
        )
