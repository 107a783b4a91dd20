"""Probability calibration: temperature scaling, expected calibration error, abstention.

Pure NumPy/SciPy functions over ``(n, n_classes)`` probability arrays; the model's
calibration temperature and abstain threshold are fitted here on out-of-fold predictions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tagger.decision import Decision, decide
from tagger.errors import ParameterError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "apply_temperature",
    "confidence_calibration_error",
    "coverage_table",
    "decision_calibration_error",
    "expected_calibration_error",
    "fit_temperature",
    "negative_log_likelihood",
    "pick_threshold",
    "softmax",
]

_EPS = 1e-7
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(10))
"""Abstain thresholds 0.0, 0.1, …, 0.9 of the coverage table."""


def _check(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ParameterError(f"need probs (n, k) and labels (n,), got {p.shape} and {y.shape}")
    if p.shape[0] == 0:
        raise ParameterError("no samples")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ParameterError("labels out of range")
    return p, y


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax along the last axis of ``logits`` ``(..., k)``, in their dtype (the row's
    maximum subtracted first, so large logits do not overflow)."""
    z = np.asarray(logits)
    exp = np.exp(z - z.max(axis=-1, keepdims=True))
    out: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return out


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities ``(n, k)`` as ``softmax(log(p) / temperature)``; float32 ``(n, k)``.

    ``log(p)`` equals the logits up to a per-row constant, so this is temperature
    scaling of the logits. ``temperature > 1`` softens, ``< 1`` sharpens.
    """
    if not temperature > 0:
        raise ParameterError(f"temperature must be positive, got {temperature}")
    logits = np.log(np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0)) / temperature
    out: np.ndarray = softmax(logits).astype(np.float32)
    return out


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) of ``labels`` ``(n,)`` under ``probs`` ``(n, k)``."""
    p, y = _check(probs, labels)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], _EPS, 1.0))))


def fit_temperature(
    probs: np.ndarray, labels: np.ndarray, *, bounds: tuple[float, float] = (0.05, 20.0)
) -> float:
    """Temperature minimising the NLL of held-out ``probs`` ``(n, k)`` against ``labels``."""
    # Imported here: scipy.optimize costs ~0.4 s to import, and every process that loads
    # a model imports this module, while only training fits a temperature.
    from scipy.optimize import minimize_scalar

    p, y = _check(probs, labels)

    def nll(log_t: float) -> float:
        return negative_log_likelihood(apply_temperature(p, float(np.exp(log_t))), y)

    result = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 15) -> float:
    """ECE: bin samples by top probability into ``n_bins`` equal-width bins over (0, 1];
    sum over bins of (share of samples) × |accuracy − mean confidence|."""
    p, y = _check(probs, labels)
    return confidence_calibration_error(p.max(axis=1), p.argmax(axis=1) == y, n_bins=n_bins)


def decision_calibration_error(
    probs: np.ndarray, labels: np.ndarray, decision: Decision, *, n_bins: int = 15
) -> float:
    """ECE of what the catalogue stores: each row's decided label under ``decision`` and
    its evidence (the window's ``confidence``), against ``labels``
    (:func:`tagger.decision.decide`; the arg-max rule gives :func:`expected_calibration_error`)."""
    p, y = _check(probs, labels)
    chosen, evidence = decide(p, decision)
    return confidence_calibration_error(evidence, chosen == y, n_bins=n_bins)


def confidence_calibration_error(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 15) -> float:
    """ECE of stated ``confidence`` ``(n,)`` in [0, 1] against ``correct`` ``(n,)`` bool:
    equal-width bins over (0, 1] (a confidence of 0 in the first), sum over bins of
    (share of samples) × |accuracy − mean confidence|."""
    if n_bins <= 0:
        raise ParameterError("n_bins must be positive")
    confidence = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    if confidence.shape != right.shape or confidence.ndim != 1:
        raise ParameterError(f"confidence {confidence.shape} and correct {right.shape} must be (n,)")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            ece += members.mean() * abs(right[members].mean() - confidence[members].mean())
    return float(ece)


def coverage_table(
    probs: np.ndarray, labels: np.ndarray, *, thresholds: Sequence[float] = DEFAULT_THRESHOLDS
) -> list[dict[str, float]]:
    """For each threshold: ``coverage`` (share with top probability >= threshold) and
    ``accuracy`` over those kept (NaN when none is kept)."""
    p, y = _check(probs, labels)
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    rows = []
    for threshold in thresholds:
        kept = confidence >= threshold
        accuracy = float(correct[kept].mean()) if kept.any() else float("nan")
        rows.append({"threshold": float(threshold), "coverage": float(kept.mean()), "accuracy": accuracy})
    return rows


def pick_threshold(table: Sequence[dict[str, float]], *, min_coverage: float = 0.8) -> float:
    """Highest threshold of ``table`` (from :func:`coverage_table`) keeping at least
    ``min_coverage`` of the samples; 0.0 when none does."""
    eligible = [row["threshold"] for row in table if row["coverage"] >= min_coverage]
    return max(eligible, default=0.0)
