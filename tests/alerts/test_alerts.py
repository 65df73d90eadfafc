"""Alerts for real: failing and drifting runs on a real Dagster instance, the alert sensors
evaluated on it, messages received by a local HTTP server (webhook) and a local SMTP server."""

from __future__ import annotations

import email
import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context
from helpers import execute_job, write_csv

from ingest_assets.alerts.sensors import RUN_FAILURE_SENSOR, RUN_SUCCESS_SENSOR
from ingest_assets.project import build_definitions, load_project

WEBHOOK_SECRET_PATH = "/services/T0001/B0001/s3cr3tW3bh00kT0ken"
SMTP_PASSWORD = "smtp-Pa55word-xyz"


class _Inbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's Controller cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def _project(make_project, smtp_port: int, httpserver, events=None, **table_options) -> Path:
    os.environ["ALERTS__HOOK_URL"] = httpserver.url_for(WEBHOOK_SECRET_PATH)
    os.environ["ALERTS__SMTP_PASSWORD"] = SMTP_PASSWORD
    alerts = {
        "base_url": "http://dagster.example:3000/",
        "webhook": {"url_secret": "alerts.hook_url"},
        "email": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "from": "ingest@example.com",
            "to": ["data@example.com"],
        },
    }
    if events:
        alerts["events"] = events
    source = {
        "name": "events",
        "type": "filesystem",
        "max_retries": 0,
        "filesystem": {
            "bucket_url": "data/events",
            "tables": [
                {"name": "clicks", "file_glob": "clicks*", "format": "csv", **table_options}
            ],
        },
    }
    import yaml

    root = make_project([source])
    (root / "sources.yml").write_text(
        yaml.safe_dump({"version": 1, "alerts": alerts, "sources": [source]}, sort_keys=False)
    )
    return root


def _evaluate(project: Path, instance: DagsterInstance, result, sensor_name: str) -> None:
    defs = build_definitions(load_project(project))
    sensor = defs.resolve_sensor_def(sensor_name)
    run = instance.get_run_by_id(result.run_id)
    wanted = (
        DagsterEventType.RUN_FAILURE
        if sensor_name == RUN_FAILURE_SENSOR
        else DagsterEventType.RUN_SUCCESS
    )
    event = next(e for e in result.all_events if e.event_type == wanted)
    context = build_run_status_sensor_context(
        sensor_name=sensor_name, dagster_event=event, dagster_instance=instance, dagster_run=run
    )
    sensor(context.for_run_failure() if sensor_name == RUN_FAILURE_SENSOR else context)


def _webhook_texts(httpserver) -> list[str]:
    return [json.loads(request.data)["text"] for request, _ in httpserver.log]


@pytest.mark.integration
def test_run_failure_alerts_on_webhook_and_email(make_project, httpserver, smtp):
    port, inbox = smtp
    httpserver.expect_request(WEBHOOK_SECRET_PATH, method="POST").respond_with_data("ok")
    project = _project(make_project, port, httpserver, format="jsonl")
    folder = project / "data" / "events"
    folder.mkdir(parents=True)
    (folder / "clicks.jsonl").write_text('{"id": 1}\n{"id": \n')  # broken JSON: the load fails

    with DagsterInstance.ephemeral() as instance:
        result = execute_job(project, "events_job", instance=instance, raise_on_error=False)
        assert not result.success
        _evaluate(project, instance, result, RUN_FAILURE_SENSOR)

    texts = _webhook_texts(httpserver)
    assert len(texts) == 1
    text = texts[0]
    assert "run failed: job events_job" in text
    assert "source: events" in text and "table: clicks" in text
    assert f"http://dagster.example:3000/runs/{result.run_id}" in text
    assert "clicks.jsonl" in text  # the load step's error names the file
    assert WEBHOOK_SECRET_PATH not in text and "s3cr3t" not in text
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "data@example.com" and "run failed" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert f"/runs/{result.run_id}" in body and "source: events" in body and "s3cr3t" not in body


@pytest.mark.integration
def test_check_freshness_and_schema_drift_alerts(make_project, httpserver, smtp):
    port, inbox = smtp
    httpserver.expect_request(WEBHOOK_SECRET_PATH, method="POST").respond_with_data("ok")
    project = _project(make_project, port, httpserver, freshness={"max_lag": "1h", "cursor": "at"})
    folder = project / "data" / "events"
    stale = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    write_csv(folder / "clicks1.csv", [{"id": 1, "at": stale}])

    with DagsterInstance.ephemeral() as instance:
        first = execute_job(project, "events_job", instance=instance)
        _evaluate(project, instance, first, RUN_SUCCESS_SENSOR)
        texts = _webhook_texts(httpserver)
        assert len(texts) == 1  # the stale cursor; no drift on the first load
        assert "freshness check failed: raw_events/clicks cursor_freshness" in texts[0]
        assert "lag_seconds" in texts[0] and f"/runs/{first.run_id}" in texts[0]

        # a new column, fresh data -> drift only; then an emptied file -> row_count (ERROR) fails
        write_csv(
            folder / "clicks2.csv",
            [{"id": 2, "at": datetime.now(UTC).isoformat(), "page": "/home"}],
        )
        second = execute_job(project, "events_job", instance=instance)
        _evaluate(project, instance, second, RUN_SUCCESS_SENSOR)
        texts = _webhook_texts(httpserver)[1:]
        assert len(texts) == 1
        assert "schema changed: raw_events/clicks" in texts[0] and '"page"' in texts[0]
        assert f"/runs/{second.run_id}" in texts[0]

    assert [m["Subject"].split(":")[0] for m in inbox.messages] == [
        "[ingest] freshness check failed",
        "[ingest] schema changed",
    ]


@pytest.mark.integration
def test_failed_error_check_alerts_and_events_filter(make_project, httpserver, smtp):
    port, inbox = smtp
    httpserver.expect_request(WEBHOOK_SECRET_PATH, method="POST").respond_with_data("ok")
    project = _project(make_project, port, httpserver, events=["check_failure"])
    folder = project / "data" / "events"
    folder.mkdir(parents=True)
    (folder / "clicks.csv").write_text("id,at\n")  # no rows: row_count (ERROR) fails

    with DagsterInstance.ephemeral() as instance:
        result = execute_job(project, "events_job", instance=instance)
        _evaluate(project, instance, result, RUN_SUCCESS_SENSOR)

    texts = _webhook_texts(httpserver)
    assert len(texts) == 1
    assert (
        "check failed: raw_events/clicks row_count" in texts[0] and "the table is empty" in texts[0]
    )
    assert len(inbox.messages) == 1


@pytest.mark.integration
def test_undeliverable_alert_fails_the_tick_naming_the_channel(make_project, httpserver, smtp):
    port, inbox = smtp
    httpserver.expect_request(WEBHOOK_SECRET_PATH, method="POST").respond_with_data(
        "no", status=500
    )
    project = _project(make_project, port, httpserver, format="jsonl")
    folder = project / "data" / "events"
    folder.mkdir(parents=True)
    (folder / "clicks.jsonl").write_text('{"id": \n')

    from ingest_assets.alerts.channels import AlertDeliveryError

    with DagsterInstance.ephemeral() as instance:
        result = execute_job(project, "events_job", instance=instance, raise_on_error=False)
        with pytest.raises(
            AlertDeliveryError, match="webhook: the webhook answered HTTP 500"
        ) as error:
            _evaluate(project, instance, result, RUN_FAILURE_SENSOR)
    assert "s3cr3t" not in str(error.value)
    assert len(inbox.messages) == 1  # email still delivered


@pytest.mark.unit
def test_alerts_config_errors_name_the_field():
    from ingest_assets.config import ConfigError
    from ingest_assets.config.loader import validate_document

    with pytest.raises(ConfigError) as no_channel:
        validate_document({"version": 1, "alerts": {"base_url": "http://x"}}, "sources.yml")
    assert "alerts needs a channel" in str(no_channel.value.problems)
    with pytest.raises(ConfigError) as url_in_yaml:
        validate_document(
            {"version": 1, "alerts": {"webhook": {"url": "https://hooks.example/T/s3cr3t"}}},
            "sources.yml",
        )
    problems = " ".join(url_in_yaml.value.problems)
    assert "alerts.webhook" in problems and "s3cr3t" not in problems


@pytest.mark.integration
def test_last_update_freshness_miss_alerts(make_project, httpserver, smtp):
    """Dagster's last-update freshness check (no cursor column), run as its sensor runs it."""
    import time

    from dagster import AssetSelection, materialize

    port, _ = smtp
    httpserver.expect_request(WEBHOOK_SECRET_PATH, method="POST").respond_with_data("ok")
    project = _project(
        make_project, port, httpserver, events=["freshness"], freshness={"max_lag": "1s"}
    )
    write_csv(project / "data" / "events" / "clicks.csv", [{"id": 1}])
    defs = build_definitions(load_project(project))
    with DagsterInstance.ephemeral() as instance:
        execute_job(project, "events_job", instance=instance)
        time.sleep(1.5)
        check_keys = [
            k for c in defs.asset_checks for k in c.check_keys if k.name == "freshness_check"
        ]
        result = materialize(
            [*defs.assets, *defs.asset_checks],
            resources=defs.resources,
            instance=instance,
            selection=AssetSelection.checks(*check_keys),
        )
        _evaluate(project, instance, result, RUN_SUCCESS_SENSOR)
    texts = _webhook_texts(httpserver)
    assert (
        len(texts) == 1 and "freshness check failed: raw_events/clicks freshness_check" in texts[0]
    )
    assert f"/runs/{result.run_id}" in texts[0]
