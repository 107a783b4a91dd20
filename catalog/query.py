"""Read-only SQL over the catalogue: DuckDB on the visible rows of each table.

The DuckDB connection is in memory, sees only the catalogue's tables (as views), and
has external access disabled and its configuration locked, so a query cannot read
or write files, attach databases or install extensions.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import pyarrow as pa

from catalog.errors import CatalogError
from catalog.schema import TABLES
from catalog.store import Catalog

__all__ = ["query"]


def query(catalog: Catalog, sql: str, *, as_of: int | str | datetime | None = None) -> pa.Table:
    """Run ``sql`` against the tables ``videos, tracks, windows, segments, profiles,
    units, runs`` and return the result as an Arrow table. Raises CatalogError for a
    bad or refused query."""
    connection = duckdb.connect(":memory:")
    try:
        # Only the tables the SQL names are opened: opening a Delta table and its
        # committed-unit filter is most of a small query's latency.
        named = [name for name in TABLES if re.search(rf"\b{name}\b", sql, flags=re.IGNORECASE)]
        for name in named:
            connection.register(f"_emotag_{name}", catalog.open_table(name, as_of=as_of))
            connection.execute(f"CREATE VIEW {name} AS SELECT * FROM _emotag_{name}")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        try:
            relation = connection.sql(sql)
            return pa.table({}) if relation is None else relation.to_arrow_table()
        except duckdb.Error as exc:
            raise CatalogError(f"query refused or failed: {exc}") from exc
    finally:
        connection.close()
