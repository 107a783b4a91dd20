"""The network inputs of a window batch: one builder, :func:`window_inputs`, for training
and inference. ``melscal`` (:func:`mel_scalar_steps`: log-mel and scalar frame features in
40 ms steps), ``melscal_rel`` (:func:`level_free_mel_scalar_steps`: the same relative to
the window's own speech level), ``logmel``, ``frames`` and ``features``. Pure numpy.

``melscal``/``melscal_rel`` are the input names stored in model cards (``input.name``) and
in model kinds (``melscal_cnn``): a format tag that shipped models are loaded by, kept as
it is; the functions that build them carry descriptive names."""

from __future__ import annotations

from typing import Literal

import numpy as np

from tagger.errors import ModelError
from tagger.features import SILENCE_DB, FeatureConfig, FrameColumns

__all__ = [
    "ACTIVE_RANGE_DB",
    "LEVEL_RANGE_DB",
    "MELSCAL_POOL",
    "VOICED_RANGE_DB",
    "InputName",
    "level_free_mel_scalar_steps",
    "mel_scalar_steps",
    "window_inputs",
    "window_level_db",
]

InputName = Literal["melscal", "melscal_rel", "logmel", "frames", "features", "mfcc40", "scene_map"]


MELSCAL_POOL = 4
"""Frames averaged into one ``melscal`` step: 4 × 10 ms = 40 ms."""


def mel_scalar_steps(frames: np.ndarray) -> np.ndarray:
    """The ``melscal`` input of windows of frame rows ``(n, t, 92)`` -> ``(n, t // 4, 72)``
    float32: every 4 consecutive frames averaged (40 ms steps; ``t`` must divide by 4).
    Columns: 64 log-mel dB, 7 scalars (rms dB, zcr, centroid, bandwidth, roll-off,
    flatness, voicing), log f0.

    MFCCs are dropped: they are a linear map of the log-mel columns, and keeping them
    cost 4 points of speaker-independent accuracy (docs/model/experiments.md). f0 in Hz
    becomes log f0, 0 on unvoiced frames, before averaging.
    """
    cols = FrameColumns(FeatureConfig())
    x = _frame_rows(frames, cols)
    return _pool(np.concatenate([x[..., cols.logmel], x[..., cols.scalars], _log_f0(x, cols)], axis=-1))


LEVEL_RANGE_DB = 50.0
"""``melscal_rel`` keeps levels down to this far below the window's speech level."""

ACTIVE_RANGE_DB = 30.0
"""Frames within this much of a window's loudest frame set its reference level."""

VOICED_RANGE_DB = 15.0
"""``melscal_rel`` keeps voicing and f0 of frames down to this far below the reference level."""


def level_free_mel_scalar_steps(frames: np.ndarray) -> np.ndarray:
    """:func:`mel_scalar_steps` with the window's level removed: ``(n, t, 92)`` -> ``(n, t // 4, 72)``
    float32, the same columns, unchanged by a gain that leaves the window unclipped and
    above -80 dBFS.

    A window's reference level is the mean ``rms_db`` of its active frames (those within
    :data:`ACTIVE_RANGE_DB` of its loudest frame); the log-mel and ``rms_db`` columns
    become dB relative to it, floored at ``-LEVEL_RANGE_DB`` (digital silence too), so
    nothing below the floor can move with the gain. Spectral shape, voicing and f0 are
    level-free already; they are kept only within :data:`VOICED_RANGE_DB` of the reference
    (the shipped model was trained so, when the front end dropped voicing below -70 dBFS).
    The whole input is level-free while the window's level (:func:`window_level_db`)
    stays above -80 dBFS, where the front end's floor of mel power
    (:data:`tagger.features.SILENCE_DB`, -130 dB) meets ours. What the shipped ``melscal`` model
    took from absolute level (RAVDESS's angry clips are its loudest) was a recording-level
    cue that does not transfer to soundtracks ~18 dB louder (issue #14).
    """
    cols = FrameColumns(FeatureConfig())
    x = _frame_rows(frames, cols)
    rms_db = x[..., cols.rms_db]
    reference = window_level_db(x)

    def relative(db: np.ndarray) -> np.ndarray:
        shifted: np.ndarray = np.subtract(db, reference[:, None, None], dtype=np.float32)
        np.maximum(shifted, np.float32(-LEVEL_RANGE_DB), out=shifted)
        np.copyto(shifted, np.float32(-LEVEL_RANGE_DB), where=db <= SILENCE_DB + 0.01)
        return shifted

    voiced = (rms_db >= reference[:, None] - VOICED_RANGE_DB)[..., None]
    scalars = x[..., cols.scalars]
    # Pooled column group by column group (the same sums as pooling the whole row; the
    # groups are 4x smaller once pooled, so the concatenation is cheap).
    return np.concatenate(
        [
            _pool(relative(x[..., cols.logmel])),
            _pool(relative(scalars[..., :1])),
            _pool(scalars[..., 1:-1]),
            _pool(np.where(voiced, scalars[..., -1:], np.float32(0.0))),
            _pool(np.where(voiced, _log_f0(x, cols), np.float32(0.0))),
        ],
        axis=-1,
    )


def window_level_db(frames: np.ndarray) -> np.ndarray:
    """Reference level of windows of frame rows ``(n, t, 92)`` -> ``(n,)`` float32, dBFS: the
    mean ``rms_db`` of the frames within :data:`ACTIVE_RANGE_DB` of the window's loudest.
    A gain of ``g`` dB moves it by ``g`` (above digital silence)."""
    cols = FrameColumns(FeatureConfig())
    rms_db = np.asarray(frames, dtype=np.float32)[..., cols.rms_db]
    active = rms_db >= rms_db.max(axis=1, keepdims=True) - ACTIVE_RANGE_DB
    level: np.ndarray = ((rms_db * active).sum(axis=1) / np.maximum(active.sum(axis=1), 1)).astype(np.float32)
    return level


def _frame_rows(frames: np.ndarray, cols: FrameColumns) -> np.ndarray:
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim != 3 or x.shape[-1] != cols.n_columns or x.shape[1] % MELSCAL_POOL:
        raise ModelError(f"need frame rows (n, t % {MELSCAL_POOL} == 0, {cols.n_columns}), got {x.shape}")
    return x


def _log_f0(x: np.ndarray, cols: FrameColumns) -> np.ndarray:
    f0 = x[..., cols.f0 : cols.f0 + 1]
    return np.where(f0 > 0, np.log(np.maximum(f0, 1.0)), 0.0).astype(np.float32)


def _pool(rows: np.ndarray) -> np.ndarray:
    """Frame rows ``(n, t, c)`` averaged in groups of :data:`MELSCAL_POOL` -> ``(n, t // 4, c)``."""
    # Strided sums in order, then / 4: what ``reshape(n, t // 4, 4, c).mean(axis=2)`` does
    # in float32, bit for bit, without its slow reduction over a 4-long axis.
    total = rows[:, 0::MELSCAL_POOL].astype(np.float32)
    for offset in range(1, MELSCAL_POOL):
        total += rows[:, offset::MELSCAL_POOL]
    pooled: np.ndarray = total / np.float32(MELSCAL_POOL)
    return pooled


def window_inputs(
    input_name: str, *, frames: np.ndarray, features: np.ndarray, tail_logits: np.ndarray | None = None
) -> np.ndarray:
    """The model input named ``input_name`` of windows with frame rows ``frames``
    ``(n, 300, 92)`` and aggregates ``features`` ``(n, 161)``: ``melscal`` or ``melscal_rel`` ``(n, 75, 72)``,
    ``logmel`` ``(n, 300, 64)``, ``frames`` ``(n, 300, 92)`` or ``features`` ``(n, 161)``;
    ``scene_map`` (a tail on the scene trunk's map, run by the front end): its pooled
    window logits ``tail_logits`` ``(n, 8)``.
    Training and inference both build inputs here, so they cannot drift apart."""
    if input_name == "scene_map":
        if (
            tail_logits is None
            or tail_logits.ndim != 2
            or tail_logits.shape[0] != frames.shape[0]
            or not tail_logits.shape[1]
        ):
            raise ModelError(
                "a scene_map model reads the logits its tail gave in the front end: analyse with "
                "tagger.pipeline.frontend_for(classifier, config)"
            )
        return np.ascontiguousarray(tail_logits, dtype=np.float32)
    if input_name == "melscal":
        return mel_scalar_steps(frames)
    if input_name == "melscal_rel":
        return level_free_mel_scalar_steps(frames)
    if input_name == "logmel":
        return np.ascontiguousarray(frames[:, :, : FeatureConfig().n_mels], dtype=np.float32)
    if input_name == "frames":
        return np.ascontiguousarray(frames, dtype=np.float32)
    if input_name == "features":
        return np.ascontiguousarray(features, dtype=np.float32)
    raise ModelError(f"a {input_name!r} model cannot read window batches")
