"""Scores of the video-level benchmark: dominant emotion per video, speech boundaries and
emotion changes against the truth a test video was built with, window label shares.

Pure functions over labels and ``(start_s, end_s, label)`` segments (seconds).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tagger.constants import EMOTIONS

__all__ = [
    "BoundaryMatch",
    "SegmentSpan",
    "boundary_summary",
    "dominant_scores",
    "emotion_change_s",
    "match_boundaries",
    "predicted_speech_boundaries",
    "true_speech_boundaries",
    "window_shares",
]

NO_SPEECH = "no_speech"
UNCERTAIN = "uncertain"
TOLERANCE_S = 1.0

SegmentSpan = tuple[float, float, str]
"""A segment as the catalogue stores it: ``(start_s, end_s, label)``."""


@dataclass(frozen=True)
class BoundaryMatch:
    """One-to-one matching of true and predicted boundary times (seconds) of one video:
    ``errors_s`` signed (predicted - true) of the matched pairs, ``nearest_s`` distance of
    each true boundary to its nearest predicted one of the same kind (inf when none),
    ``matched``: whether each true boundary was matched."""

    n_true: int
    n_predicted: int
    errors_s: tuple[float, ...]
    nearest_s: tuple[float, ...]
    matched: tuple[bool, ...]

    @property
    def n_matched(self) -> int:
        return len(self.errors_s)


def true_speech_boundaries(spans: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and offsets (seconds) of speech from clip ``spans`` ``[(start_s, end_s), ...]``
    in time order: every clip start and end (clips never touch: pauses separate them)."""
    starts = np.array([s for s, _ in spans], dtype=np.float64)
    ends = np.array([e for _, e in spans], dtype=np.float64)
    return starts, ends


def predicted_speech_boundaries(segments: Sequence[SegmentSpan]) -> tuple[np.ndarray, np.ndarray]:
    """Onsets (a ``no_speech`` segment followed by any other) and offsets (the reverse) of
    time-ordered ``segments``, seconds; the track's own start and end are not boundaries.

    >>> predicted_speech_boundaries([(0, 2, "no_speech"), (2, 6, "sad"), (6, 9, "no_speech")])
    (array([2.]), array([6.]))
    """
    ordered = sorted(segments, key=lambda s: s[0])
    onsets, offsets = [], []
    for (_, end, before), (start, _, after) in itertools.pairwise(ordered):
        at = 0.5 * (float(end) + float(start))
        if before == NO_SPEECH and after != NO_SPEECH:
            onsets.append(at)
        elif before != NO_SPEECH and after == NO_SPEECH:
            offsets.append(at)
    return np.array(onsets, dtype=np.float64), np.array(offsets, dtype=np.float64)


def match_boundaries(
    true_s: np.ndarray, predicted_s: np.ndarray, *, tolerance_s: float = TOLERANCE_S
) -> BoundaryMatch:
    """Match true and predicted boundary times ``(n,)``/``(m,)`` seconds one to one, closest
    pairs first, pairs further apart than ``tolerance_s`` never matched.

    >>> match_boundaries(np.array([2.0, 8.0]), np.array([2.4, 5.0])).errors_s
    (0.4,)
    """
    true_s = np.asarray(true_s, dtype=np.float64)
    predicted_s = np.asarray(predicted_s, dtype=np.float64)
    if predicted_s.size:
        distance = np.abs(predicted_s[None, :] - true_s[:, None])
        nearest = tuple(float(d) for d in distance.min(axis=1))
    else:
        distance = np.zeros((true_s.size, 0))
        nearest = tuple(float("inf") for _ in true_s)
    pairs = sorted((float(distance[i, j]), i, j) for i in range(true_s.size) for j in range(predicted_s.size))
    used_true: set[int] = set()
    used_predicted: set[int] = set()
    errors: list[float] = []
    for gap, i, j in pairs:
        if gap > tolerance_s:
            break
        if i in used_true or j in used_predicted:
            continue
        used_true.add(i)
        used_predicted.add(j)
        errors.append(round(float(predicted_s[j] - true_s[i]), 6))
    matched = tuple(i in used_true for i in range(true_s.size))
    return BoundaryMatch(int(true_s.size), int(predicted_s.size), tuple(errors), nearest, matched)


def boundary_summary(matches: Sequence[BoundaryMatch]) -> dict[str, float | int]:
    """Recall (share of true boundaries with a predicted one within the tolerance),
    precision (share of predicted boundaries matched), median absolute error (s) of the
    matched pairs and median distance (s) of every true boundary to its nearest
    predicted one (inf when none); counts."""
    n_true = sum(m.n_true for m in matches)
    n_predicted = sum(m.n_predicted for m in matches)
    n_matched = sum(m.n_matched for m in matches)
    signed = np.array([e for m in matches for e in m.errors_s], dtype=np.float64)
    errors = np.abs(signed)
    nearest = np.array([d for m in matches for d in m.nearest_s], dtype=np.float64)
    return {
        "recall": n_matched / n_true if n_true else float("nan"),
        "precision": n_matched / n_predicted if n_predicted else float("nan"),
        "median_abs_error_s": float(np.median(errors)) if errors.size else float("nan"),
        "median_error_s": float(np.median(signed)) if signed.size else float("nan"),
        "median_nearest_s": float(np.median(nearest)) if nearest.size else float("nan"),
        "n_true": n_true,
        "n_predicted": n_predicted,
        "n_matched": n_matched,
    }


def dominant_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float | int]:
    """Accuracy and UAR (mean recall over the true classes present) of per-video labels.

    >>> dominant_scores(["sad", "sad", "angry"], ["sad", "happy", "angry"])["uar"]
    0.75
    """
    truth_a = np.asarray(truth, dtype=object)
    predicted_a = np.asarray(predicted, dtype=object)
    if truth_a.size == 0:
        return {"accuracy": float("nan"), "uar": float("nan"), "n": 0}
    correct = truth_a == predicted_a
    recalls = [float(correct[truth_a == label].mean()) for label in sorted(set(truth_a.tolist()))]
    return {"accuracy": float(correct.mean()), "uar": float(np.mean(recalls)), "n": int(truth_a.size)}


def emotion_change_s(segments: Sequence[SegmentSpan]) -> tuple[float, str, str] | None:
    """Where a two-emotion video changes emotion, and the labels before and after.

    Over the time-ordered emotion segments (``no_speech`` and ``uncertain`` left out),
    every point between two of them is a candidate; it scores the seconds before it that
    carry the most common label before it plus the seconds after it that carry the most
    common label after it, the two labels differing. The best candidate's time is the
    middle of the gap between the two segments. ``None`` when no candidate has two
    different labels.

    >>> emotion_change_s([(0, 4, "sad"), (4, 6, "no_speech"), (6, 9, "angry")])
    (5.0, 'sad', 'angry')
    """
    emotional = sorted((s for s in segments if s[2] in EMOTIONS), key=lambda s: s[0])
    best: tuple[float, float, str, str] | None = None
    for k in range(1, len(emotional)):
        before, after = _time_per_label(emotional[:k]), _time_per_label(emotional[k:])
        label_before, label_after = max(before, key=before.__getitem__), max(after, key=after.__getitem__)
        if label_before == label_after:
            continue
        score = before[label_before] + after[label_after]
        at = 0.5 * (float(emotional[k - 1][1]) + float(emotional[k][0]))
        if best is None or score > best[0]:
            best = (score, at, label_before, label_after)
    return None if best is None else (best[1], best[2], best[3])


def _time_per_label(segments: Sequence[SegmentSpan]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for start, end, label in segments:
        seconds[label] = seconds.get(label, 0.0) + float(end) - float(start)
    return seconds


def window_shares(labels: Sequence[str]) -> dict[str, float | int]:
    """Shares of windows labelled with an emotion, ``uncertain`` and ``no_speech``, and the
    share of speech windows (not ``no_speech``) that are ``uncertain``."""
    labels_a = np.asarray(labels, dtype=object)
    n = int(labels_a.size)
    if n == 0:
        return {"emotion": float("nan"), "uncertain": float("nan"), "no_speech": float("nan"), "n": 0}
    speech = labels_a != NO_SPEECH
    uncertain = labels_a == UNCERTAIN
    return {
        "emotion": float(np.isin(labels_a, EMOTIONS).mean()),
        "uncertain": float(uncertain.mean()),
        "no_speech": float((~speech).mean()),
        "uncertain_of_speech": float(uncertain[speech].mean()) if speech.any() else float("nan"),
        "n": n,
    }
