"""Remove secrets from text before it reaches logs, run metadata, errors or the load ledger."""

from __future__ import annotations

import re

_PATTERNS = [
    # scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+(?P<tail>@)"), r"\g<head>***\g<tail>"),
    # password=..., token: ..., api_key = "...", aws_secret_access_key=...: the key must END in a
    # secret word, so `MissingSecretError: ...` or `password_reset_at: ...` are left alone
    (
        re.compile(
            r"(?i)(?P<key>\b[\w\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key(?:[_\-]?id)?)[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*)[^\s\"',;&)}]+"
        ),
        r"\g<key>***",
    ),
    # Authorization: Bearer xyz / Basic xyz
    (re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\g<scheme> ***"),
]


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Return `text` with credentials replaced by `***`.

    Args:
        text: any message (an exception's text, a URL, a log line).
        secrets: exact secret values known to the caller (e.g. resolved credentials); each is
            replaced wherever it occurs. Values shorter than 4 characters are ignored (they would
            blank out ordinary words).

    Redacts, whatever `secrets` holds: passwords in URLs (`scheme://user:pw@host`),
    `password=`/`token:`/`api_key=`/`secret=`-style pairs, and `Bearer`/`Basic` credentials.
    """
    for secret in secrets or []:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
