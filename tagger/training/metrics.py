"""Classification metrics and clip scoring: how window probabilities become clip predictions.

A clip's prediction is the mean of its window probabilities over its speech windows
(over all its windows when none is speech); training, evaluation and benchmarks share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tagger.constants import EMOTIONS
from tagger.decision import Decision, decide
from tagger.training.dataset import ClipSet

__all__ = [
    "brief_score",
    "classification_metrics",
    "clip_probabilities",
    "clip_probability",
    "neutral_scores",
    "per_corpus_scores",
    "score_clips",
    "top_confusions",
]


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


def score_clips(
    labels: np.ndarray, probs: np.ndarray, classes: Sequence[int] | None = None
) -> dict[str, Any]:
    """Clip accuracy, UAR, macro-F1, count and confusion of clip probabilities ``probs``
    ``(n, 8)`` against ``labels`` ``(n,)``; with ``classes``, over the clips of those
    classes only, each predicted as the arg-max among them (a corpus's own classes)."""
    labels = np.asarray(labels, dtype=np.int64)
    if classes is not None:
        keep = np.isin(labels, classes)
        labels, probs = labels[keep], probs[keep][:, list(classes)]
        predicted = np.asarray(classes)[probs.argmax(axis=1)]
    else:
        predicted = probs.argmax(axis=1)
    metrics = classification_metrics(labels, predicted)
    return {
        "clip_accuracy": metrics["accuracy"],
        "uar": metrics["uar"],
        "macro_f1": metrics["macro_f1"],
        "n": int(labels.size),
        "confusion": metrics["confusion"],
    }


def per_corpus_scores(
    labels: np.ndarray, probs: np.ndarray, corpus: np.ndarray, names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """:func:`score_clips` of the clips of each corpus (``corpus`` ``(n,)`` indexes
    ``names``) over all eight classes, plus ``own_classes``: the same predictions, arg-max
    among the classes that corpus labels."""
    out: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(names):
        mine = np.asarray(corpus) == index
        if not mine.any():
            continue
        own = sorted({int(c) for c in np.asarray(labels)[mine]})
        score = score_clips(labels[mine], probs[mine])
        score["own_classes"] = score_clips(labels[mine], probs[mine], own)
        score["classes"] = [EMOTIONS[c] for c in own]
        out[name] = score
    return out


def neutral_scores(labels: np.ndarray, probs: np.ndarray, decision: Decision) -> dict[str, Any]:
    """8-way recall of neutral under ``decision`` and the mean 8-way recall over the other
    classes present (``emotion_recall``), for clip probabilities ``probs`` ``(n, 8)`` and
    ``labels`` ``(n,)``; ``neutral_recall`` is None without neutral clips."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = decide(probs, decision)[0]
    neutral = EMOTIONS.index("neutral")
    others = [c for c in sorted(set(labels.tolist())) if c != neutral]
    has = labels == neutral
    return {
        "decision": decision.as_card(),
        "neutral_recall": float(np.mean(predicted[has] == neutral)) if has.any() else None,
        "emotion_recall": float(np.mean([np.mean(predicted[labels == c] == c) for c in others]))
        if others
        else None,
    }


def brief_score(score: dict[str, Any]) -> str:
    """``acc a %, UAR u % (n N)``, and the same among the corpus's own classes when scored."""
    text = f"acc {100 * score['clip_accuracy']:.1f} %, UAR {100 * score['uar']:.1f} % (n {score['n']})"
    if "own_classes" in score and len(score.get("classes", [])) < len(EMOTIONS):
        text += f"; own classes: {brief_score(score['own_classes'])}"
    return text
