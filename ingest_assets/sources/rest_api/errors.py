"""Errors of the `rest_api` source type.

`ApiAuthError`, `ApiHttpError` and `ApiResponseError` are `requests` `HTTPError`s carrying the
response: `ingest_assets.errors.is_transient` classifies them by HTTP status."""

from __future__ import annotations

from requests import HTTPError

from ingest_assets.errors import IngestError


class RestApiConfigError(IngestError):
    """dlt rejected the REST API config when the source was built (names the source)."""


class CredentialsNotSetError(IngestError):
    """A secret of an `auth` block is not set where the source looks for it (names the source,
    the option and where to set it; never a value). The name avoids words like "secret" that
    log redaction treats as the start of a `key: value` pair."""


class ApiAuthError(HTTPError):
    """The API answered 401 or 403: the credentials are missing, wrong or lack a permission."""


class ApiHttpError(HTTPError):
    """The API answered an error status (after retries, for 429 and 5xx)."""


class ApiResponseError(HTTPError):
    """The API answered a success status with a body that is not JSON."""
