"""Units of work in the catalogue and the rule that decides which write of a unit is
visible: the rows of one ``(video_id, track_index, model_version)`` unit, their lineage
columns, and its commit markers in ``units`` (the newest one wins). Pure functions over
Arrow tables; :mod:`catalog.store` does the I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.schema import SCHEMAS

__all__ = ["UnitRows", "all_write_ids", "newest_per_unit", "sql_quote", "visible_write_ids", "with_lineage"]

UnitKey = tuple[str, int, str]


@dataclass(frozen=True)
class UnitRows:
    """Rows of one unit, each table without the lineage columns (``run_id``,
    ``write_id``, ``tagged_at``), which :meth:`Catalog.write_units` adds."""

    video_id: str
    track_index: int
    model_version: str
    windows: pa.Table
    segments: pa.Table
    profile: pa.Table

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.video_id, self.track_index, self.model_version)


def sql_quote(value: str) -> str:
    """A SQL string literal for ``value`` (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def with_lineage(rows: pa.Table, run_id: str, write_id: str, at: datetime) -> pa.Table:
    """``rows`` with the lineage columns ``run_id``, ``write_id``, ``tagged_at`` appended."""
    n = rows.num_rows
    ts_type = SCHEMAS["windows"].field("tagged_at").type
    return (
        rows.append_column("run_id", pa.array([run_id] * n, pa.string()))
        .append_column("write_id", pa.array([write_id] * n, pa.string()))
        .append_column("tagged_at", pa.array([at] * n, ts_type))
    )


def newest_per_unit(markers: pa.Table) -> pa.Table:
    """One marker per unit key: the newest ``committed_at`` (ties: the larger
    ``write_id``). This rule alone decides which write of a unit is visible."""
    if markers.num_rows < 2:
        return markers
    ordered = markers.sort_by(
        [
            ("video_id", "ascending"),
            ("track_index", "ascending"),
            ("model_version", "ascending"),
            ("committed_at", "descending"),
            ("write_id", "descending"),
        ]
    )
    keys = list(
        zip(
            *(ordered.column(c).to_pylist() for c in ("video_id", "track_index", "model_version")),
            strict=True,
        )
    )
    first = [i for i, key in enumerate(keys) if i == 0 or key != keys[i - 1]]
    return ordered.take(pa.array(first)) if len(first) < len(keys) else ordered


def all_write_ids(markers: pa.Table, keys: Sequence[UnitKey]) -> dict[UnitKey, list[str]]:
    """``write_id`` of every marker in ``markers`` (a snapshot of ``units``) per unit key
    of ``keys``, oldest first."""
    wanted = set(keys)
    found: dict[UnitKey, list[tuple[Any, str]]] = {}
    if markers.num_rows:
        markers = markers.filter(pc.field("video_id").isin(sorted({k[0] for k in keys})))
    columns = ("video_id", "track_index", "model_version", "committed_at", "write_id")
    for vid, track, model, at, write_id in zip(
        *(markers.column(c).to_pylist() for c in columns), strict=True
    ):
        if (vid, track, model) in wanted:
            found.setdefault((vid, track, model), []).append((at, write_id))
    return {key: [w for _, w in sorted(items)] for key, items in found.items()}


def visible_write_ids(markers: pa.Table, keys: Sequence[UnitKey]) -> dict[UnitKey, str]:
    """``write_id`` of the visible (newest) marker per unit key of ``keys``."""
    return {key: ids[-1] for key, ids in all_write_ids(newest_per_unit(markers), keys).items()}
