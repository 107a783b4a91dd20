"""Prefect overhead benchmark: short videos through the ``tag-paths`` flow (ephemeral API)
vs a plain loop over ``process_batch`` + ``write_outcomes`` on the same files, each run into
a fresh catalogue, with 1 and 2 worker processes. Figures are ratios from this one run.

    python -m benchmarks.prefect_overhead            # 300 clips of 3–5 s
    python -m benchmarks.prefect_overhead --quick    # 32 clips
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import media
from benchmarks.report import save_and_print

__all__ = ["main", "run"]

PREFECT_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def plain_loop(
    paths: list[str], *, catalog_root: Path, model_path: str, workers: int, batch_size: int
) -> float:
    """Seconds for the flow's work without Prefect: fingerprint, tag and write each batch."""
    from catalog import Catalog
    from flows.library import fingerprint
    from flows.outcomes import write_outcomes
    from flows.worker_pool import VideoJob, process_batch
    from tagger.pipeline import TagConfig

    started = time.perf_counter()
    catalog = Catalog(catalog_root)
    catalog.ensure()
    run_id = str(uuid.uuid4())
    n_tagged = 0
    for first in range(0, len(paths), batch_size):
        jobs = []
        for path in paths[first : first + batch_size]:
            stat = os.stat(path)
            jobs.append(VideoJob(path, fingerprint(path), stat.st_size, stat.st_mtime))
        outcomes = process_batch(jobs, model_path=model_path, config=TagConfig(), workers=workers)
        n_tagged += write_outcomes(catalog, outcomes, run_id=run_id, replace=False).n_tagged
    elapsed = time.perf_counter() - started
    if n_tagged != len(paths):
        raise RuntimeError(f"plain loop tagged {n_tagged} of {len(paths)} clips")
    return elapsed


def flow_run(
    folder: Path, *, n_clips: int, catalog_root: Path, model_path: str, workers: int, batch_size: int
) -> tuple[float, float]:
    """Seconds for ``tag-paths`` over ``folder``: outside the flow call, and the flow
    body's own ``wall_s`` (from planning to the run row, without Prefect's engine)."""
    from flows.run import TagOptions
    from flows.tag_flows import tag_paths

    started = time.perf_counter()
    summary = tag_paths(
        paths=[str(folder)],
        catalog_root=str(catalog_root),
        model_path=model_path,
        options=TagOptions(max_workers=workers, batch_size=batch_size),
    )
    elapsed = time.perf_counter() - started
    if summary["n_tagged"] != n_clips:
        raise RuntimeError(f"flow tagged {summary['n_tagged']} of {n_clips} clips: {summary['failures']}")
    return elapsed, float(summary["wall_s"])


def warm_up(model_path: str) -> dict[str, float]:
    """Load the model and run the front end once in this process (a 1-worker run uses them),
    then start Prefect's ephemeral API with an empty flow; seconds of each."""
    import numpy as np
    from prefect import flow

    from flows.worker_pool import worker_classifier
    from tagger.frontend import analyse_signal

    started = time.perf_counter()
    worker_classifier(model_path)
    analyse_signal(np.random.default_rng(0).normal(scale=0.1, size=16_000).astype(np.float32))
    loaded = time.perf_counter()

    @flow(name="bench-noop")
    def noop() -> int:
        return 0

    noop()
    return {
        "model_load_and_first_call_s": loaded - started,
        "ephemeral_api_start_s": time.perf_counter() - loaded,
    }


def run(*, quick: bool, batch_size: int) -> dict[str, Any]:
    from benchmarks.pipeline import bench_model, machine

    n_clips = 32 if quick else 300
    folder = media.short_clips(n_clips, quick=quick).resolve()
    paths = sorted(str(p) for p in folder.glob("clip_*.mp4"))
    model_path, model_name = bench_model()
    warm = warm_up(model_path)
    scratch = Path(tempfile.mkdtemp(prefix="emotag-bench-prefect-"))
    try:
        plain_s = plain_loop(
            paths, catalog_root=scratch / "plain", model_path=model_path, workers=1, batch_size=batch_size
        )
        # The flow with 1 and 2 worker processes; the plain loop runs once, with 1 (the
        # overhead per video is a 1-worker figure, and each 2-worker run costs pool starts).
        flows = {
            workers: flow_run(
                folder,
                n_clips=n_clips,
                catalog_root=scratch / f"flow{workers}",
                model_path=model_path,
                workers=workers,
                batch_size=batch_size,
            )
            for workers in (1, 2)
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    (flow_s, body_s), (flow2_s, _) = flows[1], flows[2]
    return {
        "machine": machine(),
        "model": model_name,
        "clips": n_clips,
        "clip_s": "3–5",
        "batch_size": batch_size,
        "model_load_and_first_call_s": round(warm["model_load_and_first_call_s"], 2),
        "ephemeral_api_start_s": round(warm["ephemeral_api_start_s"], 2),
        "plain_loop_1w_s": round(plain_s, 2),
        "flow_1w_s": round(flow_s, 2),
        "flow_over_plain_1w": round(flow_s / plain_s, 3),
        "plain_ms_per_video_1w": round(plain_s / n_clips * 1000, 1),
        "overhead_ms_per_video_1w": round((flow_s - plain_s) / n_clips * 1000, 1),
        # The flow body's own clock runs from planning to the run row: what is outside
        # it is Prefect's engine (flow/task runs, state, API calls).
        "of_which_outside_flow_body_ms_per_video": round((flow_s - body_s) / n_clips * 1000, 1),
        "flow_2w_s": round(flow2_s, 2),
        "speedup_1_to_2_workers_flow": round(flow_s / flow2_s, 2),
        "pool_starts_2w": -(-n_clips // batch_size),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32 clips instead of 300")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="videos per batch; default 100 (32 with --quick: one batch). The flows' own "
        "default is 16, but every batch starts a new process pool when workers > 1",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/prefect_overhead.json"))
    args = parser.parse_args(argv)
    for name, value in PREFECT_ENV.items():
        os.environ.setdefault(name, value)
    # A Prefect home of its own (git-ignored): the ephemeral API's database is not shared
    # with other work; it is migrated on the first run only.
    home = media.MEDIA_DIR / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(home.resolve())
    batch_size = args.batch_size or (32 if args.quick else 100)
    results = run(quick=args.quick, batch_size=batch_size)
    results["quick"] = args.quick
    save_and_print(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
