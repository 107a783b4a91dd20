"""Session 12: does averaging the weights of tails trained with different seeds ("model
soup") do what averaging their outputs (an ensemble) does, at no run-time cost?

    python -m experiments.tail_soup _ls0.1 _ls0.1_seed1

Reads ``select<recipe>_tail_19.keras`` (``python -m tagger.training.mn04 select ...``, which
keeps the final model) for each recipe suffix, scores validation fold 1 with each model,
with their weights averaged, and with their log-probabilities averaged, and saves the
soup's and the ensemble's probabilities as ``select_soup<n>`` / ``select_ensemble<n>`` runs
for ``python -m experiments.tail_neutral recipes``. Figures in ``docs/model/experiments.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from tagger.calibration import softmax
from tagger.training.mn04 import VAL_FOLD, TailData, _save_probs, _tf, scores, window_probabilities

RUNS = Path("runs/mn04")
EPOCH = 19


def _load(recipe: str) -> Any:
    import keras

    return keras.saving.load_model(RUNS / f"select{recipe}_tail_{EPOCH}.keras", safe_mode=True, compile=False)


def _report(name: str, data: TailData, clips: np.ndarray, probs: np.ndarray) -> None:
    per_corpus = scores(data, clips, probs)
    mean = float(np.mean([v["uar"] for v in per_corpus.values()]))
    print(name, f"mean UAR {mean:.1f}", json.dumps({k: round(v["uar"], 1) for k, v in per_corpus.items()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.tail_soup", description=__doc__)
    parser.add_argument("recipe", nargs="+", help="select runs' suffixes, e.g. _ls0.1 _ls0.1_seed1")
    args = parser.parse_args(argv)
    _tf()  # one thread, set before TensorFlow starts
    data = TailData.load(RUNS)
    clips = data.clips(folds=(VAL_FOLD,))
    models = [_load(r) for r in args.recipe]
    windows = []
    for recipe, model in zip(args.recipe, models, strict=True):
        window_probs, probs, clip_of = window_probabilities(model, data, clips)
        windows.append(window_probs)
        _report(recipe, data, clips, probs)
    soup = models[0]
    weights = [m.get_weights() for m in models]
    soup.set_weights([np.mean(ws, axis=0) for ws in zip(*weights, strict=True)])
    soup_windows, soup_probs, clip_of = window_probabilities(soup, data, clips)
    _report("soup (weights averaged)", data, clips, soup_probs)
    ensemble = softmax(np.mean([np.log(np.clip(w, 1e-12, 1.0)) for w in windows], axis=0))
    ensemble_probs = np.stack([ensemble[clip_of == i].mean(axis=0) for i in range(len(clips))])
    _report("ensemble (log-probabilities averaged)", data, clips, ensemble_probs)
    n = len(models)
    _save_probs(RUNS / f"select_soup{n}_probs_{EPOCH}.npz", data, clips, soup_probs, (soup_windows, clip_of))
    _save_probs(
        RUNS / f"select_ensemble{n}_probs_{EPOCH}.npz", data, clips, ensemble_probs, (ensemble, clip_of)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
