"""Build catalogue rows from plain arrays and mappings (no audio knowledge here)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from catalog.errors import CatalogError
from catalog.paths import display_path, text_of
from catalog.schema import CONTENT_CLASSES, EMOTIONS
from catalog.units import UnitRows

__all__ = ["unit_rows", "video_row", "video_seen_again"]


def video_row(
    *,
    video_id: str,
    path: str,
    size_bytes: int,
    mtime: float,
    status: str,
    seen_at: datetime,
    error: str | None = None,
    duration_s: float | None = None,
    container: str | None = None,
    n_audio_tracks: int | None = None,
) -> dict[str, Any]:
    """One ``videos`` row for the file at ``path`` (a str as :func:`os.fsdecode` gives it,
    whatever bytes the name holds), seen at ``seen_at``; ``mtime`` in epoch seconds."""
    return {
        "video_id": video_id,
        "path": display_path(path),
        "path_bytes": os.fsencode(path),
        "size_bytes": size_bytes,
        "mtime": datetime.fromtimestamp(mtime, tz=UTC),
        "duration_s": duration_s,
        "container": container,
        "n_audio_tracks": n_audio_tracks,
        "status": status,
        "error": None if error is None else text_of(error),
        "first_seen_at": seen_at,
        "last_seen_at": seen_at,
    }


def video_seen_again(
    row: Mapping[str, Any],
    *,
    path: str,
    size_bytes: int,
    mtime: float,
    seen_at: datetime,
    status: str | None = None,
) -> dict[str, Any]:
    """A known video's row (what was learnt of its content is kept) for the file at
    ``path`` seen at ``seen_at``, with ``status`` when given."""
    return {
        **row,
        "path": display_path(path),
        "path_bytes": os.fsencode(path),
        "size_bytes": size_bytes,
        "mtime": datetime.fromtimestamp(mtime, tz=UTC),
        "status": row["status"] if status is None else status,
        "first_seen_at": seen_at,
        "last_seen_at": seen_at,
    }


def unit_rows(
    *,
    video_id: str,
    track_index: int,
    model_version: str,
    start_s: np.ndarray,
    end_s: np.ndarray,
    is_speech: np.ndarray,
    labels: Sequence[str],
    probs: np.ndarray,
    segments: Sequence[Mapping[str, Any]],
    profile: Mapping[str, Any],
    content: Sequence[str] | None = None,
    arousal: np.ndarray | None = None,
    valence: np.ndarray | None = None,
    confidence: np.ndarray | None = None,
) -> UnitRows:
    """Rows of one unit.

    ``start_s``/``end_s``/``is_speech``/``labels``/``content``: ``(n_windows,)``;
    ``content`` (``speech``/``music``/``other``) defaults to ``speech`` where
    ``is_speech`` and ``other`` elsewhere, and must agree with it; ``probs``:
    ``(n_windows, 8)`` in :data:`catalog.schema.EMOTIONS` order. ``segments``: mappings
    with ``start_s, end_s, label, mean_confidence, n_windows`` (and optionally
    ``mean_arousal``, ``mean_valence``); ``profile``: mapping with ``speech_s``, ``shares``
    (emotion -> share) and ``dominant_label`` (and optionally ``mean_arousal``,
    ``mean_valence``). ``arousal``/``valence``: ``(n_windows,)``, NaN (stored as null)
    where a window has none; absent, all null. ``confidence``: ``(n_windows,)``, the
    evidence of each window's label (the model's decision rule); absent, the top
    probability.
    """
    probs = np.asarray(probs, dtype=np.float32)
    n = probs.shape[0]
    if probs.ndim != 2 or probs.shape[1] != len(EMOTIONS):
        raise CatalogError(f"probs must be (n_windows, {len(EMOTIONS)}), got {probs.shape}")
    if not (len(start_s) == len(end_s) == len(is_speech) == len(labels) == n) or (
        confidence is not None and len(confidence) != n
    ):
        raise CatalogError("window arrays differ in length")
    speech = np.asarray(is_speech, dtype=bool)
    if content is None:
        content = ["speech" if s else "other" for s in speech]
    if len(content) != n:
        raise CatalogError("window arrays differ in length")
    content_text = [str(x) for x in content]
    if any(c not in CONTENT_CLASSES for c in content_text):
        raise CatalogError(f"content must be one of {CONTENT_CLASSES}")
    if not np.array_equal(np.asarray(content_text) == "speech", speech):
        raise CatalogError("is_speech must be content == 'speech'")
    key = {
        "video_id": pa.array([video_id] * n, pa.string()),
        "track_index": pa.array([track_index] * n, pa.int32()),
        "model_version": pa.array([model_version] * n, pa.string()),
    }
    windows = pa.table(
        {
            **key,
            "start_s": pa.array(np.asarray(start_s, dtype=np.float64)),
            "end_s": pa.array(np.asarray(end_s, dtype=np.float64)),
            "is_speech": pa.array(speech),
            "content": pa.array(content_text, pa.string()),
            "label": pa.array([str(x) for x in labels], pa.string()),
            "confidence": pa.array(
                np.asarray(confidence, dtype=np.float32)
                if confidence is not None
                else (probs.max(axis=1) if n else np.zeros(0, np.float32))
            ),
            **{f"p_{name}": pa.array(probs[:, i]) for i, name in enumerate(EMOTIONS)},
            "arousal": _nullable_floats(arousal, n),
            "valence": _nullable_floats(valence, n),
        }
    )
    m = len(segments)
    segment_table = pa.table(
        {
            "video_id": pa.array([video_id] * m, pa.string()),
            "track_index": pa.array([track_index] * m, pa.int32()),
            "model_version": pa.array([model_version] * m, pa.string()),
            "start_s": pa.array([float(s["start_s"]) for s in segments], pa.float64()),
            "end_s": pa.array([float(s["end_s"]) for s in segments], pa.float64()),
            "label": pa.array([str(s["label"]) for s in segments], pa.string()),
            "mean_confidence": pa.array([float(s["mean_confidence"]) for s in segments], pa.float32()),
            "n_windows": pa.array([int(s["n_windows"]) for s in segments], pa.int32()),
            "mean_arousal": pa.array([s.get("mean_arousal") for s in segments], pa.float32()),
            "mean_valence": pa.array([s.get("mean_valence") for s in segments], pa.float32()),
        }
    )
    shares = profile["shares"]
    profile_table = pa.table(
        {
            "video_id": pa.array([video_id], pa.string()),
            "track_index": pa.array([track_index], pa.int32()),
            "model_version": pa.array([model_version], pa.string()),
            "speech_s": pa.array([float(profile["speech_s"])], pa.float64()),
            **{f"share_{name}": pa.array([float(shares[name])], pa.float32()) for name in EMOTIONS},
            "dominant_label": pa.array([str(profile["dominant_label"])], pa.string()),
            "mean_arousal": pa.array([profile.get("mean_arousal")], pa.float32()),
            "mean_valence": pa.array([profile.get("mean_valence")], pa.float32()),
        }
    )
    return UnitRows(
        video_id=video_id,
        track_index=track_index,
        model_version=model_version,
        windows=windows,
        segments=segment_table,
        profile=profile_table,
    )


def _nullable_floats(values: np.ndarray | None, n: int) -> pa.Array:
    """float32 column of ``n`` values, NaN as null; all null when ``values`` is None."""
    if values is None:
        return pa.nulls(n, pa.float32())
    array = np.asarray(values, dtype=np.float32)
    if array.shape != (n,):
        raise CatalogError(f"expected {n} values, got shape {array.shape}")
    return pa.array(array, mask=np.isnan(array), type=pa.float32())
