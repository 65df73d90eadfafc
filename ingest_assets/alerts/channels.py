"""Deliver alerts: a Slack-compatible webhook and email over SMTP, with secrets from dlt.

Every text sent passes through `ingest_assets.redact.redact`, with the channel's own secrets
(the webhook URL, the SMTP password) as known values, so an alert never carries a secret.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

import dlt
import requests

from ingest_assets.config.alerts import AlertsConfig
from ingest_assets.redact import redact


class AlertDeliveryError(Exception):
    """An alert could not be delivered on one or more channels (the message names them)."""


@dataclass(frozen=True)
class Alert:
    """One alert.

    Attributes:
        event: `run_failure`, `check_failure`, `freshness` or `schema_drift`.
        source: the source name (`-` for an asset outside the sources, e.g. a dbt model).
        tables: the tables concerned (asset key's last part), possibly empty.
        run_id: the Dagster run.
        summary: one line saying what happened.
        details: more lines (error message, check metadata, column changes).
    """

    event: str
    source: str
    tables: tuple[str, ...]
    run_id: str
    summary: str
    details: str = ""

    def text(self, config: AlertsConfig) -> str:
        """The message text: summary, source, tables, run and its link, then the details."""
        lines = [
            f"[ingest] {self.summary}",
            f"source: {self.source}",
            f"table: {', '.join(self.tables) or '-'}",
            f"run: {self.run_id} {config.run_url(self.run_id)}",
        ]
        if self.details:
            lines.append(self.details)
        return "\n".join(lines)


def secret_value(key: str) -> str | None:
    """The value of dlt config key `key` (e.g. `alerts.slack_webhook`) from `.dlt/secrets.toml`,
    `.dlt/config.toml` or the environment (`ALERTS__SLACK_WEBHOOK`); None when unset."""
    value = dlt.secrets.get(key)
    return None if value is None else str(value)


def deliver(alert: Alert, config: AlertsConfig) -> None:
    """Send `alert` on every channel of `config`.

    Raises:
        AlertDeliveryError: a channel is not configured (secret missing) or failed; the other
            channels were still tried. The message names the channel, never its secret.
    """
    secrets = [s for s in (_webhook_url(config), _smtp_password(config)) if s]
    text = redact(alert.text(config), secrets)
    problems = []
    if config.webhook is not None:
        try:
            send_webhook(config, text)
        except Exception as error:  # noqa: BLE001 - try the other channels, then report all
            problems.append(f"webhook: {redact(str(error), secrets)}")
    if config.email is not None:
        try:
            send_email(config, redact(alert.summary, secrets), text)
        except Exception as error:  # noqa: BLE001
            problems.append(f"email: {redact(str(error), secrets)}")
    if problems:
        raise AlertDeliveryError(f"alert '{alert.summary}' not delivered: " + "; ".join(problems))


def send_webhook(config: AlertsConfig, text: str) -> None:
    """POST `{"text": text}` to the webhook URL (Slack incoming-webhook format).

    Raises:
        AlertDeliveryError: the URL secret is unset, or the server answered with an error status.
        requests.RequestException: the server could not be reached in time.
    """
    assert config.webhook is not None
    url = _webhook_url(config)
    if not url:
        raise AlertDeliveryError(
            f"the webhook URL secret '{config.webhook.url_secret}' is not set: add it to .dlt/secrets.toml "
            f"or set {config.webhook.url_secret.upper().replace('.', '__')}"
        )
    response = requests.post(url, json={"text": text}, timeout=config.webhook.timeout_seconds)
    if response.status_code >= 400:
        raise AlertDeliveryError(f"the webhook answered HTTP {response.status_code}")


def send_email(config: AlertsConfig, subject: str, text: str) -> None:
    """Send one email with `subject` and body `text` to `email.to` over SMTP.

    Raises:
        AlertDeliveryError: `password_secret` is set but the secret is not.
        smtplib.SMTPException, OSError: the server refused or could not be reached.
    """
    email = config.email
    assert email is not None
    message = EmailMessage()
    message["Subject"] = f"[ingest] {subject}"
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    message.set_content(text)
    password = _smtp_password(config)
    if email.password_secret and not password:
        raise AlertDeliveryError(f"the SMTP password secret '{email.password_secret}' is not set")
    with smtplib.SMTP(email.host, email.port, timeout=email.timeout_seconds) as smtp:
        if email.starttls:
            smtp.starttls()
        if email.username and password:
            smtp.login(email.username, password)
        smtp.send_message(message)


def _webhook_url(config: AlertsConfig) -> str | None:
    return secret_value(config.webhook.url_secret) if config.webhook else None


def _smtp_password(config: AlertsConfig) -> str | None:
    if config.email is None or not config.email.password_secret:
        return None
    return secret_value(config.email.password_secret)
