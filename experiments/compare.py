"""Quick speaker-grouped CV of one recipe on the cached windows (for choosing the recipe).

Usage: python experiments/compare.py METHOD [key=value ...]   (METHOD: paper, svm, cnn, mlp)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tagger.model import ModelConfig
from tagger.training import ClipSet, TrainConfig, cross_validate, read_folds
from tagger.training.dataset import clip_folds

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "ravdess"

if __name__ == "__main__":
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    method, *pairs = sys.argv[1:]
    opts = dict(p.split("=", 1) for p in pairs)
    clips = ClipSet.load(Path(opts.pop("cache", "/tmp/ravdess_clips.npz")))
    folds = clip_folds(clips, read_folds(CORPUS / "folds.tsv"))
    model_kw = {}
    if method == "mlp":
        model_kw = {"kind": "aggregate_mlp", "input_shape": (161,)}
    if method == "fcnn":
        model_kw = {"kind": "frames_cnn", "input_shape": (300, 92)}
    for key in ("dropout",):
        if key in opts:
            model_kw[key] = float(opts.pop(key))
    if "filters" in opts:
        model_kw["filters"] = tuple(int(v) for v in opts.pop("filters").split(","))
    if "units" in opts:
        model_kw["units"] = tuple(int(v) for v in opts.pop("units").split(","))
    if "time_pool" in opts:
        model_kw["time_pool"] = int(opts.pop("time_pool"))
    train_kw = {
        k: type(getattr(TrainConfig(), k))(v) if k != "augment" else v == "1" for k, v in opts.items()
    }
    config = TrainConfig(model=ModelConfig(**model_kw), **train_kw)
    row = cross_validate(
        clips,
        folds,
        method="network" if method in ("cnn", "mlp", "fcnn") else method,
        config=config,
    )
    m = row.metrics
    print(
        method,
        pairs,
        json.dumps(
            {
                "clip_acc": m["clip"]["accuracy"],
                "macro_f1": m["clip"]["macro_f1"],
                "uar": m["clip"]["uar"],
                "win_acc": m.get("window_accuracy"),
                "fold_std": m["fold_std"],
            }
        ),
    )
