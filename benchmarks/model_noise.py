"""How the emotion model degrades with background noise, on actors it never saw.

    python -m benchmarks.model_noise --model bench/heldout/heldout-fold0.keras \\
        --manifest bench/heldout/heldout-fold0.tsv [--snr 20 10 5 0]

Use a model from ``python -m benchmarks.heldout`` and its held-out manifest (the shipped
model saw every RAVDESS actor, so it cannot be measured this way). Each clip is mixed
with pink noise and with babble (6 other clips of the same manifest, summed) at each
SNR, relative to the clip's speech level (RMS of samples above -60 dBFS), and
classified like ``emotag evaluate`` does: mean calibrated window probability over the
speech windows. Prints clip accuracy per condition and the share of windows still
detected as speech.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from tagger.constants import SAMPLE_RATE
from tagger.frontend import FrontEndConfig, analyse_signal
from tagger.model import load_model
from tagger.pipeline import frontend_for
from tagger.testing import signals
from tagger.training import clip_probability, read_manifest
from tagger.training.augment import mix_at_snr


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_noise", description=__doc__)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--snr", type=float, nargs="+", default=[20.0, 10.0, 5.0, 0.0])
    args = parser.parse_args(argv)

    classifier = load_model(args.model)
    frame = read_manifest(args.manifest)
    clips = [sf.read(p, dtype="float32")[0] for p in frame["path"]]
    labels = frame["label"].to_numpy()
    rng = np.random.default_rng(0)
    conditions: list[tuple[str, float | None]] = [("clean", None)]
    conditions += [(kind, snr) for kind in ("pink", "babble") for snr in args.snr]
    results: dict[str, dict[str, float]] = {}
    for kind, snr in conditions:
        hits, n_speech, n_windows = 0, 0, 0
        for i, y in enumerate(clips):
            if snr is not None:
                if kind == "pink":
                    noise = signals.pink_noise(y.size / SAMPLE_RATE, seed=int(rng.integers(1 << 30)))
                else:
                    others = rng.choice([j for j in range(len(clips)) if j != i], size=6, replace=False)
                    noise = np.zeros_like(y)
                    for j in others:
                        other = clips[j][: y.size]
                        noise[: other.size] += other
                y = mix_at_snr(y, noise[: y.size], snr_db=snr)
            batch = analyse_signal(y, config=frontend_for(classifier, FrontEndConfig()))
            assert batch is not None
            probs = classifier.predict(batch)
            hits += int(clip_probability(probs, batch.is_speech).argmax() == labels[i])
            n_speech += int(batch.is_speech.sum())
            n_windows += len(batch)
        name = "clean" if snr is None else f"{kind} {snr:g} dB"
        results[name] = {"clip_accuracy": hits / len(clips), "speech_windows": n_speech / n_windows}
        print(
            f"{name:<14} clip accuracy {100 * hits / len(clips):5.1f} %   speech windows "
            f"{100 * n_speech / n_windows:5.1f} %",
            flush=True,
        )
    print(json.dumps({"model": classifier.version, "clips": len(clips), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
