"""Segments and profiles: tiling, merging, shares."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.constants import EMOTIONS
from tagger.segments import label_windows, merge_segments, owned_spans, owned_voiced_s, profile, smooth_labels
from tagger.windows import WindowConfig, window_bounds

LABELS = [*EMOTIONS, "no_speech", "uncertain"]


def spans_for(n_samples: int) -> np.ndarray:
    bounds = window_bounds(n_samples, config=WindowConfig())
    return owned_spans(bounds[:, 0] / 16_000, bounds[:, 1] / 16_000, hop_s=1.0, window_s=3.0)


@given(n_samples=st.integers(min_value=1, max_value=16_000 * 40))
def test_owned_spans_tile_the_track(n_samples: int) -> None:
    spans = spans_for(n_samples)
    assert spans[0, 0] == 0.0
    assert spans[-1, 1] == pytest.approx(n_samples / 16_000)
    assert np.all(spans[1:, 0] == spans[:-1, 1])
    assert np.all(spans[:, 1] >= spans[:, 0])


@settings(max_examples=80, deadline=None)
@given(
    n_samples=st.integers(min_value=16_000, max_value=16_000 * 30),
    seed=st.integers(min_value=0, max_value=10_000),
    min_duration_s=st.sampled_from([0.0, 1.5, 4.0]),
)
def test_segments_tile_the_track_and_speech_time(n_samples: int, seed: int, min_duration_s: float) -> None:
    spans = spans_for(n_samples)
    rng = np.random.default_rng(seed)
    labels = np.array([LABELS[i] for i in rng.integers(0, len(LABELS), len(spans))], dtype=object)
    segments = merge_segments(spans, labels, rng.random(len(spans)), min_duration_s=min_duration_s)
    assert segments[0].start_s == 0.0 and segments[-1].end_s == pytest.approx(spans[-1, 1])
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(segments))
    assert all(a.label != b.label for a, b in itertools.pairwise(segments))
    assert sum(s.n_windows for s in segments) == len(spans)
    if min_duration_s == 0.0:
        speech_time = float(np.sum((spans[:, 1] - spans[:, 0])[labels != "no_speech"]))
        segment_speech = sum(s.end_s - s.start_s for s in segments if s.label != "no_speech")
        assert segment_speech == pytest.approx(speech_time)
    elif len(segments) > 1:
        # Short segments remain only as speech with no speech next to it to merge into.
        for i, segment in enumerate(segments):
            if segment.end_s - segment.start_s < min_duration_s:
                neighbours = segments[max(0, i - 1) : i] + segments[i + 1 : i + 2]
                assert segment.label != "no_speech"
                assert all(n.label == "no_speech" for n in neighbours)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000), n=st.integers(min_value=1, max_value=50))
def test_profile_shares_sum_to_one(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(8), size=n)
    is_speech = rng.random(n) > 0.3
    spans = spans_for(n * 16_000 + 2 * 16_000)[:n]
    result = profile(spans, probs, is_speech)
    if is_speech.any():
        assert sum(result.shares.values()) == pytest.approx(1.0)
        assert result.dominant_label == max(result.shares, key=lambda k: result.shares[k])
        assert result.speech_s == pytest.approx(float(np.sum((spans[:, 1] - spans[:, 0])[is_speech])))
    else:
        assert result.dominant_label == "no_speech" and result.speech_s == 0.0


def test_label_windows_marks_no_speech_and_uncertain() -> None:
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0, 0], [0.3, 0.3, 0.4, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0, 0]])
    labels = label_windows(probs, np.array([True, True, False]), abstain_threshold=0.5)
    assert labels.tolist() == ["neutral", "uncertain", "no_speech"]


def test_smoothing_removes_a_lone_flip_but_not_no_speech() -> None:
    labels = np.array(["sad", "sad", "happy", "sad", "sad", "no_speech", "angry"], dtype=object)
    assert smooth_labels(labels).tolist() == [
        "sad",
        "sad",
        "sad",
        "sad",
        "sad",
        "no_speech",
        "angry",
    ]


def test_a_pause_of_one_hop_survives_the_minimum_segment_length() -> None:
    spans = np.array([[0.0, 2.0], [2.0, 3.0], [3.0, 4.0], [4.0, 6.0]])
    labels = np.array(["sad", "no_speech", "sad", "sad"], dtype=object)
    confidence = np.full(4, 0.8)
    kept = merge_segments(spans, labels, confidence, min_duration_s=2.0, min_pause_s=1.0)
    assert [(s.start_s, s.end_s, s.label) for s in kept] == [
        (0.0, 2.0, "sad"),
        (2.0, 3.0, "no_speech"),
        (3.0, 6.0, "sad"),
    ]
    merged = merge_segments(spans, labels, confidence, min_duration_s=2.0)
    assert [s.label for s in merged] == ["sad"]


def test_a_track_whose_speech_windows_all_abstain_has_no_dominant_emotion() -> None:
    spans = np.array([[0.0, 2.0], [2.0, 3.0], [3.0, 5.0]])
    probs = np.full((3, 8), 1 / 8)
    speech = np.array([False, True, False])
    assert (
        profile(spans, probs, speech, labels=np.array(["no_speech", "uncertain", "no_speech"])).dominant_label
        == "uncertain"
    )
    assert (
        profile(
            spans, np.eye(8)[[0, 4, 0]], speech, labels=np.array(["no_speech", "angry", "no_speech"])
        ).dominant_label
        == "angry"
    )
    assert profile(spans, probs, speech).dominant_label in EMOTIONS  # without labels: the largest share


def test_owned_voiced_seconds_sum_the_blocks_in_each_owned_stretch() -> None:
    start = np.arange(4.0)
    spans = owned_spans(start, start + 3.0, hop_s=1.0, window_s=3.0)
    voiced = np.array([[0.3, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.4, 0.2], [0.1, 0.1, 0.5]])
    owned = owned_voiced_s(start, spans, voiced, hop_s=1.0)
    # first window owns [0, 2): blocks 0 and 1; the middle ones their centre; the last [4, 6)
    np.testing.assert_allclose(owned, [0.3, 0.0, 0.4, 0.6])


def test_a_short_utterance_between_pauses_stays_speech() -> None:
    """Speech runs under the minimum length merge with speech next to them, never into a
    pause: three one-hop runs between pauses become one segment, not silence."""
    spans = np.array([[0.0, 2.0], [2.0, 3.0], [3.0, 4.0], [4.0, 5.0], [5.0, 7.0]])
    labels = np.array(["no_speech", "uncertain", "happy", "angry", "no_speech"], dtype=object)
    kept = merge_segments(spans, labels, np.full(5, 0.5), min_duration_s=2.0, min_pause_s=1.0)
    assert [s.label for s in kept] == ["no_speech", "happy", "no_speech"]
    assert (kept[1].start_s, kept[1].end_s) == (2.0, 5.0)
    lone = merge_segments(
        spans[:3],
        np.array(["no_speech", "sad", "no_speech"], dtype=object),
        np.full(3, 0.5),
        min_duration_s=2.0,
        min_pause_s=1.0,
    )
    assert [s.label for s in lone] == ["no_speech", "sad", "no_speech"]


def _merge_by_rescanning(
    spans: np.ndarray, labels: np.ndarray, *, min_duration_s: float, min_pause_s: float
) -> list[tuple[int, int, str]]:
    """The definition of :func:`merge_segments`'s order, O(n²): rescan every run for the
    shortest one under its minimum that may go somewhere, absorb it, join equal neighbours."""
    runs: list[list[int]] = []
    for i in range(len(labels)):
        if runs and labels[i] == labels[runs[-1][1]]:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    names = [str(labels[first]) for first, _ in runs]
    while True:
        durations = [spans[last, 1] - spans[first, 0] for first, last in runs]
        best = None
        for i, (duration, name) in enumerate(zip(durations, names, strict=True)):
            pause = name == "no_speech"
            if duration >= (min_pause_s if pause else min_duration_s):
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(names) and (pause or names[j] != "no_speech")]
            if near and (best is None or duration < best[0]):
                best = (duration, i, max(near, key=lambda j: (durations[j], -j)))
        if best is None:
            return [(first, last, name) for (first, last), name in zip(runs, names, strict=True)]
        _, shortest, target = best
        low, high = sorted((shortest, target))
        runs[low], names[low] = [runs[low][0], runs[high][1]], names[target]
        del runs[high], names[high]
        joined: list[list[int]] = []
        joined_names: list[str] = []
        for run, name in zip(runs, names, strict=True):
            if joined_names and joined_names[-1] == name:
                joined[-1][1] = run[1]
            else:
                joined.append(list(run))
                joined_names.append(name)
        runs, names = joined, joined_names


@settings(max_examples=150, deadline=None)
@given(
    n_samples=st.integers(min_value=16_000, max_value=16_000 * 120),
    seed=st.integers(min_value=0, max_value=10_000),
    minima=st.sampled_from([(0.0, 0.0), (2.0, 1.0), (2.0, 2.0), (4.0, 1.0), (3.0, 5.0)]),
    n_labels=st.sampled_from([2, 3, 10]),
)
def test_merge_segments_follows_the_rescanning_definition(
    n_samples: int, seed: int, minima: tuple[float, float], n_labels: int
) -> None:
    spans = spans_for(n_samples)
    rng = np.random.default_rng(seed)
    pool = ["no_speech", "uncertain", *EMOTIONS][:n_labels]
    # Runs of geometric length, like smoothed labels, so absorptions chain.
    labels = np.repeat(rng.choice(pool, size=len(spans)), rng.geometric(0.5, size=len(spans)))[: len(spans)]
    min_duration_s, min_pause_s = minima
    got = merge_segments(
        spans, labels, rng.random(len(spans)), min_duration_s=min_duration_s, min_pause_s=min_pause_s
    )
    want = _merge_by_rescanning(spans, labels, min_duration_s=min_duration_s, min_pause_s=min_pause_s)
    assert [(s.start_s, s.end_s, s.label) for s in got] == [
        (float(spans[first, 0]), float(spans[last, 1]), name) for first, last, name in want
    ]
    assert [s.n_windows for s in got] == [last - first + 1 for first, last, _ in want]
