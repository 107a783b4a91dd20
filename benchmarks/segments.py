"""Time :func:`tagger.segments.merge_segments` on long tracks.

    python -m benchmarks.segments [--hours 0.5 1 3] [--seed 0]

Labels come in runs of geometric length (mean ~3 windows, like smoothed labels) over the
eight emotions, ``uncertain`` and ``no_speech``; windows are 3 s every 1 s and the minima
are the pipeline's defaults. Prints windows, segments and seconds per track length: the
time should grow like the length, not its square.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

from tagger.constants import EMOTIONS
from tagger.pipeline import TagConfig
from tagger.segments import NO_SPEECH, UNCERTAIN, merge_segments, owned_spans


def long_track_labels(n_windows: int, *, seed: int) -> np.ndarray:
    """``(n_windows,)`` object labels in runs of geometric length (p = 0.35)."""
    rng = np.random.default_rng(seed)
    pool = np.array([*EMOTIONS, UNCERTAIN, NO_SPEECH], dtype=object)
    runs = rng.geometric(0.35, size=n_windows)
    labels: np.ndarray = np.repeat(pool[rng.integers(0, pool.size, size=n_windows)], runs)[:n_windows]
    return labels


def time_merge(hours: float, *, seed: int) -> tuple[int, int, float]:
    """(windows, segments, seconds) of one ``merge_segments`` call on a track of ``hours``."""
    config = TagConfig()
    n = int(hours * 3600)
    start = np.arange(n, dtype=np.float64)
    spans = owned_spans(start, start + 3.0, hop_s=1.0, window_s=3.0)
    labels = long_track_labels(n, seed=seed)
    confidence = np.random.default_rng(seed + 1).random(n)
    started = time.perf_counter()
    segments = merge_segments(
        spans, labels, confidence, min_duration_s=config.min_segment_s, min_pause_s=config.min_pause_s
    )
    return n, len(segments), time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.segments", description=__doc__)
    parser.add_argument("--hours", type=float, nargs="+", default=[0.5, 1.0, 3.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for hours in args.hours:
        n, n_segments, seconds = time_merge(hours, seed=args.seed)
        print(f"{hours:g} h: {n} windows -> {n_segments} segments in {seconds:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
