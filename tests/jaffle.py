"""The Jaffle Shop source as the tests configure it: the same tables as the repo's sources.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent


def jaffle_source(bucket_url: str | Path, name: str = "jaffle_shop") -> dict[str, Any]:
    """The repo's `jaffle_shop` source entry, pointed at `bucket_url` and renamed to `name`."""
    document = yaml.safe_load((REPO / "sources.yml").read_text())
    source = next(s for s in document["sources"] if s["name"] == "jaffle_shop")
    source = {**source, "name": name}
    source["filesystem"] = {**source["filesystem"], "bucket_url": str(bucket_url)}
    return source


JAFFLE_TABLES = {
    "customers": "raw_customers.csv",
    "orders": "raw_orders.csv",
    "items": "raw_items.csv",
    "products": "raw_products.csv",
    "stores": "raw_stores.csv",
    "supplies": "raw_supplies.csv",
    "tweets": "raw_tweets.csv",
}
"""Raw table name -> the jafgen file that feeds it."""
