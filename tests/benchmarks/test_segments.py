"""The long-track segment benchmark builds what it says it times."""

from __future__ import annotations

import numpy as np

from benchmarks.segments import long_track_labels, time_merge
from tagger.segments import NO_SPEECH


def test_long_track_labels_come_in_runs() -> None:
    labels = long_track_labels(5000, seed=3)
    assert labels.shape == (5000,)
    n_runs = 1 + int(np.sum(labels[1:] != labels[:-1]))
    assert 5000 / n_runs > 2.0  # runs, not independent draws (mean run ~2.9 with repeats)
    assert NO_SPEECH in set(labels)
    np.testing.assert_array_equal(long_track_labels(5000, seed=3), labels)


def test_time_merge_reports_fewer_segments_than_windows() -> None:
    n, n_segments, seconds = time_merge(0.2, seed=0)
    assert n == 720 and 0 < n_segments < n / 2 and seconds >= 0.0
