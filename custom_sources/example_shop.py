"""Example custom dlt source: a tiny simulated shop, deterministic for a given `day`.

Shows the two load patterns most custom sources need:
- `products` is a `merge` resource: prices change from day to day, and each run upserts them on
  `product_id` instead of adding rows.
- `orders` is an incremental `append` resource: ten orders a day, with `created_at` as the dlt
  incremental cursor, so a run loads only the days it has not loaded yet.

Advance `day` in `sources.yml` (`function_kwargs: {day: 2}`) to simulate the next day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dlt

START = datetime(2024, 1, 1, tzinfo=UTC)
PRODUCTS = ["jaffle", "toastie", "flat white", "chai", "brownie"]
ORDERS_PER_DAY = 10


@dlt.source(name="example_shop")
def example_shop(day: int = 1) -> list:
    """The simulated shop as of `day` (1 = 2024-01-01)."""
    if day < 1:
        raise ValueError(f"example_shop: day must be 1 or more, got {day}")
    return [products(day), orders(day)]


@dlt.resource(write_disposition="merge", primary_key="product_id")
def products(day: int) -> Iterator[dict]:
    """Product catalogue with today's price in cents; upserted on product_id."""
    for product_id, name in enumerate(PRODUCTS, start=1):
        yield {
            "product_id": product_id,
            "name": name,
            "price_cents": 300 + 50 * product_id + 10 * (day - 1),
            "price_day": day,
        }


@dlt.resource(write_disposition="append", primary_key="order_id")
def orders(
    day: int,
    created_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
        "created_at", initial_value=START - timedelta(seconds=1)
    ),
) -> Iterator[dict]:
    """Orders of every day up to `day`; only those after the cursor reach the warehouse."""
    for order_day in range(1, day + 1):
        for n in range(ORDERS_PER_DAY):
            yield {
                "order_id": (order_day - 1) * ORDERS_PER_DAY + n + 1,
                "product_id": n % len(PRODUCTS) + 1,
                "quantity": 1 + n % 3,
                "created_at": START + timedelta(days=order_day - 1, minutes=30 * n),
            }
