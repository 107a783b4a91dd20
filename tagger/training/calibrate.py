"""Calibration of the network from its out-of-fold predictions: temperature, ECE before and
after, and the abstain threshold written to the model card.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tagger.calibration import (
    apply_temperature,
    coverage_table,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    pick_threshold,
)
from tagger.errors import DatasetError
from tagger.training.crossval import ModelRow
from tagger.training.dataset import ClipSet

__all__ = ["calibrate"]


def calibrate(clips: ClipSet, row: ModelRow, *, min_coverage: float = 0.8) -> dict[str, Any]:
    """Temperature, ECE before/after and abstain threshold from out-of-fold speech windows."""
    if row.window_probs is None:
        raise DatasetError("calibration needs per-window out-of-fold predictions")
    speech = clips.is_speech if clips.is_speech.any() else np.ones_like(clips.is_speech)
    probs = row.window_probs[speech]
    labels = clips.window_labels()[speech]
    temperature = fit_temperature(probs, labels)
    calibrated = apply_temperature(probs, temperature)
    table = coverage_table(calibrated, labels)
    return {
        "temperature": temperature,
        "fitted_on": "out-of-fold speech windows of the 5-fold speaker-grouped CV",
        "n_windows": int(labels.size),
        "ece_before": expected_calibration_error(probs, labels),
        "ece_after": expected_calibration_error(calibrated, labels),
        "nll_before": negative_log_likelihood(probs, labels),
        "nll_after": negative_log_likelihood(calibrated, labels),
        "ece_bins": 15,
        "coverage_table": table,
        "abstain_threshold": pick_threshold(table, min_coverage=min_coverage),
        "abstain_min_coverage": min_coverage,
    }
