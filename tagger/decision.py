"""From calibrated probabilities to one emotion per window or clip (pure numpy).

Calm is a low-arousal kind of neutral: RAVDESS defines it so, and it is the only corpus
with the class; the others have neutral and no calm, and their neutral clips are taught
"neutral or calm" (:data:`tagger.training.labels.ABSORBED_BY`). A plain arg-max then
splits the evidence for "nothing much is going on" between two classes and lets any
emotion with more than either half win: neutral speech comes out sad, calm or happy.

The ``neutral_group`` rule decides as the labels were taught: first *neutral or calm*
(their probabilities summed, times ``neutral_weight``) against each emotion, then, if the
group wins, calm only where its probability is at least ``calm_weight`` times neutral's.
Both weights are priors (Bayes' rule: a weight ``w`` is the same as a class ``w`` times
more likely than in training, where classes were balanced). ``calm_weight``: calm as
RAVDESS acts it (a deliberately soothing delivery) is learnt from one corpus of 20 English
actors, four corpora of five cannot tell it from neutral, and in everyday media it is far
rarer than plain neutral speech, so calm must be clearly more likely than neutral, not
merely ahead of it: without that, neutral speech in other languages reads as calm. The decided
label's *evidence*, compared with the abstain threshold and stored as the window's
confidence, is its unweighted probability: the group's sum, or the emotion's own.

With the group absent (classes without neutral and calm) the rule is the arg-max.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tagger.constants import EMOTIONS
from tagger.errors import ModelError

__all__ = ["ARGMAX", "DECISION_RULES", "NEUTRAL_GROUP", "Decision", "DecisionRule", "decide"]

DecisionRule = Literal["argmax", "neutral_group"]
DECISION_RULES: tuple[DecisionRule, ...] = ("argmax", "neutral_group")
NEUTRAL_GROUP: tuple[str, ...] = ("neutral", "calm")
"""Classes decided together against the emotions: calm is a kind of neutral."""


@dataclass(frozen=True)
class Decision:
    """How a model's probabilities become a label: ``rule`` and, for ``neutral_group``,
    ``neutral_weight`` (> 0, the group's prior relative to training's) and ``calm_weight``
    (> 0, how many times neutral's probability calm needs inside the group). Stored in the
    model card as ``{"decision": {"rule": ..., "neutral_weight": ..., "calm_weight": ...}}``;
    a card without it (the older models) decides by arg-max."""

    rule: DecisionRule = "argmax"
    neutral_weight: float = 1.0
    calm_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.rule not in DECISION_RULES:
            raise ModelError(f"unknown decision rule {self.rule!r}; expected one of {DECISION_RULES}")
        for name in ("neutral_weight", "calm_weight"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
                raise ModelError(f"{name} must be a positive number, got {value!r}")

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Decision:
        entry = card.get("decision") or {}
        try:
            return cls(
                rule=entry.get("rule", "argmax"),
                neutral_weight=float(entry.get("neutral_weight", 1.0)),
                calm_weight=float(entry.get("calm_weight", 1.0)),
            )
        except (TypeError, ValueError) as exc:
            raise ModelError(f"model card decision malformed: {exc}") from exc

    def as_card(self) -> dict[str, Any]:
        return {"rule": self.rule, "neutral_weight": self.neutral_weight, "calm_weight": self.calm_weight}


ARGMAX = Decision()
"""The arg-max: the decision of a card without one."""


def decide(
    probs: np.ndarray, decision: Decision = ARGMAX, *, classes: Sequence[str] = EMOTIONS
) -> tuple[np.ndarray, np.ndarray]:
    """The decided class of each row of ``probs`` ``(n, k)`` (columns in ``classes``
    order) and its evidence: ``(index (n,) int64, evidence (n,) float32)``.

    >>> p = np.array([[0.25, 0.2, 0.05, 0.3, 0.05, 0.05, 0.05, 0.05]])
    >>> decide(p)[0].tolist(), decide(p, Decision("neutral_group"))[0].tolist()
    ([3], [0])
    >>> round(float(decide(p, Decision("neutral_group"))[1][0]), 6)
    0.45
    """
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise ModelError(f"probs must be (n, {len(classes)}), got {probs.shape}")
    rows = np.arange(probs.shape[0])
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    top = np.argmax(probs, axis=1)
    if decision.rule == "argmax" or not all(name in classes for name in NEUTRAL_GROUP):
        return top.astype(np.int64), probs[rows, top]
    neutral, calm = (list(classes).index(name) for name in NEUTRAL_GROUP)
    others = np.asarray([i for i in range(len(classes)) if i not in (neutral, calm)])
    group_mass = probs[:, neutral] + probs[:, calm]
    best_other = others[np.argmax(probs[:, others], axis=1)]
    other_mass = probs[rows, best_other]
    in_group = np.where(probs[:, calm] > decision.calm_weight * probs[:, neutral], calm, neutral)
    wins = decision.neutral_weight * group_mass >= other_mass
    chosen = np.where(wins, in_group, best_other).astype(np.int64)
    return chosen, np.where(wins, group_mass, other_mass).astype(np.float32)
