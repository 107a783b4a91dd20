"""Deterministic unit rows for tests and benchmarks of the catalogue (no audio needed)."""

from __future__ import annotations

import numpy as np

from catalog.rows import unit_rows
from catalog.schema import EMOTIONS
from catalog.units import UnitRows

__all__ = ["make_unit"]


def make_unit(
    index: int, *, n_windows: int = 20, model_version: str = "m-000000000001", track: int = 0
) -> UnitRows:
    """Unit ``index``: windows every second, seeded probabilities, two segments."""
    rng = np.random.default_rng(index)
    probs = rng.dirichlet(np.ones(len(EMOTIONS)), size=n_windows).astype(np.float32)
    start = np.arange(n_windows, dtype=np.float64)
    content = rng.choice(["speech", "speech", "speech", "speech", "music", "other"], size=n_windows)
    is_speech = content == "speech"
    labels = [
        EMOTIONS[int(i)] if s else "no_speech" for i, s in zip(probs.argmax(axis=1), is_speech, strict=True)
    ]
    half = n_windows / 2
    arousal = np.where(is_speech, rng.uniform(-1, 1, n_windows), np.nan).astype(np.float32)
    valence = np.where(is_speech, rng.uniform(-1, 1, n_windows), np.nan).astype(np.float32)
    return unit_rows(
        video_id=f"video-{index:06d}",
        track_index=track,
        model_version=model_version,
        start_s=start,
        end_s=start + 3.0,
        is_speech=is_speech,
        content=content.tolist(),
        labels=labels,
        probs=probs,
        segments=[
            {
                "start_s": 0.0,
                "end_s": half,
                "label": "happy",
                "mean_confidence": 0.5,
                "n_windows": n_windows // 2,
                "mean_arousal": 0.25,
                "mean_valence": 0.5,
            },
            {
                "start_s": half,
                "end_s": n_windows + 2.0,
                "label": "sad",
                "mean_confidence": 0.6,
                "n_windows": n_windows - n_windows // 2,
            },
        ],
        profile={
            "speech_s": float(is_speech.sum()),
            "shares": dict.fromkeys(EMOTIONS, 1 / 8),
            "dominant_label": "happy",
            "mean_arousal": float(np.nanmean(arousal)) if is_speech.any() else None,
            "mean_valence": float(np.nanmean(valence)) if is_speech.any() else None,
        },
        arousal=arousal,
        valence=valence,
    )
