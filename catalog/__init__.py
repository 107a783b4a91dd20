"""The catalogue: Delta Lake tables of time-coded emotion tags.

The only code that writes them. Knows nothing of audio: it takes rows (arrays,
mappings) and stores them in units that readers see whole or not at all.
"""

from catalog.errors import CatalogError
from catalog.paths import display_path, text_of
from catalog.query import query
from catalog.report import build_report, write_report
from catalog.rows import unit_rows, video_row, video_seen_again
from catalog.schema import CONTENT_CLASSES, SCHEMAS, TABLES, UNIT_TABLES, validate
from catalog.store import Catalog
from catalog.units import UnitRows, sql_quote

__all__ = [
    "CONTENT_CLASSES",
    "SCHEMAS",
    "TABLES",
    "UNIT_TABLES",
    "Catalog",
    "CatalogError",
    "UnitRows",
    "build_report",
    "display_path",
    "query",
    "sql_quote",
    "text_of",
    "unit_rows",
    "validate",
    "video_row",
    "video_seen_again",
    "write_report",
]
