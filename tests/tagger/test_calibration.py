"""Calibration: temperature scaling, ECE, coverage table and threshold choice."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.calibration import (
    apply_temperature,
    confidence_calibration_error,
    coverage_table,
    decision_calibration_error,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    pick_threshold,
    softmax,
)
from tagger.decision import ARGMAX, Decision
from tagger.errors import ParameterError


def _overconfident(n: int = 2000, k: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits with signal whose softmax is sharpened 4x: overconfident probabilities."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=n)
    logits = rng.normal(0.0, 1.0, size=(n, k))
    logits[np.arange(n), labels] += 1.5
    sharp = 4.0 * logits
    probs = np.exp(sharp - sharp.max(axis=1, keepdims=True))
    return probs / probs.sum(axis=1, keepdims=True), labels


def test_temperature_fit_lowers_nll_and_ece_on_overconfident_set() -> None:
    probs, labels = _overconfident()
    temperature = fit_temperature(probs, labels)
    calibrated = apply_temperature(probs, temperature)
    assert temperature > 2.0  # undoes most of the 4x sharpening
    assert negative_log_likelihood(calibrated, labels) < negative_log_likelihood(probs, labels)
    assert expected_calibration_error(calibrated, labels) < expected_calibration_error(probs, labels)


def test_apply_temperature_keeps_argmax_and_rows_sum_to_one() -> None:
    probs, _ = _overconfident(n=50)
    for temperature in (0.5, 1.0, 3.0):
        out = apply_temperature(probs, temperature)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(out.argmax(axis=1), probs.argmax(axis=1))
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs, atol=1e-5)
    with pytest.raises(ParameterError):
        apply_temperature(probs, 0.0)


def test_ece_known_case() -> None:
    # Four samples at confidence 0.9 (bin 14), three correct: |0.75 - 0.9| = 0.15, all in
    # one bin, so ECE = 0.15. Two at 0.6 both correct add |1 - 0.6| with weight 2/6.
    probs = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 0])
    expected = (4 / 6) * 0.15 + (2 / 6) * 0.4
    assert expected_calibration_error(probs, labels, n_bins=15) == pytest.approx(expected)
    perfect = np.eye(3)[[0, 1, 2]]
    assert expected_calibration_error(perfect, np.array([0, 1, 2])) == pytest.approx(0.0)


def test_softmax_keeps_dtype_and_does_not_overflow() -> None:
    z = np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), -np.inf]], dtype=np.float32)
    p = softmax(z)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], rtol=1e-6)


def test_decision_ece_scores_the_decided_label_and_its_evidence() -> None:
    # Neutral 0.3 + calm 0.2 = 0.5 beats happy's 0.4 under the group rule: label neutral,
    # evidence 0.5. Two such rows, one truly neutral: accuracy 0.5 at 0.5, ECE 0. The
    # arg-max says happy at 0.4 and is wrong on both: ECE 0.4.
    row = [0.3, 0.2, 0.4, 0.1, 0.0, 0.0, 0.0, 0.0]
    probs, labels = np.array([row, row]), np.array([0, 3])
    group = Decision("neutral_group", neutral_weight=1.0, calm_weight=1.0)
    assert decision_calibration_error(probs, labels, group) == pytest.approx(0.0)
    assert decision_calibration_error(probs, labels, ARGMAX) == pytest.approx(0.4)
    assert expected_calibration_error(probs, labels) == pytest.approx(0.4)
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(8), size=200)
    y = rng.integers(0, 8, size=200)
    assert decision_calibration_error(p, y, ARGMAX) == pytest.approx(expected_calibration_error(p, y))
    with pytest.raises(ParameterError):
        confidence_calibration_error(np.ones(3), np.ones(2, dtype=bool))


def test_coverage_table_and_threshold() -> None:
    probs = np.array([[0.95, 0.05], [0.75, 0.25], [0.55, 0.45], [0.35, 0.65]])
    labels = np.array([0, 0, 1, 1])
    table = coverage_table(probs, labels, thresholds=[0.0, 0.6, 0.7, 0.9])
    assert [row["coverage"] for row in table] == [1.0, 0.75, 0.5, 0.25]
    assert table[0]["accuracy"] == pytest.approx(0.75)
    assert table[1]["accuracy"] == pytest.approx(1.0)
    assert pick_threshold(table, min_coverage=0.75) == 0.6
    assert pick_threshold(table, min_coverage=1.0) == 0.0


def test_bad_shapes_raise_config_error() -> None:
    with pytest.raises(ParameterError):
        expected_calibration_error(np.ones((3, 2)) / 2, np.array([0, 1]))
    with pytest.raises(ParameterError):
        fit_temperature(np.ones((2, 2)) / 2, np.array([0, 5]))
