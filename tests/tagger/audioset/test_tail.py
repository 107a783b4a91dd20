"""The emotion tail on the gate's trunk: the trunk once per segment, the tail on each
window's stretch of its map exactly as training scores a clip, read only by its own model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tagger.audioset.gate import (
    STEP_FRAMES,
    SceneConfig,
    load_scene_net,
    segment_input,
    span_means,
    tail_window_logits,
)
from tagger.errors import ModelError
from tagger.frontend import FrontEndConfig, WindowBatch, analyse_chunks, analyse_signal, scene_mel_rows
from tagger.model import load_model
from tagger.pipeline import frontend_for
from tagger.testing.signals import speech_like


@pytest.fixture(scope="module")
def classifier():  # type: ignore[no-untyped-def]
    model = load_model()
    assert model.input_name == "scene_map" and model.tail_path is not None  # the shipped model
    return model


def test_span_means_is_the_mean_of_the_steps_centred_in_each_span() -> None:
    steps = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    starts = np.array([0, 1, 33, 100, 290, 600])
    ends = np.array([300, 5, 64, 400, 310, 700])  # (1, 5) and (290, 310) hold no step centre
    got = span_means(steps, starts, ends)
    for row, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        centred = [j for j in range(len(steps)) if lo <= STEP_FRAMES * j < hi]
        if not centred:  # the nearest step
            centred = [min(max(-(-lo // STEP_FRAMES), 0), len(steps) - 1)]
        np.testing.assert_allclose(got[row], steps[centred].mean(axis=0), rtol=1e-5)


def test_the_tail_reads_each_windows_own_stretch_of_the_map() -> None:
    rng = np.random.default_rng(2)
    feature_map = rng.normal(size=(8, 40, 32)).astype(np.float32)
    weights = rng.normal(size=(8 * 32, 3)).astype(np.float32)
    calls: list[tuple[int, ...]] = []

    def tail(x: np.ndarray) -> np.ndarray:  # (b, 8, t, 32) -> (b, t // 2, 3), with a global term as SE has
        calls.append(x.shape)
        if x.shape[2] % 2:  # the real tail's stride 2 rounds up
            x = np.concatenate([x, x[:, :, -1:]], axis=2)
        steps = x.reshape(x.shape[0], 8, x.shape[2] // 2, 2, 32).mean(axis=3).transpose(0, 2, 1, 3)
        logits = steps.reshape(x.shape[0], x.shape[2] // 2, -1) @ weights
        return logits + x.mean(axis=(1, 2, 3))[:, None, None]

    starts, ends = np.array([0, 100, 200, 600]), np.array([300, 400, 500, 640])
    got = tail_window_logits(tail, feature_map, starts, ends)
    assert len(calls) == len(
        {max(lo // 16 + 2, -(-hi // 16)) - lo // 16 for lo, hi in zip(starts, ends, strict=True)}
    )
    for row, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        crop = feature_map[:, lo // 16 : max(lo // 16 + 2, -(-hi // 16))]
        np.testing.assert_allclose(got[row], tail(crop[None])[0].mean(axis=0), rtol=1e-5)
    # what lies outside a window's columns does not change its logits
    changed = feature_map.copy()
    changed[:, 32:] += 5.0
    np.testing.assert_array_equal(tail_window_logits(tail, changed, starts[:2], ends[:2]), got[:2])


def test_segment_input_mirrors_to_a_multiple_of_32_frames() -> None:
    rows = np.random.default_rng(1).uniform(0.1, 1.0, size=(70, 128)).astype(np.float32)
    x = segment_input(rows, SceneConfig())
    assert x.shape == (1, 128, 96, 1)
    np.testing.assert_array_equal(x[0, :, 70:72, 0], x[0, :, 68:66:-1, 0])  # mirrored, not silence


def test_the_front_end_runs_the_tail_as_training_scores_a_clip(classifier) -> None:  # type: ignore[no-untyped-def]
    from tagger.litert import LiteRTForward
    from tagger.training.mn04 import clip_logits

    y = speech_like(7.3, seed=5)  # shorter than a segment: one trunk run, as in training
    batch = analyse_signal(y, config=frontend_for(classifier, FrontEndConfig()))
    assert batch is not None and batch.tail_logits.shape == (len(batch), len(classifier.classes))
    _, feature_map = load_scene_net().trunk_with_map(segment_input(scene_mel_rows(y), SceneConfig()))
    trained = clip_logits(LiteRTForward(classifier.tail_path), feature_map[0])
    np.testing.assert_allclose(batch.tail_logits, trained, rtol=0, atol=1e-4)


def test_chunks_and_batches_do_not_change_the_tail_logits(classifier) -> None:  # type: ignore[no-untyped-def]
    y = np.concatenate([speech_like(9.0, seed=6), speech_like(20.0, seed=7)])  # > one segment
    config = frontend_for(classifier, FrontEndConfig())
    whole = analyse_signal(y, config=config)
    assert whole is not None
    parts = WindowBatch.concatenate(
        list(analyse_chunks(np.split(y, [7_777, 200_001, 333_333]), config=replace(config, batch_windows=5)))
    )
    np.testing.assert_allclose(parts.tail_logits, whole.tail_logits, rtol=0, atol=1e-5)
    probs = classifier.predict(whole)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_a_model_never_reads_another_models_logits(classifier) -> None:  # type: ignore[no-untyped-def]
    y = speech_like(4.0, seed=8)
    none = analyse_signal(y, config=FrontEndConfig(tail=None))
    assert none is not None and none.tail_logits.shape == (len(none), 0)
    with pytest.raises(ModelError, match="frontend_for"):
        classifier.predict(none)
    batch = analyse_signal(y)  # the default front end runs the shipped model's tail
    assert batch is not None
    forged = replace(batch, tail_model=np.full(len(batch), "/elsewhere/other.tflite"))
    with pytest.raises(ModelError, match="not of this model's tail"):
        classifier.predict(forged)
    assert classifier.predict(batch).shape == (len(batch), 8)


def test_the_feature_gate_still_runs_the_trunk_for_the_tail(classifier) -> None:  # type: ignore[no-untyped-def]
    y = speech_like(6.0, seed=9)
    scene = analyse_signal(y, config=frontend_for(classifier, FrontEndConfig()))
    features = analyse_signal(y, config=frontend_for(classifier, FrontEndConfig(gate="features")))
    assert scene is not None and features is not None
    assert np.isnan(features.scene_probs).all()  # the feature gate decides content
    np.testing.assert_allclose(features.tail_logits, scene.tail_logits, rtol=0, atol=1e-6)
    probs = classifier.predict(features)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
