"""HTML of the library report from query results: pure functions, no I/O.

Every piece of text (paths, errors, labels, the SQL itself) is HTML-escaped, images
must be ``data:`` URIs, and the page's Content-Security-Policy forbids scripts and
anything fetched from elsewhere, so a hostile file name shows as text and the page
works offline.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import pyarrow as pa

__all__ = ["block_html", "format_value", "page_html", "section_html", "table_html"]

DATA_URI_PREFIX: Final = "data:image/png;base64,"
_CSP: Final = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       padding: 0 1rem; color: #212121; background: #ffffff; }
header p { color: #555555; margin: 0.2rem 0; }
nav a { margin-right: 1rem; }
section { border-top: 2px solid #3949ab; margin-top: 2.5rem; }
h2 { color: #283593; }
.block { margin: 1.5rem 0; }
.block h3 { margin-bottom: 0.4rem; }
.note, .empty { color: #555555; }
.empty { font-style: italic; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #dddddd; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #e8eaf6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { overflow-wrap: anywhere; }
details { margin: 0.4rem 0 1rem; }
pre.sql { background: #f5f5f5; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
"""


def format_value(column: str, value: object) -> str:
    """``value`` of ``column`` as shown in a table cell (not yet escaped).

    Shares (columns named ``share…``) are fractions shown as percent with one decimal;
    ``…_pp`` columns are percentage points with one decimal; other floats have two
    decimals; timestamps are UTC to the second; null is an em dash.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if column.startswith("share"):
            return f"{100.0 * value:.1f} %"
        if column.endswith("_pp"):
            return f"{value:.1f}"
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tzinfo else "")
    return str(value)


def _is_number(field: pa.Field) -> bool:
    return bool(pa.types.is_integer(field.type) or pa.types.is_floating(field.type))


def table_html(rows: pa.Table, *, columns: Sequence[str] | None = None, max_rows: int = 50) -> str:
    """``rows`` (the first ``max_rows``; ``columns`` of them, default all) as an HTML
    table, numbers right-aligned, with a note when rows were left out."""
    names = list(columns) if columns is not None else rows.column_names
    shown = rows.slice(0, max_rows).select(names)
    head = "".join(f"<th>{html.escape(name)}</th>" for name in names)
    kinds = ["num" if _is_number(shown.schema.field(name)) else "text" for name in names]
    body = []
    for record in shown.to_pylist():
        cells = "".join(
            f'<td class="{kind}">{html.escape(format_value(name, record[name]))}</td>'
            for name, kind in zip(names, kinds, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    if rows.num_rows > max_rows:
        table += f'<p class="note">The first {max_rows} of {rows.num_rows} rows; the SQL below gives all.</p>'
    return table


def block_html(
    *,
    title: str,
    sql: str,
    rows: pa.Table,
    image: str | None = None,
    columns: Sequence[str] | None = None,
    max_rows: int = 50,
    note: str = "",
    empty: str = "Nothing yet.",
    show_table: bool = True,
) -> str:
    """One chart and/or table with the SQL that produced it (``rows``) under it;
    ``empty`` (text) stands in for both when the query gave no rows. ``image`` must be
    a PNG ``data:`` URI."""
    if image is not None and not image.startswith(DATA_URI_PREFIX):
        raise ValueError("report images must be PNG data: URIs")
    parts = [f"<h3>{html.escape(title)}</h3>"]
    if note:
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    if rows.num_rows == 0:
        parts.append(f'<p class="empty">{html.escape(empty)}</p>')
    else:
        if image is not None:
            parts.append(f'<img src="{html.escape(image)}" alt="{html.escape(title)}">')
        if show_table:
            parts.append(table_html(rows, columns=columns, max_rows=max_rows))
    parts.append(
        f'<details><summary>SQL</summary><pre class="sql"><code>{html.escape(sql)}</code></pre></details>'
    )
    return f'<div class="block">{"".join(parts)}</div>'


def section_html(*, section_id: str, title: str, intro: str, blocks: Sequence[str]) -> str:
    """A ``<section>`` with a stable ``id``, an ``<h2>``, an introduction (text) and
    its blocks (HTML from :func:`block_html`)."""
    return (
        f'<section id="{html.escape(section_id)}"><h2>{html.escape(title)}</h2>'
        f"<p>{html.escape(intro)}</p>{''.join(blocks)}</section>"
    )


def page_html(*, title: str, facts: Sequence[str], sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole page: ``title``, ``facts`` (lines of text under it), a table of
    contents and ``sections`` given as ``(id, title, html)``."""
    links = "".join(f'<a href="#{html.escape(sid)}">{html.escape(name)}</a>' for sid, name, _ in sections)
    lines = "".join(f"<p>{html.escape(fact)}</p>" for fact in facts)
    body = "".join(text for _, _, text in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><header><h1>{html.escape(title)}</h1>{lines}<nav>{links}</nav></header>\n"
        f"{body}\n</body></html>\n"
    )
