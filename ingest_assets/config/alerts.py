"""The `alerts:` block of sources.yml: which events alert, and the channels that carry them.

Secrets (the webhook URL, the SMTP password) are never written in sources.yml: the block names
a dlt config key (e.g. `alerts.slack_webhook`) that dlt resolves from `.dlt/secrets.toml` or the
environment (`ALERTS__SLACK_WEBHOOK`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ingest_assets.config.common import StrictModel

AlertEvent = Literal["run_failure", "check_failure", "freshness", "schema_drift"]
ALL_EVENTS: list[AlertEvent] = ["run_failure", "check_failure", "freshness", "schema_drift"]


class WebhookChannel(StrictModel):
    """A Slack-compatible webhook: each alert is POSTed as JSON `{"text": "..."}`.

    Attributes:
        url_secret: dlt config key of the webhook URL, e.g. `alerts.slack_webhook` (in
            `.dlt/secrets.toml` as `[alerts] slack_webhook = "https://hooks.slack.com/..."`, or
            the environment variable `ALERTS__SLACK_WEBHOOK`).
        timeout_seconds: how long one POST may take.
    """

    url_secret: str = Field(min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0)


class EmailChannel(StrictModel):
    """Email over SMTP, one message per alert.

    Attributes:
        host, port: the SMTP server (port 25 by default; 587 with `starttls: true`).
        sender: the `From:` address (YAML key `from`).
        to: the recipients.
        username: SMTP login user; None sends without logging in.
        password_secret: dlt config key of the SMTP password, e.g. `alerts.smtp_password`.
        starttls: upgrade the connection with STARTTLS before logging in.
        timeout_seconds: connect and send timeout.
    """

    host: str = Field(min_length=1)
    port: int = Field(default=25, gt=0, lt=65536)
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    username: str | None = None
    password_secret: str | None = None
    starttls: bool = False
    timeout_seconds: float = Field(default=10.0, gt=0)


class AlertsConfig(StrictModel):
    """`alerts:`: where alerts go and which events send one.

    Attributes:
        base_url: the Dagster UI's address; each alert links `<base_url>/runs/<run_id>`.
        events: the events that alert (default all): `run_failure` (a run failed),
            `check_failure` (an asset check of ERROR severity failed), `freshness` (a freshness
            check failed, whatever its severity) and `schema_drift` (a load added, removed or
            retyped columns).
        webhook: optional webhook channel.
        email: optional email channel.
    """

    base_url: str = "http://127.0.0.1:3000"
    events: list[AlertEvent] = Field(default_factory=lambda: list(ALL_EVENTS))
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None

    @model_validator(mode="after")
    def _one_channel(self) -> AlertsConfig:
        if self.webhook is None and self.email is None:
            raise ValueError(
                "alerts needs a channel: add webhook (url_secret) and/or email (host, from, to)"
            )
        return self

    def run_url(self, run_id: str) -> str:
        """The run's page in the Dagster UI."""
        return f"{self.base_url.rstrip('/')}/runs/{run_id}"
