"""Window labels -> time-coded segments and a per-track emotion profile (pure functions).

Windows overlap (3 s every 1 s), so each window *owns* the hop-long stretch at its
centre (the first window also owns the track start, the last the track end). Owned
stretches tile the track exactly; segments are runs of one label over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tagger.constants import EMOTIONS
from tagger.errors import ParameterError

__all__ = [
    "Profile",
    "Segment",
    "label_windows",
    "merge_segments",
    "owned_spans",
    "owned_voiced_s",
    "profile",
    "smooth_labels",
]

NO_SPEECH = "no_speech"
UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Segment:
    """A run of one label: ``[start_s, end_s)`` seconds, mean top-class confidence, window count."""

    start_s: float
    end_s: float
    label: str
    mean_confidence: float
    n_windows: int


@dataclass(frozen=True)
class Profile:
    """Share of speech time per emotion (probability-weighted; sums to 1 when ``speech_s > 0``)."""

    speech_s: float
    shares: dict[str, float]
    dominant_label: str


def label_windows(
    probs: np.ndarray,
    is_speech: np.ndarray,
    *,
    abstain_threshold: float,
    classes: Sequence[str] = EMOTIONS,
) -> np.ndarray:
    """Labels for windows: the top class of ``probs`` ``(n, 8)`` (columns in ``classes``
    order), ``no_speech`` where ``is_speech`` ``(n,)`` is False, ``uncertain`` where the top
    probability is below ``abstain_threshold``. Returns ``(n,)`` array of str.

    >>> label_windows(np.eye(8)[[4, 0]] * 0.9 + 0.0125, np.array([True, False]), abstain_threshold=0.4)
    array(['angry', 'no_speech'], dtype=object)
    """
    probs = _check_probs(probs)
    speech = np.asarray(is_speech, dtype=bool)
    if speech.shape != (probs.shape[0],):
        raise ParameterError(f"is_speech must be ({probs.shape[0]},), got {speech.shape}")
    top = (
        np.asarray(classes, dtype=object)[np.argmax(probs, axis=1)]
        if len(probs)
        else np.array([], dtype=object)
    )
    labels = np.where(probs.max(axis=1, initial=0.0) < abstain_threshold, UNCERTAIN, top)
    return np.where(speech, labels, NO_SPEECH).astype(object)


def smooth_labels(labels: np.ndarray, *, radius: int = 1) -> np.ndarray:
    """Majority vote over ``2 * radius + 1`` consecutive windows; ``no_speech`` windows are
    never relabelled nor vote, and a tie keeps the window's own label."""
    if radius < 0:
        raise ParameterError("radius must be >= 0")
    labels = np.asarray(labels, dtype=object)
    out = labels.copy()
    for i, own in enumerate(labels):
        if own == NO_SPEECH:
            continue
        neighbourhood = [x for x in labels[max(0, i - radius) : i + radius + 1] if x != NO_SPEECH]
        values, counts = np.unique(np.asarray(neighbourhood, dtype=str), return_counts=True)
        best = counts.max()
        winners = set(values[counts == best].tolist())
        out[i] = own if own in winners else sorted(winners)[0]
    return out


def owned_spans(start_s: np.ndarray, end_s: np.ndarray, *, hop_s: float, window_s: float) -> np.ndarray:
    """Stretch of time each window owns, shape ``(n, 2)`` seconds: the hop-long centre of
    the window, extended to the track start for the first and the track end for the last."""
    start_s = np.asarray(start_s, dtype=np.float64)
    end_s = np.asarray(end_s, dtype=np.float64)
    if start_s.size == 0:
        return np.zeros((0, 2))
    own_start = start_s + (window_s - hop_s) / 2.0
    own_start[0] = start_s[0]
    own_end = np.empty_like(own_start)
    own_end[:-1] = own_start[1:]
    own_end[-1] = max(end_s.max(), own_start[-1])
    return np.stack([own_start, own_end], axis=1)


def owned_voiced_s(
    start_s: np.ndarray, spans: np.ndarray, voiced_s: np.ndarray, *, hop_s: float
) -> np.ndarray:
    """Voiced seconds inside each window's owned stretch, ``(n,)``: the sum of the window's
    hop-long blocks ``voiced_s`` ``(n, blocks)`` (block ``j`` covers ``start_s + j * hop_s``
    onwards) whose middle lies in its owned span ``spans`` ``(n, 2)`` seconds.

    >>> owned_voiced_s(np.array([0.0, 1.0]), np.array([[0.0, 2.0], [2.0, 4.0]]),
    ...                np.array([[0.5, 0.2, 0.0], [0.2, 0.0, 0.3]]), hop_s=1.0)
    array([0.7, 0.3])
    """
    voiced_s = np.asarray(voiced_s, dtype=np.float64)
    if voiced_s.size == 0:
        return np.zeros(len(np.asarray(start_s)))
    middles = np.asarray(start_s, dtype=np.float64)[:, None] + (np.arange(voiced_s.shape[1]) + 0.5) * hop_s
    inside = (middles >= spans[:, :1]) & (middles < spans[:, 1:])
    owned: np.ndarray = (voiced_s * inside).sum(axis=1)
    return owned


def merge_segments(
    spans: np.ndarray,
    labels: np.ndarray,
    confidence: np.ndarray,
    *,
    min_duration_s: float = 0.0,
    min_pause_s: float | None = None,
) -> list[Segment]:
    """Merge consecutive windows of one label into segments over their owned ``spans``
    ``(n, 2)``; segments shorter than ``min_duration_s`` (``no_speech`` ones: shorter than
    ``min_pause_s``, default the same) are absorbed into their longer neighbour, so the
    segments still tile ``[spans[0,0], spans[-1,1])``. A pause shorter than an emotion
    segment is still a boundary users look for, and a short run of speech is absorbed
    only by speech next to it (never by a pause: see :func:`_absorption`)."""
    pause_s = min_duration_s if min_pause_s is None else min_pause_s
    labels = np.asarray(labels, dtype=object)
    confidence = np.asarray(confidence, dtype=np.float64)
    runs: list[list[int]] = []  # [first, last] window index per run
    for i in range(len(labels)):
        if runs and labels[i] == labels[runs[-1][1]]:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    names = [str(labels[first]) for first, _ in runs]
    while len(runs) > 1:
        durations = [spans[last, 1] - spans[first, 0] for first, last in runs]
        choice = _absorption(durations, names, min_duration_s=min_duration_s, min_pause_s=pause_s)
        if choice is None:
            break
        shortest, target = choice
        low, high = sorted((shortest, target))
        runs[low] = [runs[low][0], runs[high][1]]
        names[low] = names[target]
        del runs[high], names[high]
        # Merge now-adjacent runs that carry the same label.
        merged_runs: list[list[int]] = []
        merged_names: list[str] = []
        for run, name in zip(runs, names, strict=True):
            if merged_names and merged_names[-1] == name:
                merged_runs[-1][1] = run[1]
            else:
                merged_runs.append(list(run))
                merged_names.append(name)
        runs, names = merged_runs, merged_names
    return [
        Segment(
            start_s=float(spans[first, 0]),
            end_s=float(spans[last, 1]),
            label=name,
            mean_confidence=float(confidence[first : last + 1].mean()),
            n_windows=last - first + 1,
        )
        for (first, last), name in zip(runs, names, strict=True)
    ]


def _absorption(
    durations: list[float], names: list[str], *, min_duration_s: float, min_pause_s: float
) -> tuple[int, int] | None:
    """The shortest run under its minimum that has a neighbour to go to, and that
    neighbour (the longer one when both qualify, the earlier on a tie); ``None`` when no
    run needs to or can go. Speech (an emotion or ``uncertain``) goes only into speech: a
    short utterance between two pauses stays, it never becomes silence; a short pause
    goes into either neighbour."""
    best: tuple[float, int, int] | None = None
    for i, (duration, name) in enumerate(zip(durations, names, strict=True)):
        pause = name == NO_SPEECH
        if duration >= (min_pause_s if pause else min_duration_s):
            continue
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(names)]
        if not pause:
            neighbours = [j for j in neighbours if names[j] != NO_SPEECH]
        if not neighbours:
            continue
        target = max(neighbours, key=lambda j: (durations[j], -j))
        if best is None or duration < best[0]:
            best = (duration, i, target)
    return None if best is None else (best[1], best[2])


def profile(
    spans: np.ndarray, probs: np.ndarray, is_speech: np.ndarray, *, labels: np.ndarray | None = None
) -> Profile:
    """Share of speech time per emotion: owned duration of each speech window times its
    class probabilities, summed and divided by the speech time ``speech_s`` (seconds).

    ``dominant_label`` is the largest share, ``no_speech`` without speech, and
    ``uncertain`` when window ``labels`` ``(n,)`` are given and none of the speech
    windows got an emotion (all abstained): a few doubtful windows are no evidence of
    the track's emotion."""
    probs = _check_probs(probs)
    durations = np.asarray(spans[:, 1] - spans[:, 0], dtype=np.float64) if len(spans) else np.zeros(0)
    weights = durations * np.asarray(is_speech, dtype=bool)
    speech_s = float(weights.sum())
    if speech_s <= 0.0:
        return Profile(speech_s=0.0, shares=dict.fromkeys(EMOTIONS, 0.0), dominant_label=NO_SPEECH)
    mass = weights @ probs.astype(np.float64)
    shares = mass / mass.sum()
    dominant = EMOTIONS[int(np.argmax(shares))]
    if labels is not None:
        speech_labels = np.asarray(labels, dtype=object)[np.asarray(is_speech, dtype=bool)]
        if not np.isin(speech_labels, list(EMOTIONS)).any():
            dominant = UNCERTAIN
    return Profile(
        speech_s=speech_s,
        shares={name: float(share) for name, share in zip(EMOTIONS, shares, strict=True)},
        dominant_label=dominant,
    )


def _check_probs(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != len(EMOTIONS):
        raise ParameterError(f"probs must be (n_windows, {len(EMOTIONS)}), got {probs.shape}")
    return probs
