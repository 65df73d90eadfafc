"""`type: rest_api` end to end against a real HTTP server on 127.0.0.1 (pytest-httpserver).

The server is a small shop API: `customers` paginated by a JSON `next` link, each customer's
`orders` (with a nested `items` list) at `customers/<id>/orders`, and `products` filtered by an
`updated_since` parameter. Every endpoint wants TOKEN: as a bearer token (also the one its OAuth2
endpoint `oauth/token` issues), as query parameter `access_code`, or as the basic-auth password
of user `shop`. Failures
(429 with Retry-After, 500, a body that is not JSON) are served once at chosen URLs. Tests assert
what reached the warehouse and what the server saw; nothing of requests, dlt or DuckDB is mocked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import materialize_project, query, scalar
from werkzeug import Request, Response

from ingest_assets.config import ConfigError, validate_document
from ingest_assets.project import build_definitions, load_project

TOKEN = "s3cr3t-shop-token-4711"
READ_ONLY_TOKEN = "r3ad-only-shop-token-0815"
"""A valid token without permission for anything: the API answers 403."""
PAGE_SIZE = 2
TESTS_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Logged:
    """One request as the server saw it."""

    at: float
    path: str
    args: dict[str, str]
    status: int


@dataclass
class ShopApi:
    """The fake API: its data (tests change it between runs), planned failures and request log."""

    base_url: str
    customers: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": i, "name": f"customer {i}"} for i in range(1, 6)]
    )
    products: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": 1, "name": "jaffle", "price": 350, "updated_at": "2024-01-01T10:00:00Z"},
            {"id": 2, "name": "toastie", "price": 400, "updated_at": "2024-01-02T10:00:00Z"},
            {"id": 3, "name": "chai", "price": 250, "updated_at": "2024-01-03T10:00:00Z"},
        ]
    )
    failures: dict[str, list[Response]] = field(default_factory=dict)
    """`path?query` -> responses served (once each) before the real one."""
    log: list[Logged] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        key = request.path.lstrip("/") + (
            f"?{request.query_string.decode()}" if request.query_string else ""
        )
        response = self._respond(request, key)
        self.log.append(
            Logged(
                time.monotonic(), request.path.lstrip("/"), dict(request.args), response.status_code
            )
        )
        return response

    def _respond(self, request: Request, key: str) -> Response:
        if request.path == "/oauth/token":
            return self._token(request)
        basic = base64.b64encode(f"shop:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") == f"Bearer {READ_ONLY_TOKEN}":
            return Response('{"error": "forbidden"}', status=403, content_type="application/json")
        if request.headers.get("Authorization") not in (f"Bearer {TOKEN}", f"Basic {basic}") and (
            request.args.get("access_code") != TOKEN
        ):
            return Response(
                '{"error": "unauthorized"}', status=401, content_type="application/json"
            )
        if self.failures.get(key):
            return self.failures[key].pop(0)
        path = request.path.strip("/")
        if path == "customers":
            page = int(request.args.get("page", 1))
            rows = self.customers[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            more = page * PAGE_SIZE < len(self.customers)
            return _json(
                {
                    "data": rows,
                    "next": f"{self.base_url}customers?page={page + 1}" if more else None,
                }
            )
        if match := re.fullmatch(r"customers/(\d+)/orders", path):
            customer = int(match.group(1))
            orders = [
                {
                    "order_id": customer * 10 + n,
                    "items": [{"sku": f"sku-{n}-{k}", "quantity": k + 1} for k in range(2)],
                }
                for n in range(2)
            ]
            return _json({"data": orders})
        if path == "products":
            since = request.args.get("updated_since", "")
            return _json({"data": [p for p in self.products if p["updated_at"] >= since]})
        return Response("not found", status=404)

    def _token(self, request: Request) -> Response:
        """OAuth2 client credentials: TOKEN for client `shop-client` with secret TOKEN."""
        form = request.form
        if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
            "client_credentials",
            "shop-client",
            TOKEN,
        ):
            return Response(
                '{"error": "invalid_client"}', status=401, content_type="application/json"
            )
        return _json({"access_token": TOKEN, "expires_in": 3600})

    def requests_to(self, path: str) -> list[Logged]:
        """Logged requests of one path, in order."""
        return [entry for entry in self.log if entry.path == path]


def _json(payload: Any) -> Response:
    return Response(json.dumps(payload), content_type="application/json")


@pytest.fixture
def shop_api(httpserver, monkeypatch) -> ShopApi:
    """The shop API on the test's HTTP server; dlt retries kept short through `[runtime]` config
    (environment variables, as an operator would set them) and the right token in the env."""
    api = ShopApi(base_url=httpserver.url_for("/"))
    httpserver.expect_request(re.compile(".*")).respond_with_handler(api)
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "2")
    monkeypatch.setenv("SHOP_API_TOKEN", TOKEN)
    return api


def shop_source(base_url: str, auth: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `shop` source as a user would write it in sources.yml."""
    return {
        "name": "shop",
        "type": "rest_api",
        "description": "The shop's REST API.",
        "rest_api": {
            "client": {
                "base_url": base_url,
                "auth": auth or {"type": "bearer", "token_env": "SHOP_API_TOKEN"},
                "paginator": {"type": "json_link", "next_url_path": "next"},
            },
            "resource_defaults": {
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {"data_selector": "data"},
            },
            "resources": [
                {"name": "customers", "write_disposition": "append", "description": "Customers."},
                {
                    "name": "customer_orders",
                    "primary_key": "order_id",
                    "include_from_parent": ["id"],
                    "endpoint": {
                        "path": "customers/{resources.customers.id}/orders",
                        "paginator": "single_page",
                    },
                },
                {
                    "name": "products",
                    "endpoint": {
                        "path": "products",
                        "paginator": "single_page",
                        "params": {
                            "updated_since": {
                                "type": "incremental",
                                "cursor_path": "updated_at",
                                "initial_value": "2024-01-01T00:00:00Z",
                            }
                        },
                    },
                },
            ],
        },
    }


def _materializations(result) -> dict[str, dict[str, Any]]:
    return {
        event.asset_key.path[-1]: event.metadata
        for event in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
    }


def _failure_text(result) -> str:
    """The full error chains of the run's failed steps, as Dagster stores them."""
    return "\n".join(
        event.step_failure_data.error.to_string() for event in result.get_step_failure_events()
    )


def _dagster_record_text(result) -> str:
    """Everything Dagster recorded for the run (events, metadata, errors) as text."""
    return "\n".join(repr(event) for event in result.all_events)


@pytest.mark.integration
def test_pages_parent_child_and_nested_tables_load_once_with_retries(make_project, shop_api):
    page_2 = "customers?page=2"
    shop_api.failures[page_2] = [Response("slow down", status=429, headers={"Retry-After": "1"})]
    shop_api.failures["customers/3/orders"] = [Response("oops", status=500)]
    project = make_project([shop_source(shop_api.base_url)])

    defs = build_definitions(load_project(project))
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_shop/customers", "raw_shop/customer_orders", "raw_shop/products"} <= keys
    assert shop_api.log == []  # describing the assets makes no request

    result = materialize_project(project, "group:shop")

    assert result.success
    assert query(project, "select id from raw_shop.customers order by id") == [
        (i,) for i in range(1, 6)
    ]
    # every page was served once, the 429'd page once more after the Retry-After second
    pages = [(e.args.get("page"), e.status) for e in shop_api.requests_to("customers")]
    assert pages == [(None, 200), ("2", 429), ("2", 200), ("3", 200)]
    throttled, retried = shop_api.requests_to("customers")[1:3]
    assert retried.at - throttled.at >= 0.9  # backoff factor alone would wait 0.01 s
    assert [e.status for e in shop_api.requests_to("customers/3/orders")] == [500, 200]
    # child resource: one request per parent, rows carry the parent key
    assert scalar(project, "select count(*) from raw_shop.customer_orders") == 10
    assert query(
        project,
        "select _customers_id, count(*) from raw_shop.customer_orders group by 1 order by 1",
    ) == [(i, 2) for i in range(1, 6)]
    assert (
        scalar(
            project,
            "select count(*) from raw_shop.customer_orders o join raw_shop.customers c on o._customers_id = c.id",
        )
        == 10
    )
    # nested list -> dlt child table linked to its parent row
    assert scalar(project, "select count(*) from raw_shop.customer_orders__items") == 20
    assert query(
        project,
        "select o.order_id, i.sku from raw_shop.customer_orders__items i "
        "join raw_shop.customer_orders o on i._dlt_parent_id = o._dlt_id "
        "where o.order_id = 31 order by i.sku",
    ) == [(31, "sku-1-0"), (31, "sku-1-1")]
    metadata = _materializations(result)
    # the child table shows on its parent's asset
    assert metadata["customer_orders"]["child_tables_rows_loaded"].value == {
        "customer_orders__items": 20
    }
    assert metadata["customers"]["dagster/row_count"].value == 5
    # the token is nowhere in what Dagster or dlt keep
    assert TOKEN not in _dagster_record_text(result)
    for file in (project / ".dlt" / "pipelines").rglob("*"):
        if file.is_file():
            assert TOKEN.encode() not in file.read_bytes(), file


@pytest.mark.integration
def test_incremental_run_requests_only_newer_records_and_merges_changes(make_project, shop_api):
    project = make_project([shop_source(shop_api.base_url)])
    materialize_project(project, "group:shop")
    assert [e.args["updated_since"] for e in shop_api.requests_to("products")] == [
        "2024-01-01T00:00:00Z"
    ]
    assert scalar(project, "select count(*) from raw_shop.products") == 3

    shop_api.products[1] = {
        **shop_api.products[1],
        "price": 425,
        "updated_at": "2024-01-05T09:00:00Z",
    }
    shop_api.products.append(
        {"id": 4, "name": "brownie", "price": 300, "updated_at": "2024-01-06T08:00:00Z"}
    )
    second = materialize_project(project, "group:shop")

    # the second run asks only for what changed since the newest record of the first
    assert shop_api.requests_to("products")[-1].args["updated_since"] == "2024-01-03T10:00:00Z"
    assert _materializations(second)["products"]["rows_loaded"].value == 2
    assert query(project, "select id, price from raw_shop.products order by id") == [
        (1, 350),
        (2, 425),
        (3, 250),
        (4, 300),
    ]
    third = materialize_project(project, "group:shop")
    assert shop_api.requests_to("products")[-1].args["updated_since"] == "2024-01-06T08:00:00Z"
    assert _materializations(third)["products"]["rows_loaded"].value == 0
    assert scalar(project, "select count(*) from raw_shop.products") == 4


@pytest.mark.integration
@pytest.mark.parametrize(
    ("token", "status"),
    [("wrong-" + TOKEN, "401 UNAUTHORIZED"), (READ_ONLY_TOKEN, "403 FORBIDDEN")],
    ids=["401", "403"],
)
def test_refused_credentials_fail_at_once_naming_source_and_endpoint_not_the_token(
    make_project, shop_api, monkeypatch, token, status
):
    monkeypatch.setenv("SHOP_API_TOKEN", token)
    project = make_project([shop_source(shop_api.base_url)])

    result = materialize_project(project, "group:shop", raise_on_error=False)

    assert not result.success
    assert [e.status for e in shop_api.log] == [int(status[:3])]  # not retried, nothing after it
    error = _failure_text(result)
    refused = shop_api.log[0].path  # `customers` or `products`: dlt starts either first
    assert re.search(
        rf"source 'shop': GET {re.escape(shop_api.base_url + refused)}\S* answered {status}: "
        r"the API refused the credentials; check the auth block and the secrets under "
        r"\[sources\.shop\.credentials\]",
        error,
    )
    assert "[sources.shop.credentials]" in error
    assert token not in error
    assert token not in _dagster_record_text(result)


@pytest.mark.integration
def test_missing_secret_loads_definitions_and_fails_the_run_saying_where_to_set_it(
    make_project, shop_api, monkeypatch
):
    monkeypatch.delenv("SHOP_API_TOKEN")
    project = make_project([shop_source(shop_api.base_url, auth={"type": "bearer"})])

    defs = build_definitions(load_project(project))  # no secret needed to describe the assets
    assert defs.resolve_asset_graph().get_all_asset_keys()
    result = materialize_project(project, "group:shop", raise_on_error=False)

    assert not result.success
    assert (
        "source 'shop': rest_api.client.auth: token not set: add token under "
        "[sources.shop.credentials] in .dlt/secrets.toml, or set the environment variable "
        "SOURCES__SHOP__CREDENTIALS__TOKEN, or name another variable with token_env"
    ) in _failure_text(result)
    assert shop_api.log == []


@pytest.mark.integration
def test_malformed_page_fails_naming_the_url_and_next_run_loads_each_record_once(
    make_project, shop_api
):
    shop_api.failures["customers?page=2"] = [
        Response('{"data": [{"id": 3', content_type="application/json")
    ]
    project = make_project([shop_source(shop_api.base_url)])

    failed = materialize_project(project, "group:shop", raise_on_error=False)

    assert not failed.success
    assert (
        f"source 'shop': GET {shop_api.base_url}customers?page=2 answered 200 with a body that is "
        "not valid JSON"
    ) in _failure_text(failed)
    second = materialize_project(project, "group:shop")
    assert second.success
    # customers is `append`: the page 1 rows extracted by the failed run were not kept
    assert query(
        project, "select id, count(*) from raw_shop.customers group by id order by id"
    ) == [(i, 1) for i in range(1, 6)]
    assert scalar(project, "select count(distinct order_id) from raw_shop.customer_orders") == 10
    assert scalar(project, "select count(*) from raw_shop.customer_orders") == 10


@pytest.mark.integration
def test_token_from_project_secrets_toml_in_a_fresh_process(
    make_project, shop_api, monkeypatch, tmp_path
):
    monkeypatch.delenv("SHOP_API_TOKEN")
    project = make_project([shop_source(shop_api.base_url, auth={"type": "bearer"})])
    (project / ".dlt" / "secrets.toml").write_text(
        f'[sources.shop.credentials]\ntoken = "{TOKEN}"\n'
    )
    script = (
        "import sys; from pathlib import Path; from helpers import materialize_project; "
        "result = materialize_project(Path(sys.argv[1]), 'group:shop'); print('success', result.success)"
    )
    # a fresh interpreter started elsewhere, as `dagster dev` or a run worker would be
    run = subprocess.run(
        [sys.executable, "-c", script, str(project)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "success True" in run.stdout, run.stderr[-3000:]
    assert TOKEN not in run.stdout + run.stderr
    assert scalar(project, "select count(*) from raw_shop.customers") == 5
    for file in (project / ".dlt" / "pipelines").rglob("*"):  # dlt's state and trace
        if file.is_file():
            assert TOKEN.encode() not in file.read_bytes(), file


@pytest.mark.integration
@pytest.mark.parametrize(
    "auth",
    [
        {
            "type": "api_key",
            "name": "access_code",
            "location": "query",
            "api_key_env": "SHOP_API_TOKEN",
        },
        {"type": "http_basic", "username": "shop", "password_env": "SHOP_API_TOKEN"},
        {
            "type": "oauth2_client_credentials",
            "access_token_url": "{base_url}oauth/token",
            "client_id_env": "SHOP_CLIENT_ID",
            "client_secret_env": "SHOP_API_TOKEN",
        },
    ],
    ids=["api_key-in-query", "http_basic", "oauth2_client_credentials"],
)
def test_other_auth_types_authenticate_and_refusals_hide_the_secret(
    make_project, shop_api, monkeypatch, auth
):
    monkeypatch.setenv("SHOP_CLIENT_ID", "shop-client")
    auth = {k: v.format(base_url=shop_api.base_url) for k, v in auth.items()}
    project = make_project([shop_source(shop_api.base_url, auth=auth)])

    assert materialize_project(project, "key:raw_shop/customers").success
    assert scalar(project, "select count(*) from raw_shop.customers") == 5

    monkeypatch.setenv("SHOP_API_TOKEN", "wrong-" + TOKEN)
    refused = materialize_project(project, "key:raw_shop/customers", raise_on_error=False)
    assert not refused.success
    error = _failure_text(refused)
    assert "source 'shop'" in error and "401 UNAUTHORIZED" in error
    assert TOKEN not in error and TOKEN not in _dagster_record_text(refused)
    if auth["type"] == "api_key":
        assert "customers?access_code=***" in error


def _problems(rest_api: dict[str, Any]) -> list[str]:
    document = {"sources": [{"name": "shop", "type": "rest_api", "rest_api": rest_api}]}
    with pytest.raises(ConfigError) as error:
        validate_document(document, "sources.yml")
    return error.value.problems


CLIENT = {"base_url": "https://api.example.com/v1/"}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("rest_api", "expected"),
    [
        (
            {"client": {"base_url": "api.example.com"}, "resources": []},
            [
                "sources.yml: source 'shop': rest_api.client.base_url: 'api.example.com' is not an http:// or https:// URL",
                "sources.yml: source 'shop': rest_api.resources: List should have at least 1 item after validation, not 0",
            ],
        ),
        (
            {
                "client": {**CLIENT, "auth": {"type": "bearer", "token": "abc123"}},
                "resources": ["orders"],
            },
            [
                "sources.yml: source 'shop': rest_api.client.auth.token: secrets do not belong in sources.yml: "
                'remove it and put `token = "..."` under [sources.shop.credentials] in .dlt/secrets.toml '
                "(or set SOURCES__SHOP__CREDENTIALS__TOKEN), or name an environment variable with token_env"
            ],
        ),
        (
            {
                "client": {
                    **CLIENT,
                    "auth": {"type": "http_basic", "username": "me", "password": "pw"},
                },
                "resources": [{"name": "orders", "endpoint": {"params": {"api_key": "k"}}}],
            },
            [
                "sources.yml: source 'shop': rest_api.client.auth.password: secrets do not belong in sources.yml: "
                'remove it and put `password = "..."` under [sources.shop.credentials] in .dlt/secrets.toml '
                "(or set SOURCES__SHOP__CREDENTIALS__PASSWORD), or name an environment variable with password_env",
                "sources.yml: source 'shop': rest_api.resources[0].endpoint.params.api_key: credentials do not "
                "belong in sources.yml; use an auth block, e.g. {type: api_key, name: api_key, location: query}, "
                'and put the value in .dlt/secrets.toml as api_key = "..." under [sources.shop.credentials]',
            ],
        ),
        (
            {
                "client": {**CLIENT, "headers": {"Authorization": "Bearer abc123"}},
                "resources": ["orders"],
            },
            [
                "sources.yml: source 'shop': rest_api.client.headers.Authorization: credentials do not belong "
                "in sources.yml; use an auth block, e.g. {type: api_key, name: Authorization, location: header}, "
                'and put the value in .dlt/secrets.toml as api_key = "..." under [sources.shop.credentials]'
            ],
        ),
        (
            {
                "client": {**CLIENT, "auth": {"type": "api_key", "key_env": "K"}},
                "resources": ["orders"],
            },
            [
                "sources.yml: source 'shop': rest_api.client.auth.key_env: unknown option of api_key auth; "
                "use one of: api_key_env, location, location_env, name, name_env"
            ],
        ),
        (
            {"client": {**CLIENT, "timeout": 5}, "resources": ["Orders", "x__y"]},
            [
                "sources.yml: source 'shop': rest_api.client.timeout: unknown field; check its spelling and where it is indented",
                "sources.yml: source 'shop': rest_api.resources[0].name: 'Orders' must be lower-case letters, digits and _ and start with a letter",
                "sources.yml: source 'shop': rest_api.resources[1].name: 'x__y' must not contain '__': dlt names nested tables <table>__<field>",
            ],
        ),
        (
            {"client": CLIENT, "resources": ["orders", {"name": "orders"}]},
            [
                "sources.yml: source 'shop': rest_api.resources: resource names must be unique, repeated: orders"
            ],
        ),
        (
            {"client": {**CLIENT, "paginator": {"type": "pages"}}, "resources": ["orders"]},
            [
                "sources.yml: source 'shop': rest_api.client.paginator.type: field `type=pages` is not one of: "
                "['json_link', 'json_response', 'header_link', 'header_cursor', 'auto', 'single_page', 'cursor', "
                "'offset', 'page_number']"
            ],
        ),
        (
            {"client": {**CLIENT, "paginator": {"type": "offset"}}, "resources": ["orders"]},
            [
                "sources.yml: source 'shop': rest_api.client.paginator: OffsetPaginator.__init__() missing 1 "
                "required positional argument: 'limit'"
            ],
        ),
        (
            {"client": CLIENT, "resources": [{"name": "orders", "endpoint": {"pth": "orders"}}]},
            [
                "sources.yml: source 'shop': rest_api.resources[0].endpoint: received unexpected fields `{'pth'}`"
            ],
        ),
        (
            {"client": CLIENT, "resources": [{"name": "orders", "write_disposition": "upsert"}]},
            [
                "sources.yml: source 'shop': rest_api.resources[0].write_disposition: field "
                "`write_disposition=upsert` is not one of: ['skip', 'append', 'replace', 'merge']"
            ],
        ),
        (
            {
                "client": CLIENT,
                "resources": [{"name": "items", "endpoint": "orders/{resources.order.id}/items"}],
            },
            [
                "sources.yml: source 'shop': rest_api.resources: A dependent resource `items` refers to non "
                "existing parent resource `order`"
            ],
        ),
    ],
    ids=[
        "base_url-and-resources",
        "literal-token",
        "literal-password-and-key-param",
        "authorization-header",
        "unknown-auth-option",
        "unknown-field-and-names",
        "duplicate-names",
        "unknown-paginator",
        "paginator-missing-option",
        "unknown-endpoint-key",
        "bad-write-disposition",
        "unknown-parent",
    ],
)
def test_config_errors_name_source_field_and_fix(rest_api, expected):
    assert _problems(rest_api) == expected


@pytest.mark.unit
def test_dlt_rules_and_secret_checks_run_on_disabled_sources_only_when_asked():
    """A disabled source gets its block's structure checks when sources.yml loads; dlt's rules
    and the secret checks (which import dlt) run on it with `check_disabled` (`ingest validate
    --build`), and always on an enabled one, with the same message."""
    blocks = {
        "rest_api.client.paginator: OffsetPaginator.__init__() missing 1 required positional": {
            "client": {**CLIENT, "paginator": {"type": "offset"}},
            "resources": ["orders"],
        },
        "rest_api.client.auth.token: secrets do not belong in sources.yml": {
            "client": {**CLIENT, "auth": {"type": "bearer", "token": "tok-123"}},
            "resources": ["orders"],
        },
    }
    for message, block in blocks.items():
        source = {"name": "shop", "type": "rest_api", "enabled": False, "rest_api": block}
        config = validate_document({"sources": [source]}, "sources.yml")
        assert not config.sources[0].enabled
        with pytest.raises(ConfigError) as checked:
            validate_document({"sources": [source]}, "sources.yml", check_disabled=True)
        with pytest.raises(ConfigError) as enabled:
            validate_document({"sources": [{**source, "enabled": True}]}, "sources.yml")
        assert checked.value.problems == enabled.value.problems
        assert checked.value.problems[0].startswith(f"sources.yml: source 'shop': {message}")
    # the structure is checked whether enabled or not
    with pytest.raises(ConfigError) as structure:
        validate_document(
            {"sources": [{"name": "shop", "type": "rest_api", "enabled": False, "rest_api": {}}]},
            "sources.yml",
        )
    assert any("rest_api.client" in problem for problem in structure.value.problems)


@pytest.mark.unit
def test_valid_config_with_every_auth_type_loads():
    for auth in (
        {"type": "bearer", "token_env": "SHOP_API_TOKEN"},
        {"type": "api_key", "name": "X-API-Key", "location": "header"},
        {"type": "http_basic", "username": "me", "password_env": "SHOP_PASSWORD"},
        {"type": "oauth2_client_credentials", "access_token_url": "https://auth.example.com/token"},
    ):
        source = shop_source("https://api.example.com/", auth=auth)
        config = validate_document({"sources": [source]}, "sources.yml")
        assert config.sources[0].table_descriptions() == {"customers": "Customers."}


@pytest.mark.integration
def test_project_table_options_are_kept_from_dlt(make_project, shop_api):
    source = shop_source(shop_api.base_url)
    products = source["rest_api"]["resources"][2]
    products.update(
        {"allow_empty_replace": True, "freshness": {"max_lag": "24h", "cursor": "updated_at"}}
    )
    project = make_project([source])

    config = load_project(project).config.sources[0]
    assert config.table_options()["products"].allow_empty_replace is True
    assert config.table_options()["products"].freshness.max_lag == "24h"
    # dlt gets only its own options (it would reject the project's) and loads as usual
    assert materialize_project(project, "key:raw_shop/products").success
    assert scalar(project, "select count(*) from raw_shop.products") == 3
