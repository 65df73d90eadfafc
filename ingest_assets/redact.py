"""Remove secrets from text before it reaches logs, run metadata, errors, the ledger or the
audit log: the project's one redaction module.

Two kinds of redaction, both applied by `redact`:
- by value: the exact secret values this process knows. A run registers every secret value dlt
  can resolve for it (`.dlt/secrets.toml`, `*_env` variables, `SOURCES__...` variables, values
  dlt resolved as secrets; see `ingest_assets.dlt.secrets`) with `remember_secrets`; they are
  replaced wherever they occur, URL-encoded forms included, whatever the text looks like.
- by pattern: credentials in well-known shapes, for secrets nobody registered.

Registered values live in this process's memory only; they are never written anywhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MIN_SECRET_LENGTH = 4
"""Registered or given values shorter than this are ignored (they would blank out ordinary words)."""

_SECRET_WORDS = (
    r"password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key(?:[_\-]?id)?"
    r"|private[_\-]?key|client[_\-]?secret|signature"
)

_QUERY_SECRET_WORDS = (
    r"key|token|sig|signature|secret|password|passwd|pwd|auth|code|session|sessionid|apikey"
    r"|api[_\-]?key|access[_\-]?token|refresh[_\-]?token|id[_\-]?token|client[_\-]?secret|x-amz-signature"
    r"|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|[\w.\-]*(?:_key|_token|_secret|_password|_sig)"
)

_PATTERNS = [
    # scheme://user:password@host -> scheme://user:***@host
    (
        re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+(?P<tail>@)"),
        r"\g<head>***\g<tail>",
    ),
    # Authorization: <scheme> <credentials> (Bearer, Basic, Token, Digest, AWS4-HMAC-SHA256, ...),
    # in a header line, a dict repr or JSON; the scheme is kept
    (
        re.compile(
            r"(?i)(?P<key>\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
            r"(?:(?P<scheme>[A-Za-z][\w\-]*)\s+)?(?!\*\*\*)[^\s\"',;}]+"
        ),
        lambda m: f"{m.group('key')}{m.group('scheme') + ' ' if m.group('scheme') else ''}***",
    ),
    # secret query parameters: ?key=..., &token=..., &sig=..., &api_key=..., &X-Amz-Signature=...
    (
        re.compile(rf"(?i)(?P<key>[?&;](?:{_QUERY_SECRET_WORDS})=)(?!\*\*\*)[^&#\s\"'<>]+"),
        r"\g<key>***",
    ),
    # password=..., token: ..., api_key = "...", aws_secret_access_key=...: the key must END in a
    # secret word, so `MissingSecretError: ...` or `password_reset_at: ...` are left alone; a
    # bare YES/NO is a flag, not a secret (MySQL's `(using password: YES)`), and `"..."` is the
    # placeholder of a hint (`add password = "..." under [sources.x]`)
    (
        re.compile(
            rf"(?i)(?P<key>\b[\w\-]*(?:{_SECRET_WORDS})[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*|\.\.\.)(?!(?:YES|NO)\b)[^\s\"',;&)}}]+"
        ),
        r"\g<key>***",
    ),
    # a bare `Bearer xyz` / `Basic xyz` credential outside an Authorization header
    (
        re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+(?!\*\*\*)[A-Za-z0-9._~+/=\-]{8,}"),
        r"\g<scheme> ***",
    ),
]

_known: set[str] = set()
_lock = threading.Lock()


def remember_secrets(values: Iterable[Any]) -> None:
    """Register secret values that `redact` removes from every text from now on, in this process.

    Args:
        values: secret values (strings; other types are converted with `str`). None, empty and
            values shorter than `MIN_SECRET_LENGTH` are skipped. Each value's URL-encoded forms
            (`quote`, `quote_plus`) are registered too, as a secret in a URL is encoded.
    """
    new = set()
    for value in values:
        if value is None:
            continue
        text = str(value)
        if len(text) < MIN_SECRET_LENGTH:
            continue
        new.update(secret_forms(text))
    if new:
        with _lock:
            _known.update(new)


def secret_forms(value: str) -> set[str]:
    """`value` and its URL-encoded forms (`quote`, `quote_plus`): a secret in a URL is encoded."""
    return {value, quote(value, safe=""), quote_plus(value)}


def known_secrets() -> frozenset[str]:
    """The secret values registered in this process so far (never write them anywhere)."""
    with _lock:
        return frozenset(_known)


def forget_secrets() -> None:
    """Drop every registered value (for tests and long-lived processes that reload config)."""
    with _lock:
        _known.clear()


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """Return `text` with credentials replaced by `***`.

    Args:
        text: any message (an exception's text, a URL, a log line).
        secrets: exact secret values known to the caller (e.g. resolved credentials), replaced
            wherever they occur (URL-encoded forms included), as are the values registered with
            `remember_secrets`. Values shorter than `MIN_SECRET_LENGTH` are ignored.

    Redacts, whatever `secrets` holds: passwords in URLs (`scheme://user:pw@host`), the
    credentials of `Authorization:` headers of any scheme, secret query parameters (`?key=`,
    `&token=`, `&sig=`, `&api_key=`, `&access_token=`, `&password=`, `&<anything>_key=`, ...),
    `password=`/`token:`/`api_key=`/`secret=`-style pairs (not a bare `YES`/`NO`, as in MySQL's
    `(using password: YES)`), and bare `Bearer`/`Basic` credentials.
    """
    if not text:
        return text
    values = set(known_secrets())
    for secret in secrets or []:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            values.update(secret_forms(secret))
    # longest first, so a secret containing another is replaced whole
    for secret in sorted(values, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """A copy of `value` (str, or lists, tuples and dicts of them, nested) with every string
    redacted by `redact`; other values are returned as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(item) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message (arguments merged in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its redacted text; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # a formatted traceback would quote the exception's text: keep only the redacted text
            record.msg = f"{record.msg}\n{type(record.exc_info[1]).__name__}: {redact(str(record.exc_info[1]))}"
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = RedactingFilter()


def redact_logger(logger: logging.Logger) -> None:
    """Install the redacting filter on `logger` (once; idempotent)."""
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
