"""Classification metrics and clip scoring: how window probabilities become clip predictions.

A clip's prediction is the mean of its window probabilities over its speech windows
(over all its windows when none is speech); training, evaluation and benchmarks share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tagger.constants import EMOTIONS
from tagger.training.dataset import ClipSet

__all__ = ["classification_metrics", "clip_probabilities", "clip_probability", "top_confusions"]


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1, UAR, per-class precision/recall/F1/support (classes present in
    ``y_true`` or ``y_pred``) and the 8×8 confusion matrix (rows: true, columns: predicted).

    macro-F1 and UAR average over the classes present in ``y_true`` only.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    present = sorted(set(true.tolist()))
    labels = sorted(set(true.tolist()) | set(pred.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=labels, zero_division=0
    )
    per_class = {
        EMOTIONS[c]: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, c in enumerate(labels)
    }
    in_true = [per_class[EMOTIONS[c]] for c in present]
    return {
        "accuracy": float(np.mean(true == pred)),
        "macro_f1": float(np.mean([row["f1"] for row in in_true])),
        "uar": float(np.mean([row["recall"] for row in in_true])),
        "n": int(true.size),
        "per_class": per_class,
        "confusion": confusion_matrix(true, pred, labels=list(range(len(EMOTIONS)))).tolist(),
    }


def clip_probability(window_probs: np.ndarray, is_speech: np.ndarray) -> np.ndarray:
    """One clip's prediction ``(k,)`` float32: the mean of its window probabilities
    ``(n, k)`` over its speech windows ``is_speech`` ``(n,)``, over all when none is."""
    speech = np.asarray(is_speech, dtype=bool)
    chosen = window_probs[speech] if speech.any() else window_probs
    return np.asarray(chosen.mean(axis=0, dtype=np.float64), dtype=np.float32)


def clip_probabilities(clips: ClipSet, window_probs: np.ndarray) -> np.ndarray:
    """:func:`clip_probability` of every clip of ``clips``: ``(n_clips, k)`` float32 from
    the probabilities ``(n_windows, k)`` of all its windows."""
    out = np.zeros((clips.n_clips, window_probs.shape[1]), dtype=np.float32)
    for c in range(clips.n_clips):
        mine = clips.clip == c
        out[c] = clip_probability(window_probs[mine], clips.is_speech[mine])
    return out


def top_confusions(confusion: Sequence[Sequence[int]], *, n: int = 3) -> str:
    """The ``n`` most frequent off-diagonal cells of a confusion matrix, as text."""
    matrix = np.asarray(confusion, dtype=np.int64)
    cells = [
        (int(matrix[i, j]), EMOTIONS[i], EMOTIONS[j])
        for i in range(matrix.shape[0])
        for j in range(matrix.shape[1])
        if i != j and matrix[i, j] > 0
    ]
    cells.sort(key=lambda cell: -cell[0])
    return ", ".join(f"{true} taken for {pred} ({count} clips)" for count, true, pred in cells[:n])
