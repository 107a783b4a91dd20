"""Decoding ahead: the same chunks and errors as decoding in place, and nothing left running."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from flows.worker_pool import VideoJob, process_batch
from tagger.ahead import DecodeAhead, Lookahead
from tagger.errors import DecodeError
from tagger.media import MediaInfo, probe, stream_audio
from tagger.pipeline import TagConfig

MakeMedia = Callable[[str], Path]


def _stream(path: str, track: int, info: MediaInfo) -> Iterator[np.ndarray]:
    return stream_audio(path, track=track, info=info, chunk_s=0.5, first_chunk_s=0.05)


def test_a_decode_ahead_yields_what_decoding_in_place_yields(make_media: MakeMedia) -> None:
    path = str(make_media("two_tracks"))
    info = probe(path)
    for track in (0, 1):
        ahead = DecodeAhead(path, track=track, info=info, open_stream=_stream)
        got = list(ahead)
        ahead.close()
        want = list(_stream(path, track, info))
        assert [c.size for c in got] == [c.size for c in want]
        assert np.array_equal(np.concatenate(got), np.concatenate(want))


def test_without_a_probe_it_probes_and_takes_the_first_audio_track(make_media: MakeMedia) -> None:
    path = str(make_media("two_tracks"))
    ahead = DecodeAhead(path, track=None, info=None, open_stream=_stream)
    info = ahead.info()
    assert info is not None and info.n_audio_tracks == 2
    assert ahead.track == info.audio_streams[0].track
    assert sum(c.size for c in ahead) > 0
    ahead.close()


def test_a_file_that_cannot_be_probed_has_no_info_and_no_chunks(make_media: MakeMedia) -> None:
    ahead = DecodeAhead(str(make_media("garbage")), track=None, info=None, open_stream=_stream)
    assert ahead.info() is None
    ahead.close()


def test_the_decodes_error_is_raised_where_the_chunks_are_read() -> None:
    def failing(path: str, track: int, info: MediaInfo) -> Iterator[np.ndarray]:
        yield np.zeros(4, dtype=np.float32)
        raise DecodeError("codec exploded", path=path)

    info = MediaInfo(path="x", container="mp4", duration_s=1.0, size_bytes=1, has_video=False)
    ahead = DecodeAhead("x", track=0, info=info, open_stream=failing)
    chunks = iter(ahead)
    assert next(chunks).size == 4
    with pytest.raises(DecodeError, match="codec exploded"):
        next(chunks)
    ahead.close()


def test_closing_stops_an_unread_decode_and_runs_its_clean_up() -> None:
    cleaned = threading.Event()

    def endless(path: str, track: int, info: MediaInfo) -> Iterator[np.ndarray]:
        try:
            while True:
                yield np.zeros(16, dtype=np.float32)
        finally:
            cleaned.set()

    info = MediaInfo(path="x", container="mp4", duration_s=None, size_bytes=1, has_video=False)
    ahead = DecodeAhead("x", track=0, info=info, open_stream=endless)
    time.sleep(0.2)  # the queue is full, the thread waits
    started = time.perf_counter()
    ahead.close()
    assert cleaned.wait(timeout=2.0)
    assert time.perf_counter() - started < 2.0


def test_lookahead_hands_over_only_the_track_it_decodes(make_media: MakeMedia) -> None:
    path = str(make_media("two_tracks"))
    with Lookahead(_stream) as lookahead:
        lookahead.start(path)
        info = lookahead.info_for(path)
        assert info is not None and info.n_audio_tracks == 2
        assert lookahead.info_for("elsewhere.mp4") is None
        assert lookahead.take(path, info.audio_streams[1].track) is None  # not that track: closed
        lookahead.start(path, track=info.audio_streams[1].track, info=info)
        ahead = lookahead.take(path, info.audio_streams[1].track)
        assert ahead is not None and sum(c.size for c in ahead) > 0
        ahead.close()


def _ffmpeg_children() -> str:
    return subprocess.run(["pgrep", "-P", str(os.getpid()), "ffmpeg"], capture_output=True, text=True).stdout


def test_a_batch_in_this_process_decodes_ahead_and_matches_one_video_at_a_time(
    make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[tuple[str, int]] = []
    take = Lookahead.take

    def spy(self: Lookahead, path: str, track: int) -> DecodeAhead | None:
        ahead = take(self, path, track)
        if ahead is not None:
            handed.append((Path(path).name, track))
        return ahead

    monkeypatch.setattr(Lookahead, "take", spy)
    paths = [make_media(name) for name in ("two_tracks", "garbage", "mp4_aac", "no_audio", "short")]
    jobs = [VideoJob(str(p), f"v{i}", p.stat().st_size, p.stat().st_mtime) for i, p in enumerate(paths)]
    config = TagConfig(chunk_s=0.5)
    together = process_batch(jobs, model_path=None, config=config, workers=1)
    # decoded ahead: the first video's second track, and the video after the one without
    # audio (not the one after the unreadable file, whose failure starts nothing)
    assert [name for name, _ in handed] == [paths[0].name, paths[4].name]
    alone = [process_batch([job], model_path=None, config=config, workers=1)[0] for job in jobs]
    assert (
        [o.status for o in together]
        == [o.status for o in alone]
        == [
            "ok",
            "failed",
            "ok",
            "no_audio",
            "ok",
        ]
    )
    for a, b in zip(together, alone, strict=True):
        assert (a.error or "").split(":")[0] == (b.error or "").split(":")[0]  # ffprobe prints addresses
        assert len(a.tracks) == len(b.tracks)
        for x, y in zip(a.tracks, b.tracks, strict=True):
            assert np.array_equal(x.start_s, y.start_s)
            assert np.allclose(x.probs, y.probs, atol=1e-6)
            assert list(x.labels) == list(y.labels)
    assert _ffmpeg_children() == ""


def test_a_stream_that_fails_to_open_fails_the_reader_instead_of_hanging_it() -> None:
    def broken(path: str, track: int, info: MediaInfo) -> Iterator[np.ndarray]:
        raise DecodeError("cannot start ffmpeg", path=path)

    info = MediaInfo(path="x", container="mp4", duration_s=1.0, size_bytes=1, has_video=False)
    ahead = DecodeAhead("x", track=0, info=info, open_stream=broken)
    with pytest.raises(DecodeError, match="cannot start"):
        list(ahead)
    ahead.close()
