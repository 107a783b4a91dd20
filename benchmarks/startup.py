"""Start-up benchmark: a fresh process's way to its first window batch.

Runs a fresh Python process that imports the front end, then calls
:func:`tagger.frontend.analyse_signal` twice on 3 s of speech-like audio, and prints
seconds for each step, plus the heavy modules the process ended up importing::

    python -m benchmarks.startup             # 3 fresh processes, median of each step
    python -m benchmarks.startup --runs 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HEAVY_MODULES = ("librosa", "numba", "llvmlite", "scipy.signal", "soxr", "tensorflow", "sklearn")

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


def run(*, runs: int) -> dict[str, Any]:
    from tagger.testing import signals

    with tempfile.TemporaryDirectory() as folder:
        signal_path = Path(folder) / "speech.npy"
        # Made here, so the child's timings hold no test-signal generation.
        np.save(signal_path, signals.speech_like(3.0, seed=1))
        samples = [measure_once(signal_path) for _ in range(runs)]
    keys = [k for k, v in samples[0].items() if k.endswith("_s")]
    summary: dict[str, Any] = {k: round(statistics.median(s[k] for s in samples), 3) for k in keys}
    summary["first_over_second_call"] = round(summary["first_call_s"] / summary["second_call_s"], 2)
    summary["runs"] = runs
    summary["heavy_modules"] = samples[0]["heavy_modules"]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes to run (median reported)")
    parser.add_argument("--out", type=Path, default=Path("bench/startup.json"))
    args = parser.parse_args(argv)
    results = run(runs=args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:{width}s}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
