"""Read-only SQL over the catalogue: DuckDB on the visible rows of each table.

The DuckDB connection is in memory, sees only the catalogue's tables (as views), and
has external access disabled and its configuration locked, so a query cannot read
or write files, attach databases or install extensions.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from catalog.errors import CatalogError
from catalog.schema import TABLES
from catalog.store import Catalog

__all__ = ["query"]


def query(
    catalog: Catalog,
    sql: str,
    *,
    as_of: int | str | datetime | None = None,
    params: Sequence[Any] | None = None,
    timeout_s: float = 300.0,
    memory_limit: str = "4GB",
) -> pa.Table:
    """Run ``sql`` against the tables ``videos, tracks, windows, segments, profiles,
    units, runs`` and return the result as an Arrow table.

    ``params`` fill the ``?`` placeholders of ``sql`` (values are never pasted into the
    text). The query is interrupted after ``timeout_s`` seconds and may use at most
    ``memory_limit`` of memory; what spills goes to a private temporary folder removed
    afterwards. Raises CatalogError for a bad, refused or interrupted query.

    Example (an empty catalogue answers with no rows):

    >>> import tempfile
    >>> from catalog import Catalog, query
    >>> catalog = Catalog(tempfile.mkdtemp())
    >>> catalog.ensure()
    >>> query(catalog, "SELECT count(*) AS n FROM videos WHERE status = ?", params=["ok"]).to_pylist()
    [{'n': 0}]
    """
    with tempfile.TemporaryDirectory(prefix="emotag-query-") as spill:
        connection = duckdb.connect(":memory:")
        timer = threading.Timer(timeout_s, connection.interrupt)
        try:
            # Only the tables the SQL names are opened: opening a Delta table and its
            # committed-unit filter is most of a small query's latency.
            named = [name for name in TABLES if re.search(rf"\b{name}\b", sql, flags=re.IGNORECASE)]
            for name in named:
                connection.register(f"_emotag_{name}", catalog.open_table(name, as_of=as_of))
                connection.execute(f"CREATE VIEW {name} AS SELECT * FROM _emotag_{name}")
            # DuckDB lets a query read and write its temporary folder even with external
            # access off: give it a fresh private one, and bound what a query may take.
            connection.execute("SET temp_directory = ?", [spill])
            connection.execute("SET memory_limit = ?", [memory_limit])
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            timer.start()
            try:
                relation = connection.sql(sql, params=list(params) if params is not None else None)
                return pa.table({}) if relation is None else relation.to_arrow_table()
            except duckdb.InterruptException as exc:
                raise CatalogError(f"query interrupted after {timeout_s:g} s") from exc
            except duckdb.Error as exc:
                raise CatalogError(f"query refused or failed: {exc}") from exc
        finally:
            timer.cancel()
            connection.close()
