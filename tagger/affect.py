"""Arousal and valence from the calibrated emotion probabilities (a documented mapping).

Each emotion has a place on the two dimensions of Russell's circumplex (Russell 1980,
"A circumplex model of affect", J. Pers. Soc. Psychol. 39(6); the places of the eight
RAVDESS categories as in the circumplex literature, e.g. Posner, Russell & Peterson
2005): ``valence`` from unpleasant (-1) to pleasant (+1), ``arousal`` from deactivated
(-1) to activated (+1). A window's arousal and valence are the probability-weighted
means of those places: ``probs (n, 8) @ PLACES (8, 2)``. With probabilities that sum to
one both stay in [-1, 1]; a confident window sits at its emotion's place, an unsure one
is drawn towards the centre, as it should be. Linear, so the mean over windows (a
segment, a track's speech time) is the place of the mean probabilities.

Not learnt: the acted corpora carry categories, not dimensional ratings. The order it
implies, angry, fearful, surprised, happy above neutral above sad and calm, is checked
per corpus by ``python -m benchmarks.affect_order``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tagger.constants import EMOTIONS
from tagger.errors import ParameterError

__all__ = ["AFFECT_PLACES", "AROUSAL_ORDER", "affect", "arousal_order"]

AFFECT_PLACES: dict[str, tuple[float, float]] = {
    # emotion: (valence, arousal)
    "neutral": (0.0, 0.0),
    "calm": (0.4, -0.6),
    "happy": (0.8, 0.5),
    "sad": (-0.7, -0.4),
    "angry": (-0.6, 0.8),
    "fearful": (-0.6, 0.7),
    "disgust": (-0.7, 0.3),
    "surprised": (0.3, 0.7),
}
_PLACES = np.array([AFFECT_PLACES[name] for name in EMOTIONS], dtype=np.float64)  # (8, 2)


def affect(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(arousal, valence)``, each ``(n,)`` float32 in [-1, 1], of probabilities ``probs``
    ``(n, 8)`` in :data:`tagger.constants.EMOTIONS` order."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(EMOTIONS):
        raise ParameterError(f"probs must be (n, {len(EMOTIONS)}), got {p.shape}")
    places = p @ _PLACES
    return places[:, 1].astype(np.float32), places[:, 0].astype(np.float32)


AROUSAL_ORDER = {"angry": 1, "happy": 1, "fearful": 1, "surprised": 1, "neutral": 0, "sad": -1, "calm": -1}
"""The order arousal should put the emotions in (disgust is left out: its arousal is
placed differently across studies)."""


def arousal_order(labels: np.ndarray, clip_probs: np.ndarray) -> dict[str, Any]:
    """Mean arousal (:func:`tagger.affect.affect` of each clip's probabilities) per true
    emotion, and Spearman's rho between those means and :data:`AROUSAL_ORDER` (ties
    averaged), over the emotions present; rho is None with fewer than 3 of them."""
    from scipy.stats import spearmanr

    arousal, _ = affect(clip_probs)
    means = {EMOTIONS[int(c)]: float(arousal[labels == c].mean()) for c in sorted({int(x) for x in labels})}
    ordered = [name for name in means if name in AROUSAL_ORDER]
    rho = None
    if len(ordered) >= 3 and len({AROUSAL_ORDER[n] for n in ordered}) > 1:
        rho = float(spearmanr([means[n] for n in ordered], [AROUSAL_ORDER[n] for n in ordered]).statistic)
    return {"mean_by_emotion": means, "spearman_rho": rho}
