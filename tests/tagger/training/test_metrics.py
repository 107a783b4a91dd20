"""Classification metrics and clip scoring."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.training.dataset import ClipSet
from tagger.training.metrics import classification_metrics, clip_probabilities, clip_probability


def test_classification_metrics_known_case() -> None:
    true = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    m = classification_metrics(true, pred)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert set(m["per_class"]) == {"neutral", "calm"}
    assert m["per_class"]["calm"]["precision"] == pytest.approx(2 / 3)
    assert np.asarray(m["confusion"]).shape == (8, 8)


def test_clip_probability_averages_speech_windows_or_all() -> None:
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(clip_probability(probs, np.array([True, False, True])), [0.75, 0.25])
    np.testing.assert_allclose(clip_probability(probs, np.zeros(3, dtype=bool)), [0.5, 0.5])


def test_clip_probabilities_score_each_clip_like_clip_probability() -> None:
    rng = np.random.default_rng(0)
    clip = np.array([0, 0, 1, 1, 1, 2])
    is_speech = np.array([True, False, False, False, False, True])
    n = clip.size
    clips = ClipSet(
        paths=["a", "b", "c"],
        labels=np.zeros(3, dtype=np.int64),
        actors=np.ones(3, dtype=np.int64),
        mfcc40=np.zeros((3, 40), dtype=np.float32),
        clip=clip,
        features=np.zeros((n, 161), dtype=np.float32),
        frames=np.zeros((n, 1, 1), dtype=np.float32),
        is_speech=is_speech,
    )
    window_probs = rng.dirichlet(np.ones(8), size=n).astype(np.float32)
    out = clip_probabilities(clips, window_probs)
    assert out.shape == (3, 8)
    for c in range(3):
        mine = clip == c
        np.testing.assert_allclose(out[c], clip_probability(window_probs[mine], is_speech[mine]))
