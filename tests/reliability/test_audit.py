"""Cases from the reliability audit (docs/reliability.md, "Audit"): each failed before
its fix. Names, globs, queries, the run row, readers during a replacement, racing
writers, files still being copied, and catalogues made by an older version."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

import flows.worker_pool
from catalog import Catalog, CatalogError, query
from catalog.schema import SCHEMAS
from catalog.testing import make_unit
from flows.library import discover, expand_inputs, fingerprint
from flows.run import _drift
from flows.tag_flows import tag_paths

MakeMedia = Callable[[str], Path]
LATIN1_NAME = b"caf\xe9.mp4"  # Latin-1 "café": not valid UTF-8


def _runs(catalog: Catalog) -> list[dict[str, Any]]:
    return catalog.open_table("runs").to_table().to_pylist()


# ------------------------------------------------------------------ names (1)
@pytest.mark.usefixtures("prefect_harness")
def test_a_name_that_is_not_utf8_is_tagged_and_recorded_losslessly(
    tmp_path: Path, make_media: MakeMedia, tiny_model: Path
) -> None:
    root = tmp_path / "library"
    root.mkdir()
    shutil.copyfile(make_media("mp4_aac"), os.path.join(os.fsencode(root), LATIN1_NAME))
    shutil.copyfile(make_media("mkv_opus"), root / "good.mkv")
    catalog_root = str(tmp_path / "catalog")

    summary = tag_paths(paths=[str(root)], catalog_root=catalog_root, model_path=str(tiny_model))

    catalog = Catalog(catalog_root)
    assert summary["n_failed"] == 0 and summary["n_tagged"] == 2
    videos = {bytes(v["path_bytes"]): v for v in catalog.open_table("videos").to_table().to_pylist()}
    raw = os.path.join(os.fsencode(root), LATIN1_NAME)
    assert videos[raw]["status"] == "ok"
    assert videos[raw]["path"] == str(root) + "/caf\\xe9.mp4"  # readable, valid UTF-8
    assert [r["status"] for r in _runs(catalog)] == ["completed"]
    units = catalog.count("units")
    again = tag_paths(paths=[str(root)], catalog_root=catalog_root, model_path=str(tiny_model))
    assert again["n_skipped"] == 2 and again["n_tagged"] == 0
    assert catalog.count("units") == units
    assert catalog.count("videos") == 2  # the odd name is the same row, not a "moved" copy


@pytest.mark.usefixtures("prefect_harness")
def test_an_unexpected_error_on_one_video_fails_only_that_video(
    tmp_path: Path, make_media: MakeMedia, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "library"
    root.mkdir()
    shutil.copyfile(make_media("mp4_aac"), root / "bug.mp4")
    shutil.copyfile(make_media("mkv_opus"), root / "fine.mkv")
    real_tag_track = flows.worker_pool.tag_track

    def buggy(path: str, **kwargs: Any) -> Any:
        if path.endswith("bug.mp4"):
            raise RuntimeError("a bug met on this file only")
        return real_tag_track(path, **kwargs)

    monkeypatch.setattr(flows.worker_pool, "tag_track", buggy)
    catalog_root = str(tmp_path / "catalog")
    summary = tag_paths(paths=[str(root)], catalog_root=catalog_root, model_path=str(tiny_model))

    rows = Catalog(catalog_root).open_table("videos").to_table().to_pylist()
    videos = {Path(v["path"]).name: v for v in rows}
    assert videos["bug.mp4"]["status"] == "failed"
    assert "internal error: RuntimeError: a bug met on this file only" in videos["bug.mp4"]["error"]
    assert videos["fine.mkv"]["status"] == "ok"
    assert summary["n_failed"] == 1 and summary["n_tagged"] == 1
    assert [r["status"] for r in _runs(Catalog(catalog_root))] == ["completed"]


# ------------------------------------------------------------------ globs (2)
def test_globs_follow_the_folder_walk_rules(tmp_path: Path) -> None:
    root, outside = tmp_path / "archive", tmp_path / "elsewhere"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "one.mkv").write_bytes(b"x")
    (root / "top.mkv").write_bytes(b"x")
    (root / ".hidden.mkv").write_bytes(b"x")
    (outside / "secret.mkv").write_bytes(b"x")
    os.symlink(outside, root / "escape")  # a folder outside the glob's root
    os.symlink(".", root / "a" / "loop")  # `ln -s .`: loops forever under glob.glob

    started = time.perf_counter()
    inputs = expand_inputs([str(root / "**" / "*.mkv")])
    assert time.perf_counter() - started < 5.0
    assert sorted(Path(p).relative_to(root).as_posix() for p in inputs.matched) == ["a/one.mkv", "top.mkv"]
    assert inputs.roots == [] and inputs.files == []

    followed = expand_inputs([str(root / "**" / "*.mkv")], follow_outside=True)
    assert any(p.endswith("escape/secret.mkv") for p in followed.matched)
    # A glob naming folders makes them roots, walked under the same rules.
    folders = expand_inputs([str(root / "*")])
    assert folders.roots == [str(root / "a")]


def test_a_glob_without_matches_or_with_a_missing_base_finds_nothing(tmp_path: Path) -> None:
    assert expand_inputs([str(tmp_path / "nothing" / "*.mp4"), str(tmp_path / "*.mp4")]).matched == []


# -------------------------------------------------------------- queries (5)
def test_queries_cannot_use_the_working_folder_as_temporary_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = Catalog(tmp_path / "catalog")
    catalog.ensure()
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "x").write_text("secret")
    for sql in ("SELECT * FROM read_text('.tmp/x')", "COPY (SELECT 42) TO '.tmp/leak.csv'"):
        with pytest.raises(CatalogError):
            query(catalog, sql)
    assert not (tmp_path / ".tmp" / "leak.csv").exists()


def test_queries_are_interrupted_past_their_time_limit(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    catalog.ensure()
    with pytest.raises(CatalogError, match="interrupted"):
        query(catalog, "SELECT count(*) FROM range(1000000000000) a, range(1000) b", timeout_s=0.5)


def test_values_go_in_as_parameters_never_into_the_sql_text(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    catalog.ensure()
    catalog.write_units([make_unit(1, model_version="m-000000000001")], run_id="r1")
    hostile = "x' OR '1'='1"
    assert _drift(catalog, hostile, "r2", {"happy": 60}) is None  # no such model: no rows, no error
    rows = query(catalog, "SELECT count(*) AS n FROM windows WHERE model_version = ?", params=[hostile])
    assert rows.to_pylist() == [{"n": 0}]


# --------------------------------------------------------------- run row (4)
@pytest.mark.usefixtures("prefect_harness")
def test_an_error_while_summing_up_leaves_the_run_failed_not_running(
    tmp_path: Path, make_media: MakeMedia, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "library"
    root.mkdir()
    shutil.copyfile(make_media("mp4_aac"), root / "a.mp4")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise CatalogError("query refused or failed: boom")

    monkeypatch.setattr("flows.run._drift", broken)
    catalog_root = str(tmp_path / "catalog")
    with pytest.raises(Exception, match="boom"):
        tag_paths(paths=[str(root)], catalog_root=catalog_root, model_path=str(tiny_model))
    runs = _runs(Catalog(catalog_root))
    assert [r["status"] for r in runs] == ["failed"] and runs[0]["finished_at"] is not None


# ------------------------------------------------------------ the rest (6)
def test_a_reader_never_sees_a_committed_unit_without_its_rows_during_a_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = Catalog(tmp_path / "catalog")
    writer = Catalog(tmp_path / "catalog")
    unit = make_unit(7)
    writer.write_units([unit], run_id="first")
    real_dataset = Catalog._dataset
    replaced: list[bool] = []

    def dataset_then_replacement(self: Catalog, table: Any, name: str) -> Any:
        result = real_dataset(self, table, name)
        if self is reader and name == "windows" and not replaced:
            replaced.append(True)  # a --force run commits between the reader's two reads
            writer.write_units([unit], run_id="forced", replace=True)
        return result

    monkeypatch.setattr(Catalog, "_dataset", dataset_then_replacement)
    windows = reader.open_table("windows").to_table()
    assert replaced
    assert windows.num_rows == unit.windows.num_rows
    assert set(windows.column("run_id").to_pylist()) == {"forced"}


def test_of_two_racing_writers_only_the_winner_reports_the_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Catalog(tmp_path / "catalog")
    second = Catalog(tmp_path / "catalog")
    first.ensure()
    unit = make_unit(3)
    real_marker_rows = Catalog._marker_rows
    calls: list[int] = []

    def racing(self: Catalog, **kwargs: Any) -> Any:
        rows = real_marker_rows(self, **kwargs)
        if self is first:
            calls.append(1)
            if len(calls) == 2:  # just after the first writer took its snapshot
                assert second.write_units([unit], run_id="second", replace=True) == [unit.key]
        return rows

    monkeypatch.setattr(Catalog, "_marker_rows", racing)
    assert first.write_units([unit], run_id="first") == []
    assert first.count("units") == 1
    assert set(first.open_table("windows").to_table().column("run_id").to_pylist()) == {"second"}


def test_a_fifo_in_place_of_a_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "swapped.mp4"
    os.mkfifo(fifo)
    outcome: list[BaseException | str] = []

    def run() -> None:
        try:
            outcome.append(fingerprint(fifo, timeout_s=5.0))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10.0)
    assert outcome and isinstance(outcome[0], OSError), outcome


def test_fingerprint_gives_up_after_its_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "slow.mp4").write_bytes(b"x" * 10)

    def hung(path: str, *, block: int) -> str:
        time.sleep(3.0)
        return "never"

    monkeypatch.setattr("flows.library._fingerprint", hung)
    with pytest.raises(TimeoutError):
        fingerprint(tmp_path / "slow.mp4", timeout_s=0.2)


def test_files_still_being_copied_wait_unless_named(tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    (root / "copying.mp4").write_bytes(b"x")
    old = root / "settled.mp4"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    too_new: list[str] = []
    found = discover([str(root)], min_age_s=60, too_new=too_new)
    assert [Path(c.path).name for c in found] == ["settled.mp4"]
    assert too_new == [str(root / "copying.mp4")]
    named = discover([], files=[str(root / "copying.mp4")], min_age_s=60)
    assert [Path(c.path).name for c in named] == ["copying.mp4"]


# ------------------------------------------------------ old catalogues (1)
def test_a_catalogue_made_before_path_bytes_opens_and_is_brought_up_to_date(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    old_schema = pa.schema([f for f in SCHEMAS["videos"] if f.name != "path_bytes"])
    row = {f.name: None for f in old_schema}
    row.update(video_id="v1", path="/lib/old.mp4", status="ok")
    row.update(first_seen_at=pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py())
    row.update(last_seen_at=row["first_seen_at"])
    DeltaTable.create(str(root / "videos"), schema=old_schema)
    write_deltalake(str(root / "videos"), pa.Table.from_pylist([row], schema=old_schema), mode="append")

    catalog = Catalog(root)
    before = catalog.open_table("videos").to_table().to_pylist()
    assert before[0]["path"] == "/lib/old.mp4" and before[0]["path_bytes"] is None
    catalog.ensure()
    assert "path_bytes" in {f.name for f in DeltaTable(str(root / "videos")).schema().fields}
    unknown = query(catalog, "SELECT count(*) AS n FROM videos WHERE path_bytes IS NULL")
    assert unknown.to_pylist() == [{"n": 1}]
