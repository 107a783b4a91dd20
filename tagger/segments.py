"""Window labels -> time-coded segments and a per-track emotion profile (pure functions).

Windows overlap (3 s every 1 s), so each window *owns* the hop-long stretch at its
centre (the first window also owns the track start, the last the track end). Owned
stretches tile the track exactly; segments are runs of one label over them.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tagger.affect import affect
from tagger.constants import EMOTIONS
from tagger.decision import ARGMAX, Decision, decide
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
    mean_arousal: float | None = None  # over the segment's speech windows; None without any
    mean_valence: float | None = None


@dataclass(frozen=True)
class Profile:
    """Share of speech time per emotion (probability-weighted; sums to 1 when ``speech_s > 0``),
    and the arousal and valence of those shares (:func:`tagger.affect.affect`; None
    without speech)."""

    speech_s: float
    shares: dict[str, float]
    dominant_label: str
    mean_arousal: float | None = None
    mean_valence: float | None = None


def label_windows(
    probs: np.ndarray,
    is_speech: np.ndarray,
    *,
    abstain_threshold: float,
    classes: Sequence[str] = EMOTIONS,
    decision: Decision = ARGMAX,
) -> np.ndarray:
    """Labels for windows: the class ``decision`` picks from ``probs`` ``(n, 8)`` (columns
    in ``classes`` order; the arg-max by default, :func:`tagger.decision.decide`),
    ``no_speech`` where ``is_speech`` ``(n,)`` is False, ``uncertain`` where the decided
    class's evidence (its probability, or the neutral group's) is below
    ``abstain_threshold``. Returns ``(n,)`` array of str.

    >>> label_windows(np.eye(8)[[4, 0]] * 0.9 + 0.0125, np.array([True, False]), abstain_threshold=0.4)
    array(['angry', 'no_speech'], dtype=object)
    """
    probs = _check_probs(probs)
    speech = np.asarray(is_speech, dtype=bool)
    if speech.shape != (probs.shape[0],):
        raise ParameterError(f"is_speech must be ({probs.shape[0]},), got {speech.shape}")
    chosen, evidence = decide(probs, decision, classes=classes)
    top = np.asarray(classes, dtype=object)[chosen] if len(probs) else np.array([], dtype=object)
    labels = np.where(evidence < abstain_threshold, UNCERTAIN, top)
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
    arousal: np.ndarray | None = None,
    valence: np.ndarray | None = None,
) -> list[Segment]:
    """Merge consecutive windows of one label into segments over their owned ``spans``
    ``(n, 2)``; segments shorter than ``min_duration_s`` (``no_speech`` ones: shorter than
    ``min_pause_s``, default the same) are absorbed into their longer neighbour, so the
    segments still tile ``[spans[0,0], spans[-1,1])``. A pause shorter than an emotion
    segment is still a boundary users look for, and a short run of speech is absorbed
    only by speech next to it (never by a pause).

    Order: the shortest run under its minimum that has a neighbour it may go to goes
    first (the earlier one on a tie), into the longer of those neighbours (the earlier on
    a tie); runs of one label that become adjacent join. Runs are a linked list and the
    candidates a heap, so a track of ``n`` windows costs O(n log n), not O(n²).

    ``arousal``/``valence`` ``(n,)`` (NaN where a window has no speech), when given, are
    averaged over each segment's windows that have them.
    """
    pause_s = min_duration_s if min_pause_s is None else min_pause_s
    labels = np.asarray(labels, dtype=object)
    confidence = np.asarray(confidence, dtype=np.float64)
    runs = _Runs(spans, labels, min_duration_s=min_duration_s, min_pause_s=pause_s)
    runs.absorb_short()
    return [
        Segment(
            start_s=float(spans[first, 0]),
            end_s=float(spans[last, 1]),
            label=name,
            mean_confidence=float(confidence[first : last + 1].mean()),
            n_windows=last - first + 1,
            mean_arousal=_mean_of_known(arousal, first, last),
            mean_valence=_mean_of_known(valence, first, last),
        )
        for first, last, name in runs.in_order()
    ]


def _mean_of_known(values: np.ndarray | None, first: int, last: int) -> float | None:
    """Mean of ``values[first:last + 1]`` that are not NaN; None when none is."""
    if values is None:
        return None
    part = np.asarray(values[first : last + 1], dtype=np.float64)
    known = part[~np.isnan(part)]
    return float(known.mean()) if known.size else None


class _Runs:
    """Runs of one label over windows, as a doubly linked list (run ``r``: windows
    ``first[r]..last[r]``, label ``name[r]``), with a heap of runs under their minimum."""

    def __init__(
        self, spans: np.ndarray, labels: np.ndarray, *, min_duration_s: float, min_pause_s: float
    ) -> None:
        self.spans = spans
        self.min_duration_s = min_duration_s
        self.min_pause_s = min_pause_s
        self.first: list[int] = []
        self.last: list[int] = []
        self.name: list[str] = []
        for i in range(len(labels)):
            if self.name and labels[i] == labels[self.last[-1]]:
                self.last[-1] = i
            else:
                self.first.append(i)
                self.last.append(i)
                self.name.append(str(labels[i]))
        n = len(self.first)
        self.prev = [r - 1 for r in range(n)]
        self.next = [r + 1 if r + 1 < n else -1 for r in range(n)]
        self.alive = [True] * n
        self.version = [0] * n
        self.heap: list[tuple[float, int, int, int]] = []
        for r in range(n):
            self._offer(r)

    def duration(self, r: int) -> float:
        return float(self.spans[self.last[r], 1] - self.spans[self.first[r], 0])

    def _offer(self, r: int) -> None:
        """Queue run ``r`` (again) when it is under its minimum; older entries go stale."""
        self.version[r] += 1
        minimum = self.min_pause_s if self.name[r] == NO_SPEECH else self.min_duration_s
        duration = self.duration(r)
        if duration < minimum:
            heapq.heappush(self.heap, (duration, self.first[r], r, self.version[r]))

    def _target(self, r: int) -> int | None:
        """The neighbour run ``r`` may go into: speech only into speech, a pause into
        either; the longer one, the earlier on a tie; ``None`` when there is none."""
        neighbours = [j for j in (self.prev[r], self.next[r]) if j >= 0]
        if self.name[r] != NO_SPEECH:
            neighbours = [j for j in neighbours if self.name[j] != NO_SPEECH]
        if not neighbours:
            return None
        return max(neighbours, key=lambda j: (self.duration(j), -self.first[j]))

    def absorb_short(self) -> None:
        while self.heap:
            _, _, r, version = heapq.heappop(self.heap)
            if not self.alive[r] or version != self.version[r]:
                continue
            target = self._target(r)
            if target is None:
                continue  # queued again if a neighbour changes
            low, high = (r, target) if self.first[r] < self.first[target] else (target, r)
            self.name[low] = self.name[target]
            self._drop(low, high)
            before, after = self.prev[low], self.next[low]
            if before >= 0 and self.name[before] == self.name[low]:
                low = self._drop(before, low)
            if after >= 0 and self.name[after] == self.name[low]:
                low = self._drop(low, after)
            for changed in (self.prev[low], low, self.next[low]):
                if changed >= 0:
                    self._offer(changed)

    def _drop(self, low: int, high: int) -> int:
        """Join run ``high`` into ``low``, the run before it; returns ``low``."""
        self.last[low] = self.last[high]
        self.alive[high] = False
        self.next[low] = self.next[high]
        if self.next[high] >= 0:
            self.prev[self.next[high]] = low
        return low

    def in_order(self) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        r = 0 if self.first else -1  # run 0 is never dropped: a join keeps the earlier run
        while r >= 0:
            out.append((self.first[r], self.last[r], self.name[r]))
            r = self.next[r]
        return out


def profile(
    spans: np.ndarray,
    probs: np.ndarray,
    is_speech: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    decision: Decision = ARGMAX,
) -> Profile:
    """Share of speech time per emotion: owned duration of each speech window times its
    class probabilities, summed and divided by the speech time ``speech_s`` (seconds).

    ``dominant_label`` is the class ``decision`` picks from the shares (the largest share
    by default, :func:`tagger.decision.decide`), ``no_speech`` without speech, and
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
    dominant = EMOTIONS[int(decide(shares[None, :], decision)[0][0])]
    if labels is not None:
        speech_labels = np.asarray(labels, dtype=object)[np.asarray(is_speech, dtype=bool)]
        if not np.isin(speech_labels, list(EMOTIONS)).any():
            dominant = UNCERTAIN
    arousal, valence = affect(shares[None, :])
    return Profile(
        speech_s=speech_s,
        shares={name: float(share) for name, share in zip(EMOTIONS, shares, strict=True)},
        dominant_label=dominant,
        mean_arousal=float(arousal[0]),
        mean_valence=float(valence[0]),
    )


def _check_probs(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != len(EMOTIONS):
        raise ParameterError(f"probs must be (n_windows, {len(EMOTIONS)}), got {probs.shape}")
    return probs
