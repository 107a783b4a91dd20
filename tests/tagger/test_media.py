"""probe() and stream_audio(): containers, tracks, rates, bad input, hostile names, timeouts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tagger.errors import DecodeError, MediaError, MediaTimeout, NoAudioError, ProbeError
from tagger.media import build_decode_command, probe, stream_audio, to_url
from tests.fixtures.media import RECIPES

MakeMedia = Callable[[str], Path]
AAC_FRAME_S = 1024 / 44_100  # one AAC frame: the tolerance on decoded durations


def dominant_hz(y: np.ndarray, sample_rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.argmax(spectrum) * sample_rate / y.size)


def decode(path: Path, track: int = 0, **kwargs: float) -> np.ndarray:
    return np.concatenate(list(stream_audio(path, track=track, **kwargs)))  # type: ignore[arg-type]


def test_two_track_file_lists_both_tracks_with_languages(make_media: MakeMedia) -> None:
    info = probe(make_media("two_tracks"))
    assert info.n_audio_tracks == 2
    assert [s.track for s in info.audio_streams] == [0, 1]
    assert [s.language for s in info.audio_streams] == ["eng", "fra"]
    assert all(s.codec == "aac" and s.channels == 1 for s in info.audio_streams)
    assert info.has_video


@pytest.mark.parametrize("track, freq_hz", [(0, 440.0), (1, 880.0)])
def test_each_track_decodes_to_its_duration_and_tone(
    make_media: MakeMedia, track: int, freq_hz: float
) -> None:
    y = decode(make_media("two_tracks"), track)
    assert y.dtype == np.float32
    assert abs(y.size / 16_000 - 5.0) <= AAC_FRAME_S
    assert abs(dominant_hz(y) - freq_hz) < 2.0


@pytest.mark.parametrize(
    "name", ["mp4_aac", "mkv_opus", "webm_vorbis", "mov_pcm", "surround51", "rate_8k",
             "rate_48k", "short", "audio_only", "dash_name", "concat_name", "unicode_name"],
)  # fmt: skip
def test_containers_codecs_rates_and_odd_names_decode(make_media: MakeMedia, name: str) -> None:
    recipe = RECIPES[name]
    path = make_media(name)
    info = probe(path)
    assert info.n_audio_tracks == 1
    if recipe.channels:
        assert info.audio_streams[0].channels == recipe.channels[0]
    if recipe.sample_rates:
        assert info.audio_streams[0].sample_rate == recipe.sample_rates[0]
    y = decode(path)
    assert recipe.duration_s is not None
    assert abs(y.size / 16_000 - recipe.duration_s) <= 0.03
    assert np.all(np.abs(y) <= 1.0)
    assert abs(dominant_hz(y) - recipe.tones_hz[0]) < 3.0


@pytest.mark.parametrize("name", ["mp4_aac", "mkv_opus", "surround51", "rate_8k", "rate_48k"])
def test_decode_filter_gives_the_samples_of_plain_ac_ar(make_media: MakeMedia, name: str) -> None:
    """The decode's filter only re-frames ffmpeg's output: same resampler, same downmix,
    the same samples bit for bit as ``-ac 1 -ar 16000``, and no padding at the end."""
    command = build_decode_command(make_media(name), track=0)
    at = command.index("-af")
    plain = [*command[:at], "-ac", "1", "-ar", "16000", *command[at + 2 :]]
    ours = subprocess.run(command, capture_output=True, check=True).stdout
    theirs = subprocess.run(plain, capture_output=True, check=True).stdout
    assert len(ours) == len(theirs) > 0
    assert ours == theirs


def test_chunks_have_the_requested_size(make_media: MakeMedia) -> None:
    chunks = list(stream_audio(make_media("mp4_aac"), chunk_s=0.25))
    assert all(c.size == 4000 for c in chunks[:-1])
    assert 0 < chunks[-1].size <= 4000


def test_first_chunks_grow_to_the_requested_size(make_media: MakeMedia) -> None:
    path = make_media("mp4_aac")
    ramped = list(stream_audio(path, chunk_s=0.25, first_chunk_s=0.01))
    sizes = [c.size for c in ramped]
    assert sizes[:4] == [160, 640, 2560, 4000]
    assert all(n == 4000 for n in sizes[3:-1]) and 0 < sizes[-1] <= 4000
    assert np.array_equal(np.concatenate(ramped), np.concatenate(list(stream_audio(path, chunk_s=0.25))))


def test_no_audio_file_probes_empty_and_refuses_decoding(make_media: MakeMedia) -> None:
    path = make_media("no_audio")
    info = probe(path)
    assert info.n_audio_tracks == 0 and info.has_video
    with pytest.raises(NoAudioError, match="no audio track 0"):
        decode(path)


def test_missing_track_index_is_no_audio(make_media: MakeMedia) -> None:
    with pytest.raises(NoAudioError, match="no audio track 2"):
        decode(make_media("two_tracks"), 2)


@pytest.mark.parametrize(
    "name, message",
    [("zero_byte", "empty"), ("truncated", "moov atom not found"), ("garbage", "EBML")],
)
def test_broken_files_raise_probe_error_with_reason(make_media: MakeMedia, name: str, message: str) -> None:
    with pytest.raises(ProbeError, match=message) as excinfo:
        probe(make_media(name))
    assert excinfo.value.path is not None


def test_truncated_mkv_decodes_what_is_there(make_media: MakeMedia) -> None:
    y = decode(make_media("truncated_mkv"))
    assert 1.0 < y.size / 16_000 < 6.0


def test_missing_file_is_probe_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such file"):
        probe(tmp_path / "nope.mp4")


def test_paths_are_passed_as_literal_file_urls(tmp_path: Path) -> None:
    command = build_decode_command(tmp_path / "-i.mp4", track=0, ffmpeg_path="ffmpeg")
    assert to_url(tmp_path / "-i.mp4") in command
    assert command[command.index("-protocol_whitelist") + 1] == "file,pipe"
    assert "concat" not in command[command.index("-format_whitelist") + 1].split(",")
    assert to_url("concat:x.mp4").startswith("file:/")


def test_concat_playlist_is_refused(tmp_path: Path) -> None:
    playlist = tmp_path / "evil.ffconcat"
    playlist.write_text("ffconcat version 1.0\nfile /etc/passwd\n")
    with pytest.raises(ProbeError, match="whitelist"):
        probe(playlist)


def test_hls_playlist_pointing_at_http_is_refused(tmp_path: Path) -> None:
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:9/a.ts\n")
    with pytest.raises(ProbeError):
        probe(playlist)


def _fake_tool(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-ffmpeg"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_hung_ffmpeg_is_killed_at_the_timeout(
    make_media: MakeMedia, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("mp4_aac")
    info = probe(path)
    monkeypatch.setenv("EMOTAG_FFMPEG", str(_fake_tool(tmp_path, "echo stuck >&2; exec sleep 60")))
    started = time.monotonic()
    with pytest.raises(MediaTimeout, match="exceeded 1 s") as excinfo:
        decode(path, timeout_s=1.0, info=info)  # type: ignore[arg-type]
    assert time.monotonic() - started < 15
    assert "stuck" in excinfo.value.stderr


def test_failing_ffmpeg_raises_decode_error_with_stderr(
    make_media: MakeMedia, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("mp4_aac")
    info = probe(path)
    monkeypatch.setenv("EMOTAG_FFMPEG", str(_fake_tool(tmp_path, "echo 'codec exploded' >&2; exit 1")))
    with pytest.raises(DecodeError, match="codec exploded"):
        decode(path, info=info)  # type: ignore[arg-type]


def test_stopping_early_kills_ffmpeg(make_media: MakeMedia) -> None:
    stream = stream_audio(make_media("mp4_aac"), chunk_s=0.1)
    next(stream)
    stream.close()
    leftover = subprocess.run(["pgrep", "-f", "tone440.mp4"], capture_output=True, text=True)
    assert str(os.getpid()) not in leftover.stdout
    assert leftover.stdout.strip() == ""


def test_errors_share_one_hierarchy() -> None:
    for error in (ProbeError, NoAudioError, DecodeError, MediaTimeout):
        assert issubclass(error, MediaError)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_the_decoder_is_kept_on_one_allowed_cpu_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from tagger.piped import keep_on_one_cpu

    allowed = os.sched_getaffinity(0)
    child = subprocess.Popen(["sleep", "5"])
    try:
        chosen = [keep_on_one_cpu(child.pid) for _ in range(2 * len(allowed))]
        assert all(cpu in allowed for cpu in chosen)
        assert set(chosen) == allowed  # taken in turn: successive decodes spread over the CPUs
        assert os.sched_getaffinity(child.pid) == {chosen[-1]}
        assert os.sched_getaffinity(0) == allowed  # our own process is left alone
        monkeypatch.setenv("EMOTAG_PIN_FFMPEG", "0")
        assert keep_on_one_cpu(child.pid) is None
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_malloc_arenas_are_capped_once_unless_the_environment_says() -> None:
    check = (
        "import tagger.media, tagger.piped as p; "
        "print(p.cap_malloc_arenas.cache_info().currsize, p.cap_malloc_arenas())"
    )
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    capped = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=env, check=True
    )
    assert capped.stdout.split() == ["1", "True"]  # done on import, remembered
    env["MALLOC_ARENA_MAX"] = "4"
    left = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, check=True)
    assert left.stdout.split() == ["1", "False"]
