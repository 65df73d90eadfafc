"""Secrets never reach logs, metadata, errors or the ledger: the redaction rules."""

from __future__ import annotations

import pytest

from ingest_assets.redact import redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("could not connect to postgresql://loader:s3cr3t-pw@db.internal:5432/shop", "s3cr3t-pw"),
        ("mysql+pymysql://root:hunter22@127.0.0.1/test: Access denied", "hunter22"),
        ("request failed: password=topsecret&user=a", "topsecret"),
        ("config {'api_key': 'abcd1234efgh'} rejected", "abcd1234efgh"),
        ("401 Unauthorized with headers Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9.payload"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI/K7MDENG"),
    ],
)
def test_known_secret_shapes_are_removed(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert "***" in cleaned


def test_known_secret_values_are_removed_anywhere():
    assert redact("token rotated: value xyz-987-abc was bad", secrets=["xyz-987-abc"]) == "token rotated: value *** was bad"


def test_ordinary_text_is_kept():
    text = "source 'crm': table 'orders': column 'password_reset_at' has type timestamp"
    assert redact(text) == text
