"""Scoring of the video-level benchmark: boundary matching, dominant emotion, changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.video_scoring import (
    boundary_summary,
    dominant_scores,
    emotion_change_s,
    match_boundaries,
    predicted_speech_boundaries,
    true_speech_boundaries,
    window_shares,
)


def test_boundaries_from_segments_and_spans() -> None:
    segments = [(0.0, 2.0, "no_speech"), (2.0, 5.0, "sad"), (5.0, 8.0, "uncertain"), (8.0, 11.0, "no_speech"),
                (11.0, 14.0, "angry")]  # fmt: skip
    onsets, offsets = predicted_speech_boundaries(list(reversed(segments)))
    np.testing.assert_array_equal(onsets, [2.0, 11.0])
    np.testing.assert_array_equal(offsets, [8.0])
    starts, ends = true_speech_boundaries([(1.5, 4.0), (6.5, 9.0)])
    np.testing.assert_array_equal(starts, [1.5, 6.5])
    np.testing.assert_array_equal(ends, [4.0, 9.0])
    assert predicted_speech_boundaries([(0.0, 9.0, "happy")])[0].size == 0


def test_matching_is_one_to_one_within_the_tolerance() -> None:
    match = match_boundaries(np.array([2.0, 6.0, 20.0]), np.array([2.3, 2.5, 6.9, 14.0]), tolerance_s=1.0)
    assert match.n_true == 3 and match.n_predicted == 4
    assert sorted(match.errors_s) == pytest.approx([0.3, 0.9])
    assert match.matched == (True, True, False)
    assert match.nearest_s == pytest.approx((0.3, 0.9, 6.0))
    assert match_boundaries(np.array([1.0]), np.array([2.01])).n_matched == 0
    empty = match_boundaries(np.array([1.0]), np.array([]))
    assert empty.n_matched == 0 and math.isinf(empty.nearest_s[0])


def test_boundary_summary_counts_recall_and_precision() -> None:
    rng = np.random.default_rng(0)
    true = np.sort(rng.uniform(0, 60, 10))
    predicted = np.concatenate([true[:6] + rng.uniform(-0.5, 0.5, 6), [100.0, 120.0]])
    summary = boundary_summary(
        [match_boundaries(true, predicted), match_boundaries(np.array([]), np.array([]))]
    )
    assert summary["recall"] == pytest.approx(0.6) and summary["precision"] == pytest.approx(0.75)
    assert summary["n_true"] == 10 and summary["n_predicted"] == 8 and summary["n_matched"] == 6
    assert 0.0 <= summary["median_abs_error_s"] <= 0.5
    assert math.isnan(boundary_summary([])["recall"])


def test_dominant_scores_accuracy_and_uar() -> None:
    scores = dominant_scores(["sad"] * 4 + ["angry"], ["sad", "sad", "sad", "happy", "no_speech"])
    assert scores == {"accuracy": pytest.approx(0.6), "uar": pytest.approx(0.375), "n": 5}
    assert dominant_scores([], [])["n"] == 0


def test_emotion_change_ignores_non_emotions_and_short_flips() -> None:
    segments = [(0.0, 2.0, "uncertain"), (2.0, 6.0, "sad"), (6.0, 8.0, "happy"), (8.0, 10.0, "sad"),
                (10.0, 12.0, "no_speech"), (12.0, 20.0, "angry"), (20.0, 22.0, "uncertain")]  # fmt: skip
    assert emotion_change_s(segments) == (11.0, "sad", "angry")
    assert emotion_change_s([(0.0, 5.0, "sad"), (5.0, 7.0, "no_speech"), (7.0, 9.0, "sad")]) is None
    assert emotion_change_s([]) is None


def test_window_shares() -> None:
    shares = window_shares(["sad", "uncertain", "no_speech", "no_speech"])
    assert shares["emotion"] == 0.25 and shares["uncertain"] == 0.25 and shares["no_speech"] == 0.5
    assert shares["uncertain_of_speech"] == 0.5 and shares["n"] == 4
    assert window_shares([])["n"] == 0


def test_docstring_examples_run() -> None:
    import doctest

    from benchmarks import video_scoring

    result = doctest.testmod(video_scoring, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
