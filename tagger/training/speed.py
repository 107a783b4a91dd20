"""Speed of a model alone: windows/s on one CPU core, run as :class:`~tagger.model.Classifier`
runs it. TensorFlow's thread settings only take effect before it starts, so
:func:`benchmark_windows_per_s` measures in a fresh ``python -m tagger.training.speed``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["benchmark_windows_per_s", "measure_windows_per_s"]

_BATCH = 256  # Classifier's default batch size


def measure_windows_per_s(model_path: str | os.PathLike[str], *, n_windows: int = 4096) -> float:
    """Best of 3 windows/s of the model at ``model_path`` on random inputs
    ``(n_windows, *input_shape)``, in batches of 256 as :class:`~tagger.model.Classifier`
    runs them, in this process: a ``.tflite`` file through LiteRT on one thread (what the
    workers run), a ``.keras`` file through :func:`graph_forward` (pin TensorFlow's
    threads first to measure one core)."""
    path = Path(model_path)
    if path.suffix == ".tflite":
        from tagger.litert import LiteRTForward

        litert = LiteRTForward(path, threads=1)
        forward: Callable[[np.ndarray], Any] = litert
        shape = litert.input_shape
    else:
        from tagger.quiet import import_keras

        keras = import_keras()

        from tagger.model import graph_forward

        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        forward = graph_forward(model)
        shape = tuple(model.input_shape[1:])
    if -1 in shape or None in shape:
        return _tail_windows_per_s(forward, shape, n_windows=n_windows)
    x = np.random.default_rng(0).normal(-50, 20, size=(n_windows, *shape)).astype(np.float32)
    for i in range(0, min(n_windows, 2 * _BATCH), _BATCH):  # trace and warm up
        forward(x[i : i + _BATCH])
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for i in range(0, n_windows, _BATCH):
            np.asarray(forward(x[i : i + _BATCH]))
        best = max(best, n_windows / (time.perf_counter() - started))
    return best


def _tail_windows_per_s(
    forward: Callable[[np.ndarray], Any], shape: tuple[Any, ...], *, n_windows: int
) -> float:
    """A tail on the scene trunk's map runs per window on the window's stretch of the map
    (:func:`tagger.audioset.gate.tail_window_logits`): batches of 64 crops of a 3 s
    window's 19 columns, as a batch of the front end's windows holds them."""
    from tagger.audioset.gate import MAP_COLUMN_FRAMES
    from tagger.windows import WindowConfig

    columns = -(-WindowConfig().frames_per_window // MAP_COLUMN_FRAMES)
    height, channels = (int(d) for d in shape if d not in (-1, None))
    x = np.random.default_rng(0).normal(0, 1, size=(64, height, columns, channels)).astype(np.float32)
    forward(x)
    calls = max(1, n_windows // 64)
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            np.asarray(forward(x))
        best = max(best, calls * 64 / (time.perf_counter() - started))
    return best


def benchmark_windows_per_s(model_path: Path, *, n_windows: int = 4096, timeout_s: float = 600) -> float:
    """Windows/s of the model alone on one core (one LiteRT thread, or TF intra/inter
    threads = 1 and no GPU for a ``.keras`` file), by
    :func:`measure_windows_per_s` in a fresh subprocess so the thread settings take effect."""
    root = str(Path(__file__).resolve().parents[2])  # import this very tagger package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    done = subprocess.run(
        [sys.executable, "-m", "tagger.training.speed", str(model_path), "--windows", str(n_windows)],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout_s,
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tagger.training.speed MODEL [--windows N]``: print windows/s on one core."""
    parser = argparse.ArgumentParser(prog="python -m tagger.training.speed", description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--windows", type=int, default=4096)
    args = parser.parse_args(argv)
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if args.model.suffix != ".tflite":  # LiteRT runs on the one thread it is given
        from tagger.quiet import import_tensorflow

        tf = import_tensorflow()
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    print(measure_windows_per_s(args.model, n_windows=args.windows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
