"""The HTTP session of a `rest_api` source: dlt's retrying session, with errors naming the source and URL."""

from __future__ import annotations

from typing import Any

from dlt.sources.helpers.requests import Client, HTTPError, Response, Session
from dlt.sources.helpers.rest_client.redaction import SENSITIVE_PARAMS, sanitize_url
from requests import PreparedRequest

from ingest_assets.sources.rest_api.errors import ApiAuthError, ApiHttpError, ApiResponseError
from ingest_assets.sources.rest_api.models import RestApiBlock
from ingest_assets.sources.rest_api.validation import _auth_blocks


def _checked_session(source_name: str) -> Session:
    """dlt's retrying session (retry settings from `[runtime]`), whose `send` turns errors into
    messages naming the source and the sanitized URL and rejects success bodies that are not JSON.

    Args:
        source_name: named in every error.

    The wrapped `send` raises `ApiAuthError` (401, 403), `ApiHttpError` (other statuses >= 400,
    once dlt's retries of 429/5xx are spent) or `ApiResponseError` (2xx body not JSON).
    """
    session = Client(raise_for_status=False).session
    send_with_retries = session.send

    def send(request: PreparedRequest, **kwargs: Any) -> Response:
        # errors are raised outside the `except` blocks: the exceptions they replace (whose
        # messages may hold the raw URL) stay out of the chain that reaches logs and Dagster
        url = sanitize_url(request.url or "")
        try:
            response = send_with_retries(request, **kwargs)
        except HTTPError as error:  # raised by dlt's status hook once the retries are spent
            if error.response is None:
                raise
            response = error.response
        if response.status_code >= 400:
            raise _status_error(source_name, request.method, url, response)
        problem = _not_json(response) if 200 <= response.status_code < 300 else None
        if problem:
            raise ApiResponseError(
                f"source '{source_name}': {request.method} {url} answered "
                f"{response.status_code} with a body that is not valid JSON ({problem})",
                response=response,
            )
        return response

    session.send = send  # type: ignore[method-assign]
    return session


def _not_json(response: Response) -> str | None:
    """The JSON parser's complaint about the body, or None when it parses."""
    try:
        response.json()
    except ValueError as error:
        return str(error)
    return None


def _status_error(source_name: str, method: str | None, url: str, response: Response) -> HTTPError:
    status = f"{response.status_code} {response.reason}"
    if response.status_code in (401, 403):
        return ApiAuthError(
            f"source '{source_name}': {method} {url} answered {status}: the API refused the "
            f"credentials; check the auth block and the secrets under "
            f"[sources.{source_name}.credentials] (or its *_env variables)",
            response=response,
        )
    return ApiHttpError(
        f"source '{source_name}': {method} {url} answered {status}", response=response
    )


def _register_secret_query_params(block: RestApiBlock) -> None:
    """Add the `name` of every `api_key` auth sent in the query to dlt's set of secret query
    parameters, so that dlt's request log and these error messages show it as `***`."""
    for _, auth, _ in _auth_blocks(block):
        if auth.type == "api_key" and auth.options.get("location") in ("query", "param"):
            SENSITIVE_PARAMS.add(str(auth.options.get("name", "Authorization")))
