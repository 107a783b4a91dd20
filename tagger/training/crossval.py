"""Speaker-grouped cross-validation of the network and the baselines, and the seed paper's
random-split evaluation; out-of-fold predictions and their metrics per model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tagger.constants import EMOTIONS
from tagger.errors import DatasetError
from tagger.training.config import TrainConfig
from tagger.training.dataset import ClipSet, model_inputs
from tagger.training.fit import fit_members, fit_paper, fit_svm, predict_network, svm_probs
from tagger.training.metrics import classification_metrics, clip_probabilities

__all__ = ["FoldSplit", "ModelRow", "cross_validate", "random_split_paper", "row_metrics", "row_summary"]


@dataclass(frozen=True)
class FoldSplit:
    """The clips one fold's model was trained on and predicted: indices into the clip set."""

    fold: int
    train_clips: np.ndarray
    test_clips: np.ndarray


@dataclass
class ModelRow:
    """Out-of-fold predictions and metrics of one model under one split."""

    name: str
    split: str
    clip_probs: np.ndarray
    clip_mask: np.ndarray  # clips that were in a test fold
    clip_fold: np.ndarray
    window_probs: np.ndarray | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    splits: list[FoldSplit] = field(default_factory=list)  # what each fold's model saw


def cross_validate(
    clips: ClipSet,
    folds: np.ndarray,
    *,
    method: str,
    config: TrainConfig,
    seed: int = 0,
    x_noisy: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    log: Any = print,
) -> ModelRow:
    """Out-of-fold predictions of ``method`` (``paper``, ``svm`` or ``network``) with
    clip folds ``folds`` ``(n_clips,)``: each fold is predicted by a model trained on
    the others, so no actor is in both. ``x_noisy``: noisy copies of the network's
    inputs (:func:`~tagger.training.augment.noisy_inputs`), used for training windows
    only; ``targets`` ``(n_windows, 16)``: the network's per-window targets when corpora
    lack classes (:func:`~tagger.training.labels.label_targets`); ``groups`` ``(n_windows,)``
    each window's corpus, for per-corpus class weights. The returned row's
    ``splits`` record the clips each fold's model was trained
    on and tested on."""
    n_classes = len(EMOTIONS)
    window_probs = np.zeros((len(clips.clip), n_classes), dtype=np.float32)
    clip_probs = np.zeros((clips.n_clips, n_classes), dtype=np.float32)
    y_windows = clips.window_labels()
    x = model_inputs(clips, config.model_config().input_name) if method == "network" else None
    splits: list[FoldSplit] = []
    for k in sorted(set(folds.tolist())):
        start = time.time()
        test_clips = folds == k
        train_actors = set(clips.actors[~test_clips].tolist())
        test_actors = set(clips.actors[test_clips].tolist())
        if train_actors & test_actors and -1 not in train_actors:
            raise DatasetError(f"fold {k}: actors {train_actors & test_actors} on both sides")
        splits.append(FoldSplit(k, np.flatnonzero(~test_clips), np.flatnonzero(test_clips)))
        if method == "paper":
            model = fit_paper(clips.mfcc40[~test_clips], clips.labels[~test_clips], config=config, seed=seed)
            clip_probs[test_clips] = predict_network(model, clips.mfcc40[test_clips])
        else:
            test_windows = test_clips[clips.clip]
            if method == "svm":
                svm = fit_svm(clips.features[~test_windows], y_windows[~test_windows], seed=seed)
                window_probs[test_windows] = svm_probs(svm, clips.features[test_windows], n_classes)
            else:
                assert x is not None
                cv_config = replace(config, n_members=config.cv_members or config.n_members)
                members = fit_members(
                    x[~test_windows],
                    y_windows[~test_windows],
                    config=cv_config,
                    seed=seed,
                    x_noisy=None if x_noisy is None else x_noisy[:, ~test_windows],
                    targets=None if targets is None else targets[~test_windows],
                    groups=None if groups is None else groups[~test_windows],
                )
                window_probs[test_windows] = np.mean(
                    [predict_network(m, x[test_windows]) for m in members], axis=0
                )
        if method == "paper":
            fold_probs = clip_probs[test_clips]
        else:
            fold_probs = clip_probabilities(clips, window_probs)[test_clips]
        accuracy = float(np.mean(fold_probs.argmax(axis=1) == clips.labels[test_clips]))
        log(f"  {method} fold {k}: clip accuracy {100 * accuracy:.1f}% ({time.time() - start:.0f} s)")
    row = ModelRow(
        name=method,
        split=f"speaker-grouped {len(splits)}-fold",
        clip_probs=clip_probs,
        clip_mask=np.ones(clips.n_clips, dtype=bool),
        clip_fold=folds,
        splits=splits,
    )
    if method != "paper":
        row.window_probs = window_probs
        row.clip_probs = clip_probabilities(clips, window_probs)
    row.metrics = row_metrics(clips, row)
    return row


def random_split_paper(
    clips: ClipSet, *, config: TrainConfig, seed: int = 0, test_size: float = 0.33
) -> ModelRow:
    """The paper's evaluation: one random 67/33 split of clips, speakers on both sides."""
    from sklearn.model_selection import train_test_split

    index = np.arange(clips.n_clips)
    train_idx, test_idx = train_test_split(index, test_size=test_size, random_state=seed)
    model = fit_paper(clips.mfcc40[train_idx], clips.labels[train_idx], config=config, seed=seed)
    probs = np.zeros((clips.n_clips, len(EMOTIONS)), dtype=np.float32)
    probs[test_idx] = predict_network(model, clips.mfcc40[test_idx])
    mask = np.zeros(clips.n_clips, dtype=bool)
    mask[test_idx] = True
    row = ModelRow(
        name="paper",
        split="random 67/33 clip split",
        clip_probs=probs,
        clip_mask=mask,
        clip_fold=np.zeros(clips.n_clips, dtype=np.int64),
        splits=[FoldSplit(0, np.sort(train_idx), np.sort(test_idx))],
    )
    row.metrics = row_metrics(clips, row)
    return row


def row_metrics(clips: ClipSet, row: ModelRow) -> dict[str, Any]:
    """Clip metrics (+ window accuracy when the model is per-window) and per-fold spread."""
    mask = row.clip_mask
    clip_pred = row.clip_probs.argmax(axis=1)
    result: dict[str, Any] = {"clip": classification_metrics(clips.labels[mask], clip_pred[mask])}
    if row.window_probs is not None:
        y_windows = clips.window_labels()
        window_pred = row.window_probs.argmax(axis=1)
        result["window_accuracy"] = float(np.mean(window_pred == y_windows))
        speech = clips.is_speech
        result["window_accuracy_speech"] = (
            float(np.mean(window_pred[speech] == y_windows[speech])) if speech.any() else None
        )
    per_fold: dict[str, list[float]] = {"accuracy": [], "macro_f1": [], "uar": []}
    folds = sorted(set(row.clip_fold[mask].tolist()))
    for k in folds:
        in_fold = mask & (row.clip_fold == k)
        m = classification_metrics(clips.labels[in_fold], clip_pred[in_fold])
        for key in ("accuracy", "macro_f1", "uar"):
            per_fold[key].append(m[key])
        if row.window_probs is not None:
            win = in_fold[clips.clip]
            acc = float(np.mean(row.window_probs[win].argmax(axis=1) == clips.window_labels()[win]))
            per_fold.setdefault("window_accuracy", []).append(acc)
    result["per_fold"] = per_fold
    result["fold_mean"] = {k: float(np.mean(v)) for k, v in per_fold.items()}
    result["fold_std"] = {k: float(np.std(v)) for k, v in per_fold.items()}
    return result


def row_summary(row: ModelRow) -> dict[str, Any]:
    """The headline numbers of ``row`` (JSON-ready): clip accuracy, macro-F1, UAR, window
    accuracy, per-fold mean and spread (empty for a single split) and the confusion matrix."""
    m = row.metrics
    single = len(m["per_fold"]["accuracy"]) == 1
    return {
        "n_folds": len(m["per_fold"]["accuracy"]),
        "name": row.name,
        "split": row.split,
        "clip_accuracy": m["clip"]["accuracy"],
        "macro_f1": m["clip"]["macro_f1"],
        "uar": m["clip"]["uar"],
        "window_accuracy": m.get("window_accuracy"),
        "fold_mean": m["fold_mean"],
        "fold_std": {} if single else m["fold_std"],
        "confusion": m["clip"]["confusion"],
    }
