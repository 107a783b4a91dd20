"""Chunking invariance holds on every BLAS kernel path, not only the one this CPU picks.

OpenBLAS chooses its kernels by CPU (``DYNAMIC_ARCH``), and kernels round a row by its
position in the matrix, so a test that passes on the machine it was written on can fail
on another (issue #23: an AMD EPYC picks the Haswell/Zen kernels). ``OPENBLAS_CORETYPE``
forces a kernel, so the bit-for-bit tests are rerun here in subprocesses under the
kernels this CPU can execute. SkylakeX is left out: it needs AVX-512 and crashes
without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.features import FrameFeaturizer, frame_features
from tagger.testing import signals

REPO = Path(__file__).resolve().parents[2]
BIT_FOR_BIT = [
    "tests/tagger/test_features.py::test_frame_features_do_not_depend_on_chunking",
    "tests/tagger/test_frontend.py::test_file_and_signal_paths_agree",
    "tests/tagger/test_frontend.py::test_chunk_size_does_not_change_the_result",
    "tests/tagger/test_pipeline.py::test_a_signal_and_the_same_audio_in_a_file_give_the_same_tags",
]
# kernel -> the CPU flags its instructions need
KERNELS = {"Haswell": {"avx2", "fma"}, "Zen": {"avx2", "fma"}, "Sandybridge": {"avx"}}
# the name threadpoolctl reports for it: OpenBLAS builds may run Zen on its Haswell kernels
REPORTED = {"Haswell": {"Haswell"}, "Zen": {"Zen", "Haswell"}, "Sandybridge": {"Sandybridge"}}


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


_RUN = """
import sys, threadpoolctl, numpy, pytest
kernels = {i.get("architecture") for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"}
print("kernels:", sorted(map(str, kernels)))
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
"""


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_bit_for_bit_tests_pass_under_every_kernel(kernel: str) -> None:
    missing = KERNELS[kernel] - _cpu_flags()
    if missing:
        pytest.skip(f"this CPU lacks {sorted(missing)} for the {kernel} kernel")
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *BIT_FOR_BIT],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    reported = {f"kernels: ['{name}']" for name in REPORTED[kernel]}
    assert any(line in done.stdout for line in reported), done.stdout[-2000:] + done.stderr[-2000:]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(BIT_FOR_BIT)} passed" in done.stdout


def test_chunking_comparison_sees_a_one_sample_shift() -> None:
    """The bit-for-bit comparison has teeth: a chunking that dropped or repeated one sample
    (a frame shifted by 1/16 ms) changes the features."""
    y = signals.speech_like(1.5, seed=1) + signals.white_noise(1.5, amplitude=0.01, seed=2)
    whole = frame_features(y)
    featurizer = FrameFeaturizer()
    shifted = [featurizer.push(y[:8_000]), featurizer.push(y[8_001:]), featurizer.finish()]
    moved = np.concatenate(shifted)
    assert np.array_equal(whole[:40], moved[:40])  # frames before the cut are untouched
    assert not np.allclose(whole[60:100], moved[60:100], rtol=1e-3, atol=1e-3)
