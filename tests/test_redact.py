"""Secrets never reach logs, metadata, errors or the ledger: the redaction rules."""

from __future__ import annotations

import pytest

from ingest_assets.redact import redact

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("could not connect to postgresql://loader:s3cr3t-pw@db.internal:5432/shop", "s3cr3t-pw"),
        ("mysql+pymysql://root:hunter22@127.0.0.1/test: Access denied", "hunter22"),
        ("request failed: password=topsecret&user=a", "topsecret"),
        ("config {'api_key': 'abcd1234efgh'} rejected", "abcd1234efgh"),
        (
            "401 Unauthorized with headers Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload",
            "eyJhbGciOiJIUzI1NiJ9.payload",
        ),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI/K7MDENG"),
    ],
)
def test_known_secret_shapes_are_removed(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert "***" in cleaned


def test_known_secret_values_are_removed_anywhere():
    assert (
        redact("token rotated: value xyz-987-abc was bad", secrets=["xyz-987-abc"])
        == "token rotated: value *** was bad"
    )


def test_ordinary_text_is_kept():
    text = "source 'crm': table 'orders': column 'password_reset_at' has type timestamp"
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET https://maps.example.com/api?key=AIzaSyD-xyz123&q=berlin failed", "AIzaSyD-xyz123"),
        ("500 Server Error for url: https://h/x?sig=abcdEFGH1234&se=2024", "abcdEFGH1234"),
        ("https://h/x?api_key=k-998877&page=2", "k-998877"),
        ("https://h/x?page=1&access_token=ya29.a0AfH6", "ya29.a0AfH6"),
        ("https://h/x?partner_key=PK-55443322", "PK-55443322"),
        ("https://h/x?password=pw-4433&user=a", "pw-4433"),
        ("https://h/x?client_secret=cs-11223344", "cs-11223344"),
        (
            "https://bucket.s3.amazonaws.com/f?X-Amz-Signature=f00dbabe1234&X-Amz-Expires=60",
            "f00dbabe1234",
        ),
        (
            "https://storage.googleapis.com/b/f?X-Goog-Credential=svc%40p.iam&X-Goog-Signature=abc123def",
            "abc123def",
        ),
        ("https://acct.blob.core.windows.net/c/f?sv=2022&sig=Zm9vYmFy%3D&se=2024", "Zm9vYmFy%3D"),
        (
            "headers: Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
            "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
        ),
        ("{'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ('{"authorization": "Bearer abc.def.ghi"}', "abc.def.ghi"),
        ("Authorization: Digest-ish deadbeefcafe", "deadbeefcafe"),
        ("Proxy-Authorization: Negotiate YIIGhgYJKoZIhvcS", "YIIGhgYJKoZIhvcS"),
        ("Authorization: rawtokenvalue42", "rawtokenvalue42"),
    ],
)
def test_query_parameters_and_authorization_headers_are_removed(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert "***" in cleaned


def test_authorization_scheme_is_kept():
    assert redact("Authorization: Token abcdef123456") == "Authorization: Token ***"
    assert redact("https://h/x?k=1&token=abcdef&page=2") == "https://h/x?k=1&token=***&page=2"


@pytest.mark.parametrize(
    "text",
    [
        "(1045, \"Access denied for user 'root'@'localhost' (using password: YES)\")",
        "Access denied for user 'root'@'localhost' (using password: NO)",
        "table 'orders': write_disposition 'merge' needs a primary_key: add primary_key: id",
        "GET https://h/items?page=2&sort=created_at failed with 500",
        "no database credentials: add sql_database.credentials to sources.yml",
        "the token endpoint answered 401",
    ],
)
def test_messages_without_secrets_are_kept(text):
    assert redact(text) == text


def test_remembered_values_are_removed_with_their_url_encoded_forms():
    from ingest_assets.redact import forget_secrets, remember_secrets

    try:
        remember_secrets(["p@ss word/42", "abc", None])
        text = "a p@ss word/42 b p%40ss%20word%2F42 c p%40ss+word%2F42 d abc"
        assert redact(text) == "a *** b *** c *** d abc"  # values under 4 characters are ignored
    finally:
        forget_secrets()


def test_a_hint_placeholder_is_kept():
    text = 'add api_token = "..." under [sources.broken] in .dlt/secrets.toml'
    assert redact(text) == text
