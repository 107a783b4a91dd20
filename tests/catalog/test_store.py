"""Catalogue store: idempotency, replacement, concurrent writers, SIGKILL mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from catalog import SCHEMAS, Catalog, CatalogError, query, video_row
from catalog.testing import make_unit

ROOT = Path(__file__).resolve().parents[2]


def raw_count(catalog: Catalog, name: str) -> int:
    return int(DeltaTable(catalog.table_uri(name)).to_pyarrow_table().num_rows)


def counts(catalog: Catalog) -> dict[str, int]:
    return {name: catalog.count(name) for name in ("windows", "segments", "profiles", "units")}


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    store = Catalog(tmp_path / "catalog")
    store.ensure()
    return store


def test_writing_the_same_units_twice_adds_no_rows(catalog: Catalog) -> None:
    units = [make_unit(i) for i in range(5)]
    assert len(catalog.write_units(units, run_id="r1")) == 5
    first = counts(catalog)
    assert first == {"windows": 100, "segments": 10, "profiles": 5, "units": 5}
    assert catalog.write_units(units, run_id="r2") == []
    assert counts(catalog) == first
    assert raw_count(catalog, "windows") == 100


def test_replace_swaps_exactly_that_unit(catalog: Catalog) -> None:
    catalog.write_units([make_unit(i) for i in range(3)], run_id="r1")
    replacement = make_unit(1, n_windows=7)
    assert catalog.write_units([replacement], run_id="r2", replace=True) == [replacement.key]
    assert counts(catalog) == {"windows": 47, "segments": 6, "profiles": 3, "units": 3}
    assert raw_count(catalog, "windows") == 47  # the superseded rows are gone, not hidden
    rows = query(catalog, "SELECT run_id, count(*) AS n FROM windows GROUP BY run_id ORDER BY run_id")
    assert rows.to_pylist() == [{"run_id": "r1", "n": 40}, {"run_id": "r2", "n": 7}]


def test_a_new_model_version_adds_its_own_unit(catalog: Catalog) -> None:
    catalog.write_units([make_unit(0)], run_id="r1")
    catalog.write_units([make_unit(0, model_version="m-000000000002")], run_id="r2")
    assert catalog.count("units") == 2
    assert catalog.done_units("m-000000000001") == {("video-000000", 0)}
    assert catalog.done_units("m-000000000002") == {("video-000000", 0)}


def test_wrong_schema_is_refused_and_nothing_written(catalog: Catalog) -> None:
    unit = make_unit(0)
    bad = unit.windows.set_column(
        unit.windows.schema.get_field_index("confidence"),
        "confidence",
        unit.windows.column("confidence").cast(pa.float64()),
    )
    broken = type(unit)(unit.video_id, unit.track_index, unit.model_version, bad, unit.segments, unit.profile)
    with pytest.raises(CatalogError, match="confidence"):
        catalog.write_units([broken], run_id="r1")
    missing = type(unit)(
        unit.video_id,
        0,
        unit.model_version,
        unit.windows.drop(["label"]),
        unit.segments,
        unit.profile,
    )
    with pytest.raises(CatalogError, match="missing columns"):
        catalog.write_units([missing], run_id="r1")
    assert raw_count(catalog, "windows") == 0 and catalog.count("units") == 0


def test_orphans_of_an_interrupted_write_are_invisible_then_purged(catalog: Catalog) -> None:
    unit = make_unit(0)
    # Simulate a crash after the windows append but before the commit marker.
    orphan = pa.concat_tables([unit.windows]).append_column("run_id", pa.array(["dead"] * 20))
    orphan = orphan.append_column("write_id", pa.array(["w-dead"] * 20))
    orphan = orphan.append_column(
        "tagged_at",
        pa.array(
            [datetime.now(UTC) - timedelta(hours=2)] * 20,
            SCHEMAS["windows"].field("tagged_at").type,
        ),
    )
    catalog._append("windows", orphan)
    assert catalog.count("windows") == 0
    catalog.write_units([unit], run_id="rerun")
    assert catalog.count("windows") == 20 and raw_count(catalog, "windows") == 40
    assert catalog.purge_orphans() == 1
    assert raw_count(catalog, "windows") == 20


def test_videos_keep_path_history_and_missing_marks(catalog: Catalog) -> None:
    now = datetime.now(UTC)

    def video_rows(paths: list[str], at: datetime) -> pa.Table:
        rows = [
            video_row(
                video_id="v1",
                path=path,
                size_bytes=10,
                mtime=at.timestamp(),
                status="ok",
                duration_s=1.0,
                container="mp4",
                n_audio_tracks=1,
                seen_at=at,
            )
            for path in paths
        ]
        return pa.Table.from_pylist(rows, schema=SCHEMAS["videos"])

    catalog.record_videos(video_rows(["/lib/a.mp4"], now))
    later = now + timedelta(days=1)
    catalog.record_videos(video_rows(["/lib/a.mp4", "/lib/moved/a.mp4"], later))
    videos = catalog.open_table("videos").to_table().sort_by("path").to_pylist()
    assert [v["path"] for v in videos] == ["/lib/a.mp4", "/lib/moved/a.mp4"]
    assert videos[0]["first_seen_at"] == now and videos[0]["last_seen_at"] == later
    assert catalog.mark_missing(root="/lib", seen_paths=["/lib/moved/a.mp4"]) == 1
    statuses = {v["path"]: v["status"] for v in catalog.open_table("videos").to_table().to_pylist()}
    assert statuses == {"/lib/a.mp4": "missing", "/lib/moved/a.mp4": "ok"}


def test_time_travel_sees_the_earlier_catalogue(catalog: Catalog) -> None:
    catalog.write_units([make_unit(0)], run_id="r1")
    version = catalog.version()
    time.sleep(0.01)
    catalog.write_units([make_unit(1)], run_id="r2")
    assert catalog.count("windows") == 40
    assert catalog.open_table("windows", as_of=version).count_rows() == 20
    with pytest.raises(CatalogError, match="no catalogue version"):
        catalog.open_table("windows", as_of=999)


def test_unusable_catalogue_root_fails_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CatalogError, match="cannot create catalogue folder"):
        Catalog(blocker / "catalog").ensure()


def test_read_only_catalogue_folder_fails_before_any_work(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    with pytest.raises(CatalogError, match="not writable"):
        Catalog(folder).ensure()


def test_maintenance_compacts_vacuums_and_exports(catalog: Catalog, tmp_path: Path) -> None:
    for i in range(6):
        catalog.write_units([make_unit(i)], run_id="r1")
    files_before = len(DeltaTable(catalog.table_uri("windows")).file_uris())
    catalog.compact()
    assert len(DeltaTable(catalog.table_uri("windows")).file_uris()) < files_before
    catalog.vacuum(retention_hours=0)
    assert counts(catalog)["windows"] == 120
    exported = catalog.export_parquet(tmp_path / "export")
    assert exported["windows"] == 120
    assert pa.parquet.read_table(tmp_path / "export" / "windows.parquet").num_rows == 120


def _writer(root: Path, first: int, count: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.catalog.writer_proc",
            str(root),
            str(first),
            str(count),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writers_of_different_units_lose_nothing(catalog: Catalog) -> None:
    procs = [_writer(Path(catalog.root), 0, 8), _writer(Path(catalog.root), 100, 8)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert counts(catalog) == {"windows": 320, "segments": 32, "profiles": 16, "units": 16}


def test_concurrent_writers_of_the_same_units_end_with_one_copy(catalog: Catalog) -> None:
    procs = [_writer(Path(catalog.root), 0, 6, "--run", f"p{i}") for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert counts(catalog) == {"windows": 120, "segments": 12, "profiles": 6, "units": 6}
    assert raw_count(catalog, "windows") == 120


def test_sigkill_mid_write_leaves_a_consistent_catalogue_and_rerun_completes(
    catalog: Catalog,
) -> None:
    root = Path(catalog.root)
    proc = _writer(root, 0, 40)
    assert proc.stdout is not None
    for _ in range(5):  # let a few units land, then kill in the middle of the next
        proc.stdout.readline()
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    committed = catalog.count("units")
    assert 5 <= committed < 40
    # Consistent: every committed unit has all of its rows and nothing else is visible.
    assert counts(catalog) == {"windows": 20 * committed, "segments": 2 * committed,
                               "profiles": committed, "units": committed}  # fmt: skip
    rerun = _writer(root, 0, 40, "--run", "rerun")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert counts(catalog) == {"windows": 800, "segments": 80, "profiles": 40, "units": 40}
    catalog.purge_orphans(min_age=timedelta(0))
    assert raw_count(catalog, "windows") == 800


def test_window_content_round_trips_and_agrees_with_is_speech(catalog: Catalog) -> None:
    unit = make_unit(7, n_windows=30)
    written = unit.windows.column("content").to_pylist()
    assert {"speech", "music", "other"} <= set(written)
    catalog.write_units([unit], run_id="r1")
    rows = query(
        catalog, "SELECT start_s, content, is_speech, label FROM windows ORDER BY start_s"
    ).to_pylist()
    assert [r["content"] for r in rows] == written
    assert all(r["is_speech"] == (r["content"] == "speech") for r in rows)
    assert all(r["label"] == "no_speech" for r in rows if r["content"] != "speech")


def test_unit_rows_refuse_content_that_contradicts_is_speech() -> None:
    from catalog import unit_rows

    unit = make_unit(1, n_windows=4)
    fields = {
        "video_id": "v",
        "track_index": 0,
        "model_version": "m",
        "start_s": unit.windows.column("start_s").to_numpy(),
        "end_s": unit.windows.column("end_s").to_numpy(),
        "labels": unit.windows.column("label").to_pylist(),
        "probs": [[1 / 8] * 8] * 4,
        "segments": [],
        "profile": {
            "speech_s": 0.0,
            "shares": dict.fromkeys(SCHEMAS["profiles"].names, 0.0),
            "dominant_label": "x",
        },
    }
    with pytest.raises(CatalogError, match="content"):
        unit_rows(**fields, is_speech=[True] * 4, content=["music"] * 4)  # type: ignore[arg-type]
    with pytest.raises(CatalogError, match="content must be one of"):
        unit_rows(**fields, is_speech=[False] * 4, content=["song"] * 4)  # type: ignore[arg-type]


def test_a_catalogue_made_before_content_opens_and_is_migrated(tmp_path: Path) -> None:
    from deltalake import write_deltalake

    root = tmp_path / "catalog"
    old = Catalog(root)
    old.ensure()
    # An older windows table: the same columns but no `content`, holding one unit's rows.
    old_schema = pa.schema([f for f in SCHEMAS["windows"] if f.name != "content"])
    unit = make_unit(3, n_windows=5)
    catalog_rows = unit.windows.drop_columns(["content"])
    n = catalog_rows.num_rows
    now = datetime.now(UTC)
    catalog_rows = catalog_rows.append_column("run_id", pa.array(["r0"] * n)).append_column(
        "write_id", pa.array(["w0"] * n)
    )
    catalog_rows = catalog_rows.append_column("tagged_at", pa.array([now] * n, pa.timestamp("us", tz="UTC")))
    import shutil

    shutil.rmtree(root / "windows")
    DeltaTable.create(str(root / "windows"), schema=old_schema)
    write_deltalake(
        str(root / "windows"), catalog_rows.select(old_schema.names).cast(old_schema), mode="append"
    )
    marker = {"video_id": unit.video_id, "track_index": 0, "model_version": unit.model_version}
    marker |= {"write_id": "w0", "run_id": "r0", "n_windows": n, "committed_at": now}
    write_deltalake(
        str(root / "units"), pa.Table.from_pylist([marker], schema=SCHEMAS["units"]), mode="append"
    )

    reopened = Catalog(root)
    before = DeltaTable(str(root / "windows")).to_pyarrow_table()
    assert "content" not in before.column_names and before.num_rows == 5
    # Readers see the old rows with content null before any migration...
    assert reopened.open_table("windows").to_table().column("content").null_count == 5
    assert query(reopened, "SELECT count(*) AS n FROM windows WHERE content IS NULL").to_pylist() == [
        {"n": 5}
    ]
    reopened.ensure()
    fields = {f.name for f in DeltaTable(str(root / "windows")).schema().fields}
    assert "content" in fields
    migrated = DeltaTable(str(root / "windows")).to_pyarrow_table()
    assert migrated.column("content").null_count == 5  # old rows: content unknown
    reopened.write_units([make_unit(4, n_windows=5)], run_id="r1")
    after = DeltaTable(str(root / "windows")).to_pyarrow_table()
    assert after.num_rows == 10 and after.column("content").null_count == 5
