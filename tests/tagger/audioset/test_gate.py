"""The scene gate: the trunk once per segment, pooled per window, level-free, chunking-free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tagger.audioset.gate import (
    STEP_FRAMES,
    SceneConfig,
    SceneStream,
    combine_content,
    decide_scene,
    load_scene_net,
    scene_threads,
    smoothed_speech,
)
from tagger.audioset.melspec import scene_mel_power
from tagger.errors import ConfigError
from tagger.features import FrameStream
from tagger.frontend import FrontEndConfig, WindowBatch, analyse_chunks, analyse_signal
from tagger.testing import signals

DEMO = Path(__file__).resolve().parents[3] / "tagger" / "demo" / "clips"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """Real speech (the eight demo RAVDESS clips back to back), peak 0.09: x10 does not clip."""
    y = np.concatenate([sf.read(path, dtype="float32")[0] for path in sorted(DEMO.glob("*.flac"))])
    return (y * (0.09 / np.abs(y).max())).astype(np.float32)


def _mel_rows(y: np.ndarray) -> np.ndarray:
    stream = FrameStream(frame_length=400, hop_length=160, n_columns=128, analyse=scene_mel_power)
    return np.concatenate([stream.push(y), stream.finish()])


def test_decisions() -> None:
    # columns: p(Speech), p(Singing), p(Music), p(rival)
    probs = np.array(
        [
            [0.9, 0.0, 0.1, 0.0],
            [0.2, 0.0, 0.9, 0.1],  # speech over a music bed
            [0.1, 0.0, 0.9, 0.0],
            [0.1, 0.7, 0.2, 0.0],
            [0.05, 0.0, 0.1, 0.0],
            [0.6, 0.0, 0.1, 0.8],  # a bark heard as more likely than speech
        ]
    )
    # speech needs p(Speech) >= 0.15 and >= p(rival), even over music; music or singing >= 0.5 is music
    assert list(decide_scene(probs)) == ["speech", "speech", "music", "music", "other", "other"]
    voiced = np.array([True, False, True, True, True, True])
    # with the voicing detector: no voice, no speech
    assert list(decide_scene(probs, voiced=voiced)) == ["speech", "music", "music", "music", "other", "other"]
    features = np.array(["music", "music", "speech", "speech", "speech", "speech"])
    assert list(combine_content(features, probs, gate="combined", voiced=voiced)) == [
        "speech",
        "music",
        "music",
        "music",
        "other",  # unsure, and p(Speech) under the floor
        "speech",  # unsure (the rival): the feature gate decides
    ]
    assert list(combine_content(features, probs, gate="scene")) == list(decide_scene(probs))
    assert list(combine_content(features, probs, gate="features")) == list(features)
    with pytest.raises(ConfigError):
        SceneConfig(segment_frames=100)
    with pytest.raises(ConfigError):
        SceneConfig(smooth_windows=5)
    with pytest.raises(ConfigError):
        FrontEndConfig(gate="loudest")


def test_smoothing_is_the_median_of_a_window_and_its_neighbours() -> None:
    p = np.array([0.9, 0.1, 0.9, 0.8, 0.0], dtype=np.float32)
    before = np.concatenate([[p[0]], p[:-1]])
    after = np.concatenate([p[1:], [p[-1]]])
    np.testing.assert_array_equal(smoothed_speech(p, before, after), p[[0, 0, 3, 3, 4]])


def test_batches_and_chunks_do_not_change_the_smoothed_calls(speech: np.ndarray) -> None:
    y = np.concatenate([speech, signals.pink_noise(6.0, amplitude=0.02, seed=1), speech[:40_000]])
    whole = analyse_signal(y)
    assert whole is not None
    for batch_windows, cuts in ((1, [5_000, 170_000]), (7, list(range(33_333, y.size, 33_333)))):
        config = FrontEndConfig(batch_windows=batch_windows)
        parts = WindowBatch.concatenate(list(analyse_chunks(np.split(y, cuts), config=config)))
        np.testing.assert_array_equal(parts.content, whole.content)
        # the trunk's steps are exact; the head's products differ in the last bits by batch size
        np.testing.assert_allclose(parts.scene_probs, whole.scene_probs, rtol=0, atol=1e-5)


def test_the_trunk_runs_once_per_segment_and_chunking_changes_nothing(speech: np.ndarray) -> None:
    net = load_scene_net()
    rows = _mel_rows(np.tile(speech, 3))  # ~60 s
    calls: list[tuple[int, ...]] = []

    def counted(x: np.ndarray) -> np.ndarray:
        calls.append(x.shape)
        return net.trunk(x)

    results = []
    runs = [([], True), ([7, 1500, 1501, 4000], True), (list(range(250, len(rows), 250)), True), ([], False)]
    for cuts, background in runs:  # the trunk on its own thread, or in the caller's
        calls.clear()
        stream = SceneStream(counted, background=background)
        for part in np.split(rows, cuts):
            stream.push(part)
        stream.finish()
        assert stream.covered_frames == len(rows)
        starts = np.arange(0, len(rows) - 300, 100)
        results.append(stream.window_probabilities(net, starts, starts + 300))
        cfg = SceneConfig()
        assert len(calls) == -(-len(rows) // cfg.segment_frames)  # once per segment, not per window
        assert all(shape[2] % STEP_FRAMES == 0 for shape in calls)
        assert max(shape[2] for shape in calls) == cfg.segment_frames + 2 * cfg.context_frames
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)
    assert np.mean(results[0][:, 0] >= 0.5) >= 0.9  # p(Speech) of real speech


@pytest.mark.parametrize("gate", ["scene", "combined"])
def test_a_gain_of_a_tenth_or_ten_keeps_the_class(speech: np.ndarray, gate: str) -> None:
    noise = signals.pink_noise(8.0, amplitude=0.02, seed=4)
    y = np.concatenate([speech, noise]).astype(np.float32)
    config = FrontEndConfig(gate=gate)
    base = analyse_signal(y, config=config)
    assert base is not None
    for gain in (0.1, 10.0):
        assert np.abs(y * gain).max() < 1.0
        scaled = analyse_signal(y * gain, config=config)
        assert scaled is not None
        np.testing.assert_array_equal(scaled.content, base.content)
        np.testing.assert_allclose(scaled.scene_probs, base.scene_probs, atol=0.02)
    n_speech = -(-speech.size // 16_000) - 2
    assert np.mean(base.content[:n_speech] == "speech") >= 0.9
    assert not np.any(base.content[-5:] == "speech")


def test_a_short_track_and_silence_are_gated(speech: np.ndarray) -> None:
    short = analyse_signal(speech[:8_000], config=FrontEndConfig(gate="scene"))  # 0.5 s
    assert short is not None and len(short) == 1 and np.isfinite(short.scene_probs).all()
    silent = analyse_signal(np.zeros(16_000 * 5, dtype=np.float32), config=FrontEndConfig(gate="combined"))
    assert silent is not None and not silent.is_speech.any()


def test_the_feature_gate_leaves_the_scene_probabilities_empty(speech: np.ndarray) -> None:
    batch = analyse_signal(speech[: 16_000 * 4], config=FrontEndConfig(gate="features"))
    assert batch is not None and np.isnan(batch.scene_probs).all()


def test_the_trunk_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMOTAG_SCENE_THREADS", raising=False)
    assert scene_threads() == 1
    monkeypatch.setenv("EMOTAG_SCENE_THREADS", "2")
    assert scene_threads() == 2
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv("EMOTAG_SCENE_THREADS", bad)
        with pytest.raises(ConfigError):
            scene_threads()


def test_a_trunk_failure_on_its_thread_reaches_the_caller(speech: np.ndarray) -> None:
    def broken(x: np.ndarray) -> np.ndarray:
        raise RuntimeError("trunk failed")

    stream = SceneStream(broken)
    stream.push(_mel_rows(speech[: 16_000 * 5]))
    with pytest.raises(RuntimeError, match="trunk failed"):
        stream.finish()
