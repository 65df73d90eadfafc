"""The Dagster `warehouse` resource: SQL connections (`ingest_assets.warehouses.connection`) for
asset checks and readers. Kept apart from `connection` so that the CLI's commands that read the
warehouse (`ingest status`, `summary`) do not import Dagster.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource

from ingest_assets.warehouses.connection import SqlConnection, connect
from ingest_assets.warehouses.targets import Warehouse


class WarehouseResource(ConfigurableResource):
    """The Dagster `warehouse` resource: SQL connections for asset checks and readers.

    Attributes:
        settings: the warehouse setting as JSON (`Warehouse.config` dumped, no secret in it;
            secrets are read from the environment when a connection opens).
        path: the absolute DuckDB file, empty for server warehouses.
        environment: the active environment's name.
    """

    settings: str
    path: str = ""
    environment: str = "dev"

    @classmethod
    def of(cls, warehouse: Warehouse) -> WarehouseResource:
        """The resource for `warehouse`."""
        return cls(
            settings=warehouse.config.model_dump_json(),
            path=str(warehouse.path or ""),
            environment=warehouse.environment,
        )

    def warehouse(self) -> Warehouse:
        """The `Warehouse` this resource stands for."""
        from pathlib import Path

        from pydantic import TypeAdapter

        from ingest_assets.config.warehouse import WarehouseConfig

        config = TypeAdapter(WarehouseConfig).validate_json(self.settings)
        return Warehouse(config, Path(self.path) if self.path else None, self.environment)

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[SqlConnection]:
        """A `SqlConnection` to the warehouse (see `connect`), closed when the block ends."""
        with connect(self.warehouse(), read_only=read_only) as conn:
            yield conn
