"""How probabilities become labels: the arg-max, and the neutral group (calm a kind of neutral)."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.constants import EMOTIONS
from tagger.decision import ARGMAX, Decision, decide
from tagger.errors import ModelError
from tagger.model import Classifier
from tagger.segments import label_windows, profile

NEUTRAL, CALM, SAD = (EMOTIONS.index(n) for n in ("neutral", "calm", "sad"))
GROUP = Decision("neutral_group")


def _probs(n: int, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(scale=2.0, size=(n, len(EMOTIONS)))
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def test_the_default_is_the_argmax_and_its_probability() -> None:
    p = _probs(500, 0)
    chosen, evidence = decide(p)
    np.testing.assert_array_equal(chosen, p.argmax(axis=1))
    np.testing.assert_array_equal(evidence, p.max(axis=1))


def test_the_group_decides_neutral_or_calm_against_each_emotion() -> None:
    p = _probs(2000, 1)
    chosen, evidence = decide(p, GROUP)
    group_mass = p[:, NEUTRAL] + p[:, CALM]
    best_emotion = np.delete(p, [NEUTRAL, CALM], axis=1).max(axis=1)
    in_group = np.isin(chosen, [NEUTRAL, CALM])
    np.testing.assert_array_equal(in_group, group_mass >= best_emotion)
    # inside the group, the larger of the two; outside, the arg-max over the emotions
    np.testing.assert_array_equal(
        chosen[in_group], np.where(p[in_group, NEUTRAL] >= p[in_group, CALM], NEUTRAL, CALM)
    )
    np.testing.assert_array_equal(chosen[~in_group], p[~in_group].argmax(axis=1))
    np.testing.assert_allclose(evidence[in_group], group_mass[in_group], rtol=1e-6)
    assert np.all(evidence >= p.max(axis=1) - 1e-7) and np.all(evidence <= 1 + 1e-6)
    # the group only ever takes windows from the emotions, never gives any away
    plain = p.argmax(axis=1)
    assert np.all(chosen[np.isin(plain, [NEUTRAL, CALM])] == plain[np.isin(plain, [NEUTRAL, CALM])])
    assert in_group.sum() > np.isin(plain, [NEUTRAL, CALM]).sum()


def test_a_heavier_neutral_weight_only_turns_emotions_into_the_group() -> None:
    p = _probs(2000, 2)
    before = decide(p, GROUP)[0]
    after = decide(p, Decision("neutral_group", neutral_weight=3.0))[0]
    changed = before != after
    assert changed.any()
    assert np.all(np.isin(after[changed], [NEUTRAL, CALM]))
    assert not np.isin(before[changed], [NEUTRAL, CALM]).any()


def test_calm_needs_its_weight_times_neutral_inside_the_group() -> None:
    p = _probs(2000, 3)
    plain = decide(p, GROUP)[0]
    strict = decide(p, Decision("neutral_group", calm_weight=10.0))[0]
    changed = plain != strict
    assert changed.any()
    assert set(plain[changed].tolist()) == {CALM} and set(strict[changed].tolist()) == {NEUTRAL}
    calm = strict == CALM
    assert np.all(p[calm, CALM] > 10.0 * p[calm, NEUTRAL])


def test_labels_abstain_on_the_decided_class_evidence() -> None:
    p = np.full((1, len(EMOTIONS)), 0.05, dtype=np.float32)
    p[0, [NEUTRAL, CALM, SAD]] = [0.22, 0.18, 0.3]  # sums to 1
    speech = np.array([True])
    assert label_windows(p, speech, abstain_threshold=0.35).tolist() == ["uncertain"]
    assert label_windows(p, speech, abstain_threshold=0.35, decision=GROUP).tolist() == ["neutral"]
    assert label_windows(p, speech, abstain_threshold=0.25).tolist() == ["sad"]


def test_the_profile_names_its_dominant_label_by_the_same_rule() -> None:
    p = np.full((2, len(EMOTIONS)), 0.05, dtype=np.float32)
    p[:, [NEUTRAL, CALM, SAD]] = [0.22, 0.18, 0.3]
    spans = np.array([[0.0, 1.0], [1.0, 2.0]])
    speech = np.array([True, True])
    assert profile(spans, p, speech).dominant_label == "sad"
    assert profile(spans, p, speech, decision=GROUP).dominant_label == "neutral"


def test_the_card_carries_the_rule_and_bad_rules_are_refused() -> None:
    card = {
        "version": "x-0",
        "classes": list(EMOTIONS),
        "input": {"name": "features", "shape": [161]},
        "calibration": {"temperature": 1.0, "abstain_threshold": 0.0},
    }
    assert Classifier(lambda x: x, card).decision == ARGMAX  # older cards: the arg-max
    card["decision"] = GROUP.as_card() | {"neutral_weight": 2.0, "calm_weight": 10.0}
    assert Classifier(lambda x: x, card).decision == Decision("neutral_group", 2.0, 10.0)
    bad_entries = ({"rule": "vote"}, {"rule": "neutral_group", "neutral_weight": 0}, {"neutral_weight": "x"})
    for bad in (*bad_entries, {"calm_weight": float("inf")}):
        with pytest.raises(ModelError):
            Decision.from_card({"decision": bad})
