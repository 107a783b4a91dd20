"""Arousal and valence columns (catalogue schema 4): written, null where unknown, and a
catalogue made before them still opens, reads and takes new units."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from catalog import SCHEMAS, Catalog, CatalogError, query
from catalog.testing import make_unit

NEW = {
    "windows": ["arousal", "valence"],
    "segments": ["mean_arousal", "mean_valence"],
    "profiles": ["mean_arousal", "mean_valence"],
}


def test_arousal_is_null_exactly_where_a_window_has_no_speech(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    catalog.ensure()
    catalog.write_units([make_unit(i) for i in range(3)], run_id="r1")
    rows = query(catalog, "SELECT is_speech, arousal, valence FROM windows").to_pandas()
    assert rows["arousal"].isna().equals(~rows["is_speech"])
    assert rows["valence"].isna().equals(~rows["is_speech"])
    assert rows["arousal"].dropna().between(-1, 1).all()
    profiles = query(catalog, "SELECT mean_arousal, mean_valence FROM profiles").to_pandas()
    assert len(profiles) == 3 and profiles.notna().all().all()


def test_a_wrong_length_is_refused() -> None:
    from catalog.rows import _nullable_floats

    with pytest.raises(CatalogError):
        _nullable_floats(np.zeros(3), 4)


def test_a_catalogue_from_before_schema_4_opens_and_is_brought_up(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    Catalog(root).ensure()
    unit = make_unit(3, n_windows=5)
    now = datetime.now(UTC)
    for name, columns in NEW.items():
        old_schema = pa.schema([f for f in SCHEMAS[name] if f.name not in columns])
        rows = getattr(unit, "profile" if name == "profiles" else name).drop_columns(columns)
        n = rows.num_rows
        lineage = {"run_id": pa.array(["r0"] * n), "write_id": pa.array(["w0"] * n)}
        lineage["tagged_at"] = pa.array([now] * n, pa.timestamp("us", tz="UTC"))
        for column, values in lineage.items():
            if column in old_schema.names:
                rows = rows.append_column(column, values)
        shutil.rmtree(root / name)
        DeltaTable.create(str(root / name), schema=old_schema)
        write_deltalake(str(root / name), rows.select(old_schema.names).cast(old_schema), mode="append")
    marker = {"video_id": unit.video_id, "track_index": 0, "model_version": unit.model_version}
    marker |= {"write_id": "w0", "run_id": "r0", "n_windows": 5, "committed_at": now}
    write_deltalake(
        str(root / "units"), pa.Table.from_pylist([marker], schema=SCHEMAS["units"]), mode="append"
    )

    reopened = Catalog(root)
    # readers see the old rows, the new columns null, before any migration
    for name, columns in NEW.items():
        table = reopened.open_table(name).to_table()
        assert table.num_rows > 0
        assert all(table.column(c).null_count == table.num_rows for c in columns)
    reopened.ensure()  # adds the columns
    for name, columns in NEW.items():
        assert set(columns) <= {f.name for f in DeltaTable(str(root / name)).schema().fields}
    reopened.write_units([make_unit(4, n_windows=5)], run_id="r1")
    profiles = query(reopened, "SELECT video_id, mean_arousal FROM profiles ORDER BY video_id").to_pylist()
    assert [p["mean_arousal"] is None for p in profiles] == [True, False]
