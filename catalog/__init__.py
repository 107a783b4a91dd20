"""The catalogue: Delta Lake tables of time-coded emotion tags.

The only code that writes them. Knows nothing of audio: it takes rows (arrays,
mappings) and stores them in units that readers see whole or not at all.
"""

from catalog.errors import CatalogError
from catalog.query import query
from catalog.rows import unit_rows
from catalog.schema import SCHEMAS, TABLES, UNIT_TABLES, validate
from catalog.store import Catalog, UnitRows, sql_quote

__all__ = [
    "SCHEMAS",
    "TABLES",
    "UNIT_TABLES",
    "Catalog",
    "CatalogError",
    "UnitRows",
    "query",
    "sql_quote",
    "unit_rows",
    "validate",
]
