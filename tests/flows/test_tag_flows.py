"""tag-library and tag-paths under a Prefect test harness, on a generated library."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog import Catalog, query
from flows.run import TagOptions
from flows.tag_flows import tag_library, tag_paths
from tests.flows.conftest import BAD, GOOD

pytestmark = pytest.mark.usefixtures("prefect_harness")


def table_counts(catalog: Catalog) -> dict[str, int]:
    return {
        name: catalog.count(name) for name in ("videos", "tracks", "windows", "segments", "profiles", "units")
    }


def test_tag_library_tags_good_videos_records_bad_ones_and_reruns_do_nothing(
    library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    catalog_root = str(tmp_path / "catalog")
    summary = tag_library(
        roots=[str(library)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=0),
    )
    has_speech = (library / "speech.mp4").exists()
    n_good = len(GOOD) + int(has_speech)
    assert summary["n_seen"] == n_good + 1 + len(BAD)
    assert (summary["n_tagged"], summary["n_no_audio"], summary["n_failed"]) == (
        n_good,
        1,
        len(BAD),
    )

    catalog = Catalog(catalog_root)
    videos = {Path(v["path"]).name: v for v in catalog.open_table("videos").to_table().to_pylist()}
    assert videos["silent_film.mp4"]["status"] == "no_audio"
    for name, reason in BAD.items():
        row = next(v for v in videos.values() if v["path"].endswith(_file_of(name)))
        assert row["status"] == "failed" and reason in row["error"]
    n_tracks = n_good + 1  # the two-track file adds one
    counts = table_counts(catalog)
    assert counts["units"] == counts["profiles"] == counts["tracks"] == n_tracks
    # Window times cover each track and probabilities sum to one.
    check = query(
        catalog,
        "SELECT max(abs(p_neutral+p_calm+p_happy+p_sad+p_angry+p_fearful+p_disgust+p_surprised-1))"
        " AS err, min(start_s) AS first FROM windows",
    ).to_pylist()[0]
    assert check["err"] < 1e-4 and check["first"] == 0.0
    coverage = query(
        catalog,
        "SELECT t.duration_s AS d, max(w.end_s) AS e FROM windows w"
        " JOIN tracks t USING (video_id, track_index)"
        " GROUP BY t.video_id, t.track_index, t.duration_s",
    ).to_pylist()
    assert all(abs(row["d"] - row["e"]) < 1e-6 for row in coverage)

    again = tag_library(
        roots=[str(library)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=0),
    )
    assert again["n_tagged"] == 0 and again["n_failed"] == 0
    assert again["n_skipped"] == summary["n_seen"]
    assert table_counts(catalog) == {**counts, "videos": counts["videos"]}

    # A move keeps the id and is not re-tagged; a deletion is marked missing.
    moved = library / "moved" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.move(library / "tone440.mp4", moved)
    (library / "sub folder" / "tone330.mkv").unlink()
    third = tag_library(
        roots=[str(library)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=0),
    )
    assert third["n_tagged"] == 0 and third["n_moved"] == 1 and third["n_missing"] == 2
    assert catalog.count("units") == counts["units"]
    statuses = {
        Path(v["path"]).name: v["status"] for v in catalog.open_table("videos").to_table().to_pylist()
    }
    assert statuses["renamed.mp4"] == "ok" and statuses["tone440.mp4"] == "missing"
    assert statuses["tone330.mkv"] == "missing"
    runs = catalog.open_table("runs").to_table().to_pylist()
    assert len(runs) == 3 and all(r["status"] == "completed" for r in runs)


def test_tag_paths_with_force_replaces_exactly_those_units(
    library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    catalog_root = str(tmp_path / "catalog")
    target = str(library / "two tracks.mp4")
    first = tag_paths(paths=[target], catalog_root=catalog_root, model_path=str(tiny_model))
    assert first["n_tagged"] == 1
    catalog = Catalog(catalog_root)
    before = table_counts(catalog)
    assert before["units"] == 2
    forced = tag_paths(paths=[target], catalog_root=catalog_root, model_path=str(tiny_model), force=True)
    assert forced["n_tagged"] == 1 and forced["n_units"] == 2
    assert table_counts(catalog) == before
    runs = query(catalog, "SELECT DISTINCT run_id FROM windows").num_rows
    assert runs == 1  # every visible window now comes from the forced run


def _file_of(recipe: str) -> str:
    from tests.fixtures.media import RECIPES

    return RECIPES[recipe].filename


def test_a_run_whose_catalogue_writes_keep_failing_is_recorded_as_failed(
    library: Path, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.run
    import flows.tag_flows
    from catalog import CatalogError

    def broken_write(*args: object, **kwargs: object) -> None:
        raise CatalogError("storage went away")

    monkeypatch.setattr(flows.run, "write_outcomes", broken_write)
    monkeypatch.setattr(flows.tag_flows, "tag_batch", flows.tag_flows.tag_batch.with_options(retries=0))
    catalog_root = str(tmp_path / "catalog")
    with pytest.raises(CatalogError, match="storage went away"):
        tag_paths(paths=[str(library / "tone440.mp4")], catalog_root=catalog_root, model_path=str(tiny_model))
    runs = Catalog(catalog_root).open_table("runs").to_table().to_pylist()
    assert [r["status"] for r in runs] == ["failed"] and runs[0]["finished_at"] is not None
