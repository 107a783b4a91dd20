"""Start-up benchmark: fresh processes to their first result, and what they hold.

Three measurements, each in fresh processes (median of ``--runs``):

- front end: import, then :func:`tagger.frontend.analyse_signal` twice on 3 s of
  speech-like audio (first call vs steady cost);
- worker: what a pool worker does, :func:`flows.worker_pool.init_worker` (model load)
  then :func:`flows.worker_pool.process_video` on a 3 s clip: seconds to its first
  tagged video, peak RSS, and whether TensorFlow/Keras were imported;
- CLI: ``emotag tag CLIP`` wall time on the same 3 s clip into a new catalogue (a local
  run: no Prefect API), and with ``--prefect`` (Prefect's temporary API) unless
  ``--quick``.

    python -m benchmarks.startup             # 3 fresh processes, median of each step
    python -m benchmarks.startup --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import save_and_print

HEAVY_MODULES = (
    "librosa",
    "numba",
    "llvmlite",
    "scipy.signal",
    "soxr",
    "tensorflow",
    "keras",
    "sklearn",
    "prefect",
)

_WORKER = """
import json, resource, sys, time
started = time.perf_counter()
from flows.worker_pool import VideoJob, init_worker, process_video
from tagger.pipeline import TagConfig
imported = time.perf_counter()
init_worker(None)
loaded = time.perf_counter()
outcome = process_video(VideoJob(sys.argv[1], "v", 1, 0.0), model_path=None, config=TagConfig())
tagged = time.perf_counter()
assert outcome.status == "ok", outcome.error
print(json.dumps({
    "import_s": imported - started,
    "model_load_s": loaded - imported,
    "first_video_s": tagged - loaded,
    "to_first_video_s": tagged - started,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "heavy_modules": [m for m in sys.argv[2:] if m in sys.modules],
}))
"""

_CHILD = """
import json, sys, time
import numpy as np
y = np.load(sys.argv[1])
started = time.perf_counter()
from tagger.frontend import analyse_signal
imported = time.perf_counter()
t0 = time.perf_counter()
batch = analyse_signal(y)
first = time.perf_counter()
analyse_signal(y)
second = time.perf_counter()
y48 = np.repeat(y, 3)  # 48 kHz: the resampling path
t1 = time.perf_counter()
analyse_signal(y48, sample_rate=48_000)
resampled = time.perf_counter()
print(json.dumps({
    "import_s": imported - started,
    "first_call_s": first - t0,
    "second_call_s": second - first,
    "first_call_48khz_s": resampled - t1,
    "to_first_batch_s": (imported - started) + (first - t0),
    "windows": len(batch),
    "heavy_modules": [m for m in sys.argv[2:] if m in sys.modules],
}))
"""


def measure_once(signal_path: Path) -> dict[str, Any]:
    """Timings (s) of one fresh process on the signal saved at ``signal_path``."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(signal_path), *HEAVY_MODULES],
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def _median_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in samples[0].items() if k.endswith(("_s", "_mb"))]
    summary: dict[str, Any] = {k: round(statistics.median(s[k] for s in samples), 3) for k in keys}
    summary["heavy_modules"] = samples[0]["heavy_modules"]
    return summary


def measure_worker(clip: Path) -> dict[str, Any]:
    """One fresh worker process tagging ``clip``: seconds and peak RSS (MB)."""
    result = subprocess.run(
        [sys.executable, "-c", _WORKER, str(clip), *HEAVY_MODULES], capture_output=True, text=True, check=True
    )
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def measure_cli(clip: Path, *, prefect: bool) -> float:
    """Wall seconds of ``emotag tag CLIP`` (a fresh process) into a new catalogue."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "flows.cli",
            "tag",
            str(clip),
            "--catalog",
            f"{folder}/catalog",
            "-q",
        ]
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        started = time.perf_counter()
        subprocess.run([*command, *(["--prefect"] if prefect else [])], check=True, env=env)
        return time.perf_counter() - started


def run(*, runs: int, quick: bool = False) -> dict[str, Any]:
    from tagger import ffmpeg_bin
    from tagger.testing import signals
    from tagger.testing.media import write_wav

    with tempfile.TemporaryDirectory() as folder:
        signal_path = Path(folder) / "speech.npy"
        # Made here, so the child's timings hold no test-signal generation.
        speech = signals.speech_like(3.0, seed=1)
        np.save(signal_path, speech)
        samples = [measure_once(signal_path) for _ in range(runs)]
        clip = Path(folder) / "clip.mp4"
        wav = write_wav(speech)
        subprocess.run(ffmpeg_bin.write_file_command("-i", wav, "-c:a", "aac", str(clip)), check=True)
        workers = [measure_worker(clip) for _ in range(runs)]
        cli_local = [measure_cli(clip, prefect=False) for _ in range(runs)]
        cli_prefect = [] if quick else [measure_cli(clip, prefect=True)]
    summary = _median_summary(samples)
    summary["first_over_second_call"] = round(summary["first_call_s"] / summary["second_call_s"], 2)
    summary["runs"] = runs
    summary["worker"] = _median_summary(workers)
    summary["cli_tag_one_clip_s"] = round(statistics.median(cli_local), 2)
    if cli_prefect:
        summary["cli_tag_one_clip_prefect_s"] = round(cli_prefect[0], 2)
    worker = summary["worker"]
    summary["goals"] = {
        "worker_startup_s": {"target": "<= 1.5 s", "measured": worker["to_first_video_s"]},
        "worker_rss_mb": {"target": "<= 400 MB", "measured": worker["peak_rss_mb"]},
        "cli_tag_one_clip_s": {"target": "<= 4 s", "measured": summary["cli_tag_one_clip_s"]},
    }
    limits = {"worker_startup_s": 1.5, "worker_rss_mb": 400.0, "cli_tag_one_clip_s": 4.0}
    for name, goal in summary["goals"].items():
        goal["met"] = goal["measured"] <= limits[name]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes to run (median reported)")
    parser.add_argument("--quick", action="store_true", help="one run each, no --prefect CLI run")
    parser.add_argument("--out", type=Path, default=Path("bench/startup.json"))
    args = parser.parse_args(argv)
    results = run(runs=1 if args.quick else args.runs, quick=args.quick)
    save_and_print(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
