"""Training targets for corpora that label only some of the eight classes (pure numpy).

A corpus without a class cannot say that its clips are *not* that class. nEMO has no calm
and no disgust: a Polish actor asked for "neutral" may well sound calm (RAVDESS defines
calm as a low-arousal variant of neutral), and no nEMO clip says anything about disgust.
So each clip gets a *set* of acceptable classes and a set of classes its corpus can tell
apart, and the loss (:func:`tagger.training.fit.masked_crossentropy`) is the negative log
of the probability of the acceptable set among the classes the corpus can tell apart:

- a class the corpus lacks but another of its classes *absorbs* (:data:`ABSORBED_BY`:
  calm by neutral) joins the acceptable set of the absorbing label and stays in the
  softmax, so the corpus's angry or sad clips still push calm down;
- any other missing class (disgust for nEMO) is left out of that corpus's softmax: its
  clips neither raise nor lower it.

A corpus with all eight classes gets one-hot targets over all eight: plain cross-entropy.
"""

from __future__ import annotations

import numpy as np

from tagger.constants import EMOTIONS

__all__ = ["ABSORBED_BY", "balanced_weights", "corpus_classes", "label_targets"]

ABSORBED_BY: dict[str, str] = {"calm": "neutral"}
"""Missing class -> the class whose clips may be it, in a corpus that lacks the first."""


def corpus_classes(labels: np.ndarray, *, n_classes: int = len(EMOTIONS)) -> np.ndarray:
    """``(n_classes,)`` bool: the classes some clip of ``labels`` ``(n,)`` (int) carries."""
    present = np.zeros(n_classes, dtype=bool)
    present[np.unique(np.asarray(labels, dtype=np.int64))] = True
    return present


def label_targets(labels: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``(n, 2k)`` float32 targets of clips or windows with ``labels`` ``(n,)`` (int) from
    one corpus whose labelled classes are ``present`` ``(k,)`` bool: columns ``[:k]`` the
    acceptable classes of each sample (its label, plus the classes it absorbs that the
    corpus lacks), ``[k:]`` the classes the corpus can tell apart (its own plus the
    absorbed ones).

    >>> from tagger.constants import EMOTIONS
    >>> nemo = np.array([c not in ("calm", "disgust") for c in EMOTIONS])
    >>> t = label_targets(np.array([EMOTIONS.index("neutral")]), nemo)
    >>> [EMOTIONS[i] for i in np.flatnonzero(t[0, :8])]
    ['neutral', 'calm']
    >>> [EMOTIONS[i] for i in np.flatnonzero(t[0, 8:] == 0)]
    ['disgust']
    """
    labels = np.asarray(labels, dtype=np.int64)
    present = np.asarray(present, dtype=bool)
    k = present.size
    accept = np.eye(k, dtype=np.float32)[labels]
    allowed = present.copy()
    for missing, absorber in ABSORBED_BY.items():
        m, a = EMOTIONS.index(missing), EMOTIONS.index(absorber)
        if m < k and not present[m] and present[a]:
            allowed[m] = True
            accept[labels == a, m] = 1.0
    return np.concatenate([accept, np.broadcast_to(allowed.astype(np.float32), accept.shape)], axis=1)


def balanced_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``(n,)`` float32 sample weights that give every group (corpus) the same total
    weight and, within a group, every class it labels the same share: ``n / (G * C_g *
    n_gc)`` for a sample of class ``c`` in group ``g`` of ``G`` groups with ``C_g``
    classes. Weights sum to ``n``; one group gives plain inverse-frequency class weights.

    Balancing classes over the union instead would weight calm and disgust (only in
    RAVDESS) up to make up for nEMO's neutral clips, teaching a calm/disgust bias.

    >>> balanced_weights(np.array([0, 0, 1, 0]), np.array([0, 0, 0, 1])).tolist()
    [0.5, 0.5, 1.0, 2.0]
    """
    labels = np.asarray(labels, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.int64)
    n = labels.size
    weights = np.zeros(n, dtype=np.float64)
    unique_groups = np.unique(groups)
    for g in unique_groups:
        mine = groups == g
        classes, counts = np.unique(labels[mine], return_counts=True)
        for c, count in zip(classes, counts, strict=True):
            weights[mine & (labels == c)] = n / (unique_groups.size * classes.size * count)
    return weights.astype(np.float32)
