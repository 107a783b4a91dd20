"""Decode ahead, on and off: one worker tagging the benchmark library in turn, in this
process, each video decoded in place (``process_video`` one after another, the path before
session 12) or with the next track's decode started as the current one's audio ends
(``process_batch``, :mod:`tagger.ahead`). Rounds alternate off, on, off, on between two
measurements of the decode floor, so only ratios within a round compare.

    python -m benchmarks.decode_ahead [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import time

from benchmarks import media
from benchmarks.pipeline import decode_floor_s
from flows.worker_pool import VideoJob, VideoOutcome, process_batch, process_video
from tagger.pipeline import TagConfig

__all__ = ["main", "tag_library"]


def tag_library(jobs: list[VideoJob], *, ahead: bool) -> float:
    """Seconds to tag ``jobs`` with the shipped model in this process, decoding ahead or not."""
    config = TagConfig()
    started = time.perf_counter()
    outcomes: list[VideoOutcome]
    if ahead:
        outcomes = process_batch(jobs, model_path=None, config=config, workers=1)
    else:
        outcomes = [process_video(job, model_path=None, config=config) for job in jobs]
    elapsed = time.perf_counter() - started
    failed = [(o.job.path, o.error) for o in outcomes if o.status != "ok"]
    if failed:
        raise RuntimeError(f"videos not tagged: {failed}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decode_ahead", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the 6-video quick library")
    args = parser.parse_args(argv)
    videos = media.library(quick=args.quick)
    jobs = [VideoJob(str(v.path), f"v{i}", 0, 0.0) for i, v in enumerate(videos)]
    tag_library(jobs, ahead=True)  # warm: model, kernels, page cache
    for _ in range(args.rounds):
        before = decode_floor_s(videos)
        runs: dict[bool, list[float]] = {False: [], True: []}
        for ahead in (False, True, False, True):
            runs[ahead].append(tag_library(jobs, ahead=ahead))
        floor = (before + decode_floor_s(videos)) / 2
        plain, ahead_s = sum(runs[False]) / 2, sum(runs[True]) / 2
        print(
            f"floor {floor:.2f} s | in place {runs[False][0]:.2f} / {runs[False][1]:.2f} s"
            f" ({plain / floor:.2f}x) | decode ahead {runs[True][0]:.2f} / {runs[True][1]:.2f} s"
            f" ({ahead_s / floor:.2f}x) | {100 * (1 - ahead_s / plain):.1f} % less",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
