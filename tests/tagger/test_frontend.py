"""The front end end to end: files and signals give the same windows, covering the track."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tagger.features import window_feature_names
from tagger.frontend import FrontEndConfig, WindowBatch, analyse_file, analyse_signal, resample
from tagger.media import stream_audio

MakeMedia = Callable[[str], Path]


def collect(path: Path, **kwargs: float | None) -> WindowBatch:
    return WindowBatch.concatenate(list(analyse_file(path, **kwargs)))  # type: ignore[arg-type]


def test_file_and_signal_paths_agree(make_media: MakeMedia) -> None:
    path = make_media("two_tracks")
    from_file = collect(path, chunk_s=0.7)
    samples = np.concatenate(list(stream_audio(path)))
    from_signal = analyse_signal(samples)
    assert from_signal is not None
    assert np.array_equal(from_file.start_s, from_signal.start_s)
    assert np.array_equal(from_file.features, from_signal.features)


def test_chunk_size_does_not_change_the_result(make_media: MakeMedia) -> None:
    path = make_media("mp4_aac")
    a, b = collect(path, chunk_s=0.33), collect(path, chunk_s=30.0)
    assert np.array_equal(a.features, b.features)
    assert np.array_equal(a.is_speech, b.is_speech)


def test_growing_first_chunks_do_not_change_the_result(make_media: MakeMedia) -> None:
    path = make_media("mp4_aac")
    a, b = collect(path, first_chunk_s=0.05), collect(path, first_chunk_s=None)
    assert np.array_equal(a.features, b.features)
    assert np.array_equal(a.content, b.content)
    assert np.array_equal(a.scene_probs, b.scene_probs, equal_nan=True)


@pytest.mark.parametrize("name", ["mp4_aac", "short", "two_tracks"])
def test_windows_cover_the_decoded_track(make_media: MakeMedia, name: str) -> None:
    path = make_media(name)
    n_samples = sum(c.size for c in stream_audio(path))
    batch = collect(path)
    assert batch.start_s[0] == 0.0
    assert batch.end_s.max() == pytest.approx(n_samples / 16_000)
    assert np.all(batch.start_s[1:] <= batch.end_s[:-1])
    assert batch.features.shape == (len(batch), len(window_feature_names()))
    assert np.all(np.isfinite(batch.features))
    assert batch.frames.shape[1:3] == (300, batch.frames.shape[2])


def test_batches_are_bounded(make_media: MakeMedia) -> None:
    config = FrontEndConfig(batch_windows=2)
    sizes = [len(b) for b in analyse_file(make_media("two_tracks"), config=config)]
    assert max(sizes) <= 2 and sum(sizes) == 4


def test_corpus_speech_in_a_video_is_found(make_media: MakeMedia, corpus: Path) -> None:
    batch = collect(make_media("speech"))
    assert batch.is_speech.mean() > 0.7


def test_front_end_imports_neither_librosa_nor_numba() -> None:
    """Workers must not pay librosa's imports and numba's compile-on-first-use: a fresh
    process runs the front end (16 kHz and resampled 48 kHz) and lists what it loaded."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from tagger.frontend import analyse_signal\n"
        "t = np.arange(48_000) / 16_000\n"
        "y = (0.2 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)\n"
        "assert analyse_signal(y) is not None\n"
        "assert analyse_signal(np.repeat(y, 3), sample_rate=48_000) is not None\n"
        "import tagger.pipeline, tagger.speech, tagger.features\n"
        "print(sorted(m for m in ('librosa', 'numba', 'llvmlite', 'scipy.signal') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("orig_sr", [48_000, 44_100, 22_050, 8_000])
def test_resample_is_librosas(orig_sr: int) -> None:
    import librosa

    from tagger.testing import signals

    y = signals.speech_like(1.3, seed=3, sample_rate=orig_sr).astype(np.float32)
    ours = resample(y, orig_sr=orig_sr, target_sr=16_000)
    assert ours.dtype == np.float32
    assert np.array_equal(ours, librosa.resample(y, orig_sr=orig_sr, target_sr=16_000))
    assert resample(y, orig_sr=16_000, target_sr=16_000) is not None
