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

import numpy as np

from tagger.constants import EMOTIONS
from tagger.errors import ParameterError

__all__ = ["AFFECT_PLACES", "affect"]

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
