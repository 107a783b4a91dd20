"""The fault matrix: broken, hostile and odd inputs through the real flow; each case
asserts the recorded status and reason and the catalogue row counts."""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog import Catalog, query
from flows.run import TagOptions
from flows.tag_flows import tag_library, tag_paths

pytestmark = pytest.mark.usefixtures("prefect_harness")
MakeMedia = Callable[[str], Path]

# file name in the library -> (recipe, expected status, words expected in the reason)
MEDIA_CASES: dict[str, tuple[str, str, str]] = {
    "zero byte.mp4": ("zero_byte", "failed", "empty (0 bytes)"),
    "truncated.mp4": ("truncated", "failed", "moov atom not found"),
    "cut mid-stream.mkv": ("truncated_mkv", "partial", "decoded"),
    "cut faststart.mp4": ("truncated_faststart", "partial", "decoded"),
    "picture outlasts sound.mkv": ("longer_video_mkv", "ok", ""),
    "broadcast ac3.ts": ("ts_ac3", "ok", ""),
    "broadcast mp2.ts": ("ts_mp2", "ok", ""),
    "random bytes.mkv": ("garbage", "failed", "ProbeError"),
    "no audio.mp4": ("no_audio", "no_audio", "no audio stream"),
    "audio only.m4a": ("audio_only", "ok", ""),
    "eight channels.mkv": ("eight_channel", "ok", ""),
    "one sample.mkv": ("one_sample", "no_audio", "decoded to no samples"),
    "half second.mp4": ("short", "ok", ""),
    "phone 8k.mkv": ("rate_8k", "ok", ""),
    "hires 96k.mkv": ("rate_96k", "ok", ""),
    "variable frame rate.mkv": ("vfr", "ok", ""),
    "declared but empty audio.mkv": ("empty_audio", "no_audio", "decoded to no samples"),
    "header claims 6 hours.wav": ("huge_duration", "ok", ""),
    "a b ✓.mkv": ("unicode_name", "ok", ""),
    "-i.mp4": ("dash_name", "ok", ""),
    "concat:x.mp4": ("concat_name", "ok", ""),
    "file:x.mp4": ("mp4_aac", "ok", ""),
    "new\nline.mp4": ("mov_pcm", "ok", ""),
}


def videos_by_name(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {Path(v["path"]).name: v for v in catalog.open_table("videos").to_table().to_pylist()}


@pytest.fixture
def fault_library(tmp_path: Path, make_media: MakeMedia) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    for name, (recipe, _, _) in MEDIA_CASES.items():
        shutil.copyfile(make_media(recipe), root / name)
    return root


def test_media_faults_are_recorded_with_reasons_and_the_rest_is_tagged(
    fault_library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    catalog_root = str(tmp_path / "catalog")
    summary = tag_library(
        roots=[str(fault_library)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=0),
    )
    catalog = Catalog(catalog_root)
    videos = videos_by_name(catalog)
    for name, (_, status, reason) in MEDIA_CASES.items():
        assert videos[name]["status"] == status, (name, videos[name])
        assert reason in (videos[name]["error"] or ""), (name, videos[name]["error"])
    tagged = [n for n, (_, s, _) in MEDIA_CASES.items() if s in ("ok", "partial")]
    assert summary["n_failed"] == sum(s == "failed" for _, s, _ in MEDIA_CASES.values())
    # Identical content under two names ("-i.mp4", "concat:x.mp4") is tagged once.
    distinct = {videos[name]["video_id"] for name in tagged}
    assert len(distinct) == len(tagged) - 1
    assert catalog.count("units") == catalog.count("profiles") == len(distinct)
    tracks = {r["video_id"]: r for r in catalog.open_table("tracks").to_table().to_pylist()}
    assert tracks[videos["eight channels.mkv"]["video_id"]]["channels"] == 8
    short = query(
        catalog,
        "SELECT count(*) AS n, max(end_s) AS e FROM windows WHERE video_id = "
        f"'{videos['half second.mp4']['video_id']}'",
    ).to_pylist()[0]
    assert short["n"] == 1 and abs(short["e"] - 0.5) < 0.05


def test_symlinks_hidden_and_temporary_files(tmp_path: Path, make_media: MakeMedia, tiny_model: Path) -> None:
    root = tmp_path / "library"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copyfile(make_media("mp4_aac"), root / "real.mp4")
    shutil.copyfile(make_media("mkv_opus"), outside / "outside.mkv")
    (root / "link to real.mp4").symlink_to(root / "real.mp4")
    (root / "sub" / "loop").symlink_to(root)
    (root / "escape.mkv").symlink_to(outside / "outside.mkv")
    (root / "dangling.mp4").symlink_to(tmp_path / "nothing.mp4")
    shutil.copyfile(make_media("mov_pcm"), root / ".hidden.mov")
    shutil.copyfile(make_media("mov_pcm"), root / "download.mp4.part")
    catalog_root = str(tmp_path / "catalog")
    summary = tag_library(
        roots=[str(root)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=0),
    )
    assert summary["n_seen"] == 2  # real.mp4 and its symlink; the loop is walked once
    assert summary["n_tagged"] == 1 and summary["n_skipped"] == 1  # same content: tagged once
    paths = sorted(
        Path(v["path"]).name for v in Catalog(catalog_root).open_table("videos").to_table().to_pylist()
    )
    assert paths == ["link to real.mp4", "real.mp4"]


def test_a_file_still_being_copied_waits_for_the_next_run(
    tmp_path: Path, make_media: MakeMedia, tiny_model: Path
) -> None:
    root = tmp_path / "library"
    root.mkdir()
    growing = root / "copying.mp4"
    shutil.copyfile(make_media("mp4_aac"), growing)
    catalog_root = str(tmp_path / "catalog")
    first = tag_library(
        roots=[str(root)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=600),
    )
    assert first["n_seen"] == 0
    old = time.time() - 3600
    os.utime(growing, (old, old))
    second = tag_library(
        roots=[str(root)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=600),
    )
    assert second["n_tagged"] == 1


def test_playlists_pointing_elsewhere_are_refused(tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    (root / "evil.ffconcat").write_text("ffconcat version 1.0\nfile /etc/passwd\n")
    (root / "evil.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:9/a.ts\n")
    catalog_root = str(tmp_path / "catalog")
    summary = tag_paths(
        paths=[str(root)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(extensions=(".ffconcat", ".m3u8")),
    )
    assert summary["n_failed"] == 2
    for row in videos_by_name(Catalog(catalog_root)).values():
        assert row["status"] == "failed" and "ProbeError" in row["error"]


def test_hung_ffmpeg_is_killed_and_the_run_goes_on(
    tmp_path: Path, make_media: MakeMedia, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tagger import ffmpeg_bin

    real = ffmpeg_bin.resolve("ffmpeg").path
    fake = tmp_path / "ffmpeg"
    fake.write_text(f'#!/bin/sh\ncase "$*" in *hang*) exec sleep 120;; esac\nexec "{real}" "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("EMOTAG_FFMPEG", str(fake))
    root = tmp_path / "library"
    root.mkdir()
    shutil.copyfile(make_media("mp4_aac"), root / "hang.mp4")
    shutil.copyfile(make_media("mkv_opus"), root / "fine.mkv")
    catalog_root = str(tmp_path / "catalog")
    started = time.monotonic()
    summary = tag_paths(
        paths=[str(root)],
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(decode_timeout_s=2.0),
    )
    assert time.monotonic() - started < 60
    videos = videos_by_name(Catalog(catalog_root))
    assert videos["hang.mp4"]["status"] == "failed" and "MediaTimeout" in videos["hang.mp4"]["error"]
    assert videos["fine.mkv"]["status"] == "ok" and summary["n_tagged"] == 1


def test_a_file_deleted_after_discovery_is_failed_not_fatal(
    tmp_path: Path, make_media: MakeMedia, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.run

    root = tmp_path / "library"
    root.mkdir()
    shutil.copyfile(make_media("mp4_aac"), root / "vanishing.mp4")
    shutil.copyfile(make_media("mkv_opus"), root / "staying.mkv")
    real_plan = flows.run.make_plan

    def plan_then_delete(*args: Any, **kwargs: Any) -> Any:
        plan = real_plan(*args, **kwargs)
        (root / "vanishing.mp4").unlink()
        return plan

    monkeypatch.setattr(flows.run, "make_plan", plan_then_delete)
    catalog_root = str(tmp_path / "catalog")
    summary = tag_paths(paths=[str(root)], catalog_root=catalog_root, model_path=str(tiny_model))
    videos = videos_by_name(Catalog(catalog_root))
    assert (
        videos["vanishing.mp4"]["status"] == "failed" and "no such file" in videos["vanishing.mp4"]["error"]
    )
    assert summary["n_tagged"] == 1


def test_unusable_catalogue_fails_before_any_work(
    tmp_path: Path, make_media: MakeMedia, tiny_model: Path
) -> None:
    from catalog import CatalogError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(CatalogError, match="cannot create catalogue folder"):
        tag_paths(
            paths=[str(make_media("mp4_aac"))],
            catalog_root=str(blocker / "catalog"),
            model_path=str(tiny_model),
        )


def test_unreadable_file_is_failed(tmp_path: Path, make_media: MakeMedia, tiny_model: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    root = tmp_path / "library"
    root.mkdir()
    locked = root / "locked.mp4"
    shutil.copyfile(make_media("mp4_aac"), locked)
    locked.chmod(0)
    summary = tag_paths(paths=[str(root)], catalog_root=str(tmp_path / "catalog"), model_path=str(tiny_model))
    assert summary["n_failed"] == 1
