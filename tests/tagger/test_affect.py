"""Arousal and valence from the emotion probabilities: bounded, linear, ordered."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.affect import AFFECT_PLACES, affect
from tagger.constants import EMOTIONS
from tagger.errors import ParameterError

HIGH = ("angry", "fearful", "surprised", "happy")
LOW = ("sad", "calm")


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 40))
def test_bounded_and_linear(seed: int, n: int) -> None:
    probs = np.random.default_rng(seed).dirichlet(np.full(len(EMOTIONS), 0.3), size=n)
    arousal, valence = affect(probs)
    assert arousal.shape == valence.shape == (n,) and arousal.dtype == np.float32
    assert np.all(np.abs(arousal) <= 1.0) and np.all(np.abs(valence) <= 1.0)
    # the mean over windows is the place of the mean probabilities (segments, profiles)
    mean_a, mean_v = affect(probs.mean(axis=0, keepdims=True))
    assert mean_a[0] == pytest.approx(arousal.mean(), abs=1e-5)
    assert mean_v[0] == pytest.approx(valence.mean(), abs=1e-5)


def test_a_sure_window_sits_at_its_emotion_and_the_order_holds() -> None:
    arousal, valence = affect(np.eye(len(EMOTIONS)))
    for i, name in enumerate(EMOTIONS):
        assert (valence[i], arousal[i]) == pytest.approx(AFFECT_PLACES[name])
    by_name = dict(zip(EMOTIONS, arousal, strict=True))
    assert min(by_name[e] for e in HIGH) > by_name["neutral"] > max(by_name[e] for e in LOW)
    assert by_name["happy"] > 0 and dict(zip(EMOTIONS, valence, strict=True))["happy"] > 0.5
    with pytest.raises(ParameterError):
        affect(np.ones((2, 7)))
