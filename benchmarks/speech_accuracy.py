"""Measure the speech / no-speech detector on synthetic signals and corpus clips.

    python -m benchmarks.speech_accuracy [--corpus ../shared/corpora/ravdess] [--clips 200]

Synthetic: 5 seeds x 6 s of each non-speech kind (must be no_speech) and of voiced
babble, clean and in noise (must be speech). Corpus: every window of sampled clips,
clean and mixed with pink noise at 10 dB and 0 dB SNR (must be speech), plus the
same clips' noise alone (must be no_speech).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from tagger.frontend import analyse_signal
from tagger.testing import signals


def speech_share(y: np.ndarray) -> tuple[int, int]:
    batch = analyse_signal(y)
    assert batch is not None
    return int(batch.is_speech.sum()), len(batch)


def synthetic() -> dict[str, dict[str, object]]:
    kinds: dict[str, tuple[bool, Callable[[int], np.ndarray]]] = {
        "silence": (False, lambda s: signals.silence(6.0)),
        "tone_110..880": (False, lambda s: signals.tone(6.0, freq_hz=110.0 * 2 ** (s % 4))),
        "white_noise": (
            False,
            lambda s: signals.white_noise(6.0, amplitude=0.05 * (s + 1), seed=s),
        ),
        "pink_noise": (False, lambda s: signals.pink_noise(6.0, amplitude=0.05 * (s + 1), seed=s)),
        "babble": (True, lambda s: signals.speech_like(6.0, seed=s, f0_hz=100.0 + 30 * s)),
        "babble_white_20dB": (
            True,
            lambda s: signals.speech_like(6.0, seed=s) + signals.white_noise(6.0, amplitude=0.003, seed=s),
        ),
        "babble_pink": (
            True,
            lambda s: signals.speech_like(6.0, seed=s) + signals.pink_noise(6.0, amplitude=0.01, seed=s),
        ),
    }
    out: dict[str, dict[str, object]] = {}
    for name, (is_speech, make) in kinds.items():
        hits = total = 0
        for seed in range(5):
            n_speech, n = speech_share(make(seed))
            hits += n_speech if is_speech else n - n_speech
            total += n
        out[name] = {
            "expected": "speech" if is_speech else "no_speech",
            "accuracy": hits / total,
            "windows": total,
        }
    return out


def corpus(root: Path, n_clips: int) -> dict[str, dict[str, object]]:
    manifest = pd.read_csv(root / "manifest.tsv", sep="\t").sample(n=n_clips, random_state=0)
    rng = np.random.default_rng(0)
    counts = {k: [0, 0] for k in ("clean", "pink_10dB", "pink_0dB", "noise_only")}
    for relative in manifest["path"]:
        y, _ = sf.read(root / relative, dtype="float32")
        noise = signals.pink_noise(y.size / 16_000, seed=int(rng.integers(1 << 16)))[: y.size]
        speech_rms = np.sqrt(np.mean(y[np.abs(y) > 1e-3] ** 2)) if np.any(np.abs(y) > 1e-3) else 1e-3
        noise = noise / (np.sqrt(np.mean(noise**2)) + 1e-12)
        variants = {
            "clean": y,
            "pink_10dB": y + noise * speech_rms / 10 ** (10 / 20),
            "pink_0dB": y + noise * speech_rms,
            "noise_only": noise * speech_rms / 10 ** (10 / 20),
        }
        for name, signal in variants.items():
            n_speech, n = speech_share(np.clip(signal, -1, 1).astype(np.float32))
            counts[name][0] += (n - n_speech) if name == "noise_only" else n_speech
            counts[name][1] += n
    return {
        name: {
            "expected": "no_speech" if name == "noise_only" else "speech",
            "accuracy": hits / total,
            "windows": total,
        }
        for name, (hits, total) in counts.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpora/ravdess"))
    parser.add_argument("--clips", type=int, default=200)
    args = parser.parse_args(argv)
    results: dict[str, object] = {"synthetic": synthetic()}
    if (args.corpus / "manifest.tsv").is_file():
        results["corpus"] = corpus(args.corpus, args.clips)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
