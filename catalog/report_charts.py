"""The library report's charts: Arrow tables in, PNG images out as ``data:`` URIs.

matplotlib with the Agg backend (no display), imported only when a chart is drawn.
Text from the catalogue (paths, folders, model versions) is drawn literally: a ``$``
never starts matplotlib's math mode.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import pyarrow as pa

from catalog.schema import EMOTIONS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["COLOURS", "affect_scatter", "content_bar", "mix_bars", "png_data_uri"]

COLOURS: Final[dict[str, str]] = {
    "neutral": "#9e9e9e",
    "calm": "#4db6ac",
    "happy": "#fdd835",
    "sad": "#1e88e5",
    "angry": "#e53935",
    "fearful": "#8e24aa",
    "disgust": "#6d4c41",
    "surprised": "#fb8c00",
    "uncertain": "#bdbdbd",
    "no_speech": "#eeeeee",
    "speech": "#3949ab",
    "music": "#43a047",
    "other": "#bdbdbd",
    "unknown": "#eeeeee",
}
_WIDTH_IN: Final = 9.0
_DPI: Final = 100
_LABEL_CHARS: Final = 48


def _literal(text: object) -> str:
    """``text`` for a matplotlib label: shortened from the left (the end of a path says
    most) and with ``$`` escaped so that it is never read as math."""
    value = str(text)
    if len(value) > _LABEL_CHARS:
        value = "…" + value[-(_LABEL_CHARS - 1) :]
    return value.replace("$", r"\$")


def _figure(*, height_in: float) -> Figure:
    from matplotlib.figure import Figure

    # A Figure without pyplot: no global state, nothing left open between charts.
    return Figure(figsize=(_WIDTH_IN, height_in), dpi=_DPI, layout="constrained")


def png_data_uri(figure: Figure) -> str:
    """``figure`` as a PNG ``data:image/png;base64,…`` URI, drawn by Agg (a Figure
    made without pyplot saves through it); no metadata, so the same data gives the same
    bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _stacked(labels: Sequence[str], shares: dict[str, list[float]], *, xlabel: str) -> Figure:
    """Horizontal bars (one per label, first at the top) stacked by the keys of
    ``shares`` (fractions 0..1, drawn as percent)."""
    figure = _figure(height_in=1.2 + 0.4 * len(labels))
    axes = figure.add_subplot()
    positions = list(range(len(labels)))[::-1]
    left = [0.0] * len(labels)
    for name, values in shares.items():
        widths = [100.0 * v for v in values]
        axes.barh(positions, widths, left=left, color=COLOURS.get(name, "#888888"), label=name)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(positions, [_literal(label) for label in labels])
    axes.set_xlim(0, 100)
    axes.set_xlabel(xlabel)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(shares), frameon=False, fontsize=8)
    return figure


def _floats(table: pa.Table, column: str) -> list[float]:
    return [0.0 if v is None else float(v) for v in table.column(column).to_pylist()]


def mix_bars(table: pa.Table, *, label_column: str, max_bars: int = 20) -> str | None:
    """Stacked emotion-mix bars from ``share_<emotion>`` columns, one bar per row (the
    first ``max_bars``), labelled by ``label_column``; None without rows."""
    rows = table.slice(0, max_bars)
    if rows.num_rows == 0:
        return None
    labels = [str(v) for v in rows.column(label_column).to_pylist()]
    shares = {e: _floats(rows, f"share_{e}") for e in EMOTIONS}
    return png_data_uri(_stacked(labels, shares, xlabel="share of speech time (%)"))


def content_bar(table: pa.Table) -> str | None:
    """One stacked bar of the ``share_speech/music/other/unknown`` columns of the first
    row; None when nothing was tagged (all shares null)."""
    kinds = ("speech", "music", "other", "unknown")
    if table.num_rows == 0 or all(table.column(f"share_{k}")[0].as_py() is None for k in kinds):
        return None
    shares = {k: _floats(table.slice(0, 1), f"share_{k}") for k in kinds}
    return png_data_uri(_stacked(["tagged audio"], shares, xlabel="share of tagged time (%)"))


def affect_scatter(table: pa.Table) -> str | None:
    """Valence (x) against arousal (y), one point per row, coloured by
    ``dominant_label``; None without rows."""
    if table.num_rows == 0:
        return None
    figure = _figure(height_in=6.0)
    axes = figure.add_subplot()
    labels = table.column("dominant_label").to_pylist()
    valence = _floats(table, "mean_valence")
    arousal = _floats(table, "mean_arousal")
    order = [e for e in EMOTIONS if e in labels] + sorted({x for x in labels if x not in EMOTIONS})
    for label in order:
        points = [i for i, x in enumerate(labels) if x == label]
        axes.scatter(
            [valence[i] for i in points],
            [arousal[i] for i in points],
            s=18,
            color=COLOURS.get(label, "#888888"),
            edgecolors="#333333",
            linewidths=0.3,
            label=_literal(label),
        )
    axes.axhline(0, color="#cccccc", linewidth=0.8)
    axes.axvline(0, color="#cccccc", linewidth=0.8)
    axes.set_xlim(-1, 1)
    axes.set_ylim(-1, 1)
    axes.set_xlabel("mean valence (−1 unpleasant … 1 pleasant)")
    axes.set_ylabel("mean arousal (−1 calm … 1 aroused)")
    axes.legend(title="dominant emotion", fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return png_data_uri(figure)
