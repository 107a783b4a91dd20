"""Train and cross-validate the emotion model from a manifest of labelled clips.

Clips are cut into windows exactly as inference cuts them (:func:`analyse_signal`);
every window carries its clip's label. Evaluation is speaker-grouped cross-validation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tagger.constants import EMOTIONS, SAMPLE_RATE
from tagger.errors import ConfigError
from tagger.frontend import FrontEndConfig, analyse_signal

__all__ = [
    "ClipSet",
    "TrainConfig",
    "TrainResult",
    "extract_clips",
    "read_folds",
    "read_manifest",
    "train",
]

PAPER_N_MFCC = 40


@dataclass(frozen=True)
class ClipSet:
    """Windows of labelled clips, plus per-clip data.

    Per clip (``n_clips``): ``paths``, ``labels`` int (index into EMOTIONS), ``actors`` int
    (-1 when unknown), ``mfcc40`` ``(n_clips, 40)`` float32 (the paper's MFCC means).
    Per window (``n_windows``): ``clip`` int (index of its clip), ``features``
    ``(n_windows, 161)`` float32, ``frames`` ``(n_windows, 300, 92)`` float32 (the
    front end's frame features: 64 log-mel dB, 20 MFCC, 8 scalars), ``is_speech`` bool.
    """

    paths: list[str]
    labels: np.ndarray
    actors: np.ndarray
    mfcc40: np.ndarray
    clip: np.ndarray
    features: np.ndarray
    frames: np.ndarray
    is_speech: np.ndarray

    @property
    def n_clips(self) -> int:
        return len(self.paths)

    def window_labels(self) -> np.ndarray:
        """``(n_windows,)`` int: each window's clip label."""
        return np.asarray(self.labels[self.clip], dtype=np.int64)

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {"paths": np.array(self.paths), **_arrays(self)}
        np.savez(path, **arrays)

    @staticmethod
    def load(path: Path) -> ClipSet:
        with np.load(path) as npz:
            return ClipSet(
                paths=[str(p) for p in npz["paths"]],
                **{k: npz[k] for k in ClipSet.__dataclass_fields__ if k != "paths"},
            )


def _arrays(clips: ClipSet) -> dict[str, np.ndarray]:
    return {k: getattr(clips, k) for k in ClipSet.__dataclass_fields__ if k != "paths"}


def read_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Manifest TSV -> frame with ``path`` (absolute), ``emotion``, ``label`` (int), ``actor``.

    ``path`` in the file is relative to the manifest's folder; ``actor`` is optional
    (-1 when absent). Unknown emotion names raise :class:`ConfigError`.
    """
    manifest = Path(path)
    if not manifest.is_file():
        raise ConfigError(f"manifest not found: {manifest}")
    frame = pd.read_csv(manifest, sep="\t", dtype={"path": str, "emotion": str})
    missing = {"path", "emotion"} - set(frame.columns)
    if missing:
        raise ConfigError(f"manifest {manifest} lacks column(s) {sorted(missing)}")
    unknown = sorted(set(frame["emotion"]) - set(EMOTIONS))
    if unknown:
        raise ConfigError(f"manifest {manifest} has unknown emotion(s) {unknown}")
    root = manifest.resolve().parent
    out = pd.DataFrame(
        {
            "path": [str(root / p) for p in frame["path"]],
            "emotion": frame["emotion"].astype(str),
            "label": [EMOTIONS.index(e) for e in frame["emotion"]],
            "actor": frame["actor"].astype(int) if "actor" in frame.columns else -1,
        }
    )
    return out


def read_folds(path: str | os.PathLike[str]) -> dict[int, int]:
    """Folds TSV (``actor``, ``fold``) -> ``{actor: fold}``."""
    folds_path = Path(path)
    if not folds_path.is_file():
        raise ConfigError(f"folds file not found: {folds_path}")
    frame = pd.read_csv(folds_path, sep="\t")
    if not {"actor", "fold"} <= set(frame.columns):
        raise ConfigError(f"folds file {folds_path} needs columns actor and fold")
    return {int(a): int(f) for a, f in zip(frame["actor"], frame["fold"], strict=True)}


def extract_clips(
    manifest: pd.DataFrame,
    *,
    config: FrontEndConfig = FrontEndConfig(),
    drop_duplicates: bool = True,
) -> ClipSet:
    """Decode every clip of ``manifest`` (from :func:`read_manifest`) and cut its windows.

    Exact duplicates (identical decoded samples) are kept once when ``drop_duplicates``.
    """
    import librosa
    import soundfile as sf

    paths: list[str] = []
    labels: list[int] = []
    actors: list[int] = []
    mfcc40: list[np.ndarray] = []
    clip_of: list[np.ndarray] = []
    features: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    speech: list[np.ndarray] = []
    seen: set[str] = set()
    for path_value, label_value, actor_value in zip(
        manifest["path"], manifest["label"], manifest["actor"], strict=True
    ):
        try:
            samples, rate = sf.read(str(path_value), dtype="float32", always_2d=True)
        except (OSError, RuntimeError) as exc:
            raise ConfigError(f"cannot read {path_value}: {exc}") from exc
        mono = samples.mean(axis=1)
        if rate != SAMPLE_RATE:
            mono = librosa.resample(mono, orig_sr=rate, target_sr=SAMPLE_RATE).astype(np.float32)
        digest = hashlib.sha256(mono.tobytes()).hexdigest()
        if drop_duplicates and digest in seen:
            continue
        seen.add(digest)
        batch = analyse_signal(mono, sample_rate=SAMPLE_RATE, config=config)
        if batch is None:
            continue
        index = len(paths)
        paths.append(str(path_value))
        labels.append(int(label_value))
        actors.append(int(actor_value))
        mfcc40.append(paper_mfcc(mono))
        clip_of.append(np.full(len(batch), index, dtype=np.int64))
        features.append(batch.features)
        frames.append(batch.frames.astype(np.float32))
        speech.append(batch.is_speech)
    if not paths:
        raise ConfigError("manifest yielded no usable clips")
    return ClipSet(
        paths=paths,
        labels=np.array(labels, dtype=np.int64),
        actors=np.array(actors, dtype=np.int64),
        mfcc40=np.stack(mfcc40).astype(np.float32),
        clip=np.concatenate(clip_of),
        features=np.concatenate(features).astype(np.float32),
        frames=np.concatenate(frames),
        is_speech=np.concatenate(speech),
    )


def paper_mfcc(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The seed paper's clip descriptor: mean over time of 40 MFCCs, shape ``(40,)``."""
    import librosa

    mfcc = librosa.feature.mfcc(y=np.asarray(y, dtype=np.float32), sr=sample_rate, n_mfcc=40)
    return np.asarray(mfcc.mean(axis=1), dtype=np.float32)


# --------------------------------------------------------------------------- metrics


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1, UAR, per-class precision/recall/F1/support (classes present in
    ``y_true`` or ``y_pred``) and the 8×8 confusion matrix (rows: true, columns: predicted)."""
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


def clip_probabilities(clips: ClipSet, window_probs: np.ndarray) -> np.ndarray:
    """``(n_clips, k)``: mean window probability over each clip's speech windows (over all
    its windows when none is speech)."""
    out = np.zeros((clips.n_clips, window_probs.shape[1]), dtype=np.float32)
    for c in range(clips.n_clips):
        mine = clips.clip == c
        out[c] = clip_probability(window_probs[mine], clips.is_speech[mine])
    return out


def clip_probability(window_probs: np.ndarray, is_speech: np.ndarray) -> np.ndarray:
    """One clip's prediction ``(k,)`` float32: the mean of its window probabilities
    ``(n, k)`` over its speech windows ``is_speech`` ``(n,)``, over all when none is."""
    speech = np.asarray(is_speech, dtype=bool)
    chosen = window_probs[speech] if speech.any() else window_probs
    return np.asarray(chosen.mean(axis=0, dtype=np.float64), dtype=np.float32)


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe of a Keras model (``model``) or of the SVM baseline.

    ``epochs`` / ``batch_size`` / ``learning_rate`` / ``weight_decay`` (AdamW; Adam when
    0) for our models, the rate warmed up linearly from 1/25 over ``warmup_fraction`` of
    the steps, then cosine-decayed to 0; ``augment``
    applies SpecAugment-style masks, gain, noise mixing and time shifts to log-mel
    windows; ``class_weighting`` balances classes by inverse frequency;
    ``noise_copies`` noisy versions of every clip (pink, brown or white noise added to
    the waveform at ``snr_db`` uniform, re-analysed by the front end) replace the clean
    window in a random ``noisy_fraction`` of each epoch's windows. ``n_members``
    models with different seeds are averaged into one shipped model.
    """

    model: Any = None  # ModelConfig; Any keeps tagger.model lazily typed here
    epochs: int = 80
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.1
    augment: bool = True
    class_weighting: bool = True
    n_members: int = 3
    noise_copies: int = 2
    noisy_fraction: float = 0.5
    snr_db: tuple[float, float] = (0.0, 30.0)
    paper_epochs: int = 300
    paper_batch_size: int = 16
    paper_learning_rate: float = 1e-5

    def model_config(self) -> Any:
        from tagger.model import ModelConfig

        return self.model if self.model is not None else ModelConfig()


def _set_seeds(seed: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(seed)


def _class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return {i: float(w) for i, w in enumerate(weights)}


def augment_logmel(x: np.ndarray, rng: np.random.Generator, *, n_mels: int = 64) -> np.ndarray:
    """Randomly perturbed copy of windows of frame rows ``(n, frames, columns)`` whose
    first ``n_mels`` columns are log-mel dB: time shift (±1/6 window) and one time mask
    (≤ 2/15 of the window: 40 of 300 frames) on all columns; on the log-mel columns
    only: gain (±6 dB), noise mixed at 15–45 dB below the window peak (half of the
    windows) and one frequency mask (≤ 8 bands). Masks are filled with the window's column means."""
    n, n_frames, _ = x.shape
    floor = -100.0
    shifts = rng.integers(-n_frames // 6, n_frames // 6 + 1, size=n)
    index = (np.arange(n_frames)[None, :] - shifts[:, None]) % n_frames
    out = np.take_along_axis(x, index[:, :, None], axis=1)
    mel = out[:, :, :n_mels]
    gain = rng.uniform(-6.0, 6.0, size=(n, 1, 1)).astype(np.float32)
    mel = np.where(mel > floor + 1e-3, mel + gain, mel)
    noisy = np.flatnonzero(rng.random(n) < 0.5)
    if noisy.size:
        peak = mel[noisy].max(axis=(1, 2))
        level = peak - rng.uniform(15.0, 45.0, size=noisy.size)
        tilt = np.linspace(0.0, 1.0, n_mels)[None, :] * rng.uniform(-12.0, 6.0, size=(noisy.size, 1))
        noise = (level[:, None, None] + tilt[:, None, :]).astype(np.float32)
        # Fluctuation as a frame term plus a band term: cheap, and enough to vary the floor.
        noise = noise + rng.normal(0.0, 2.0, size=(noisy.size, n_frames, 1)).astype(np.float32)
        noise = noise + rng.normal(0.0, 2.0, size=(noisy.size, 1, n_mels)).astype(np.float32)
        mixed = mel[noisy]
        high = np.maximum(mixed, noise)
        mel[noisy] = high + 10.0 * np.log10(1.0 + 10.0 ** (-np.abs(mixed - noise) / 10.0))
    out[:, :, :n_mels] = mel
    fill = out.mean(axis=1)  # (n, columns)
    t_start = np.asarray(rng.integers(0, n_frames, size=(n,))).tolist()
    t_len = np.asarray(rng.integers(0, round(n_frames * 2 / 15) + 1, size=(n,))).tolist()
    f_start = np.asarray(rng.integers(0, n_mels, size=(n,))).tolist()
    f_len = np.asarray(rng.integers(0, 9, size=(n,))).tolist()
    for i in range(n):
        out[i, t_start[i] : t_start[i] + t_len[i]] = fill[i]
        f_stop = min(f_start[i] + f_len[i], n_mels)
        if f_stop > f_start[i]:
            out[i, :, f_start[i] : f_stop] = fill[i, f_start[i] : f_stop].mean()
    return out.astype(np.float32, copy=False)


def mix_noisy(
    x: np.ndarray, x_noisy: np.ndarray | None, rng: np.random.Generator, *, fraction: float
) -> np.ndarray:
    """``x`` with a random ``fraction`` of its windows replaced by one of their noisy
    versions ``x_noisy`` ``(copies, n, ...)`` (a copy of ``x`` either way)."""
    out = np.array(x, dtype=np.float32, copy=True)
    if x_noisy is None or len(x_noisy) == 0 or fraction <= 0:
        return out
    chosen = np.flatnonzero(rng.random(len(x)) < fraction)
    copies = rng.integers(0, len(x_noisy), size=chosen.size)
    out[chosen] = x_noisy[copies, chosen]
    return out


def add_noise(y: np.ndarray, rng: np.random.Generator, *, snr_db: tuple[float, float]) -> np.ndarray:
    """``y`` (mono, float32) plus pink, brown or white noise at an SNR drawn uniformly from
    ``snr_db`` (dB, relative to the RMS of samples above -60 dBFS), clipped to ±1."""
    n = y.size
    exponent = float(rng.choice([0.0, 1.0, 2.0]))  # white, pink, brown: power ∝ 1/f^exponent
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.maximum(np.arange(spectrum.size), 1) ** (exponent / 2)
    noise: np.ndarray = np.fft.irfft(spectrum, n=n)
    return mix_at_snr(y, noise, snr_db=float(rng.uniform(*snr_db)))


def mix_at_snr(y: np.ndarray, noise: np.ndarray, *, snr_db: float) -> np.ndarray:
    """``y + noise`` with ``noise`` (same length) scaled to ``snr_db`` below
    :func:`speech_level` of ``y``, clipped to ±1, float32."""
    unit = noise / (np.sqrt(np.mean(noise**2)) + 1e-12)
    mixed: np.ndarray = np.clip(y + unit * speech_level(y) / 10 ** (snr_db / 20), -1.0, 1.0)
    return mixed.astype(np.float32)


def speech_level(y: np.ndarray) -> float:
    """RMS of the samples of ``y`` above -60 dBFS (the reference level for SNRs); 1e-3 when
    none is."""
    loud = np.abs(y) > 1e-3
    return float(np.sqrt(np.mean(y[loud] ** 2))) if loud.any() else 1e-3


def noisy_inputs(
    clips: ClipSet,
    input_name: str,
    *,
    copies: int,
    snr_db: tuple[float, float],
    seed: int,
    config: FrontEndConfig = FrontEndConfig(),
) -> np.ndarray:
    """``(copies, n_windows, *input_shape)``: the model input of every window of
    ``clips`` after :func:`add_noise` on its clip's waveform (same windows, same order)."""
    import soundfile as sf

    from tagger.model import window_inputs

    rng = np.random.default_rng([seed, 7])
    per_copy: list[list[np.ndarray]] = [[] for _ in range(copies)]
    for index, path in enumerate(clips.paths):
        samples, rate = sf.read(path, dtype="float32", always_2d=True)
        mono = samples.mean(axis=1)
        if rate != SAMPLE_RATE:
            import librosa

            mono = librosa.resample(mono, orig_sr=rate, target_sr=SAMPLE_RATE).astype(np.float32)
        n_windows = int(np.count_nonzero(clips.clip == index))
        for k in range(copies):
            batch = analyse_signal(add_noise(mono, rng, snr_db=snr_db), config=config)
            if batch is None or len(batch) != n_windows:
                raise ConfigError(f"noisy copy of {path} does not cut into {n_windows} windows")
            per_copy[k].append(window_inputs(input_name, frames=batch.frames, features=batch.features))
    return np.stack([np.concatenate(parts) for parts in per_copy])


def training_noise(
    clips: ClipSet, config: TrainConfig, *, seed: int, cache: Path | None = None, log: Any = print
) -> np.ndarray | None:
    """The noisy copies of ``config`` (:func:`noisy_inputs`) for a sequence-input network,
    else ``None``; kept beside ``cache`` (``<cache>.noisy-<input>-<copies>-<seed>.npy``)."""
    input_name = config.model_config().input_name
    if not (config.augment and config.noise_copies > 0 and input_name in ("melscal", "logmel", "frames")):
        return None
    lo, hi = config.snr_db
    stored = None
    if cache is not None:
        stored = cache.with_name(
            f"{cache.stem}.noisy-{input_name}-{config.noise_copies}-{lo:g}-{hi:g}-{seed}.npy"
        )
        if stored.is_file():
            loaded: np.ndarray = np.load(stored)
            return loaded
    started = time.time()
    x_noisy = noisy_inputs(clips, input_name, copies=config.noise_copies, snr_db=config.snr_db, seed=seed)
    log(
        f"{config.noise_copies} noisy copies of every clip ({lo:g}–{hi:g} dB SNR) "
        f"in {time.time() - started:.0f} s"
    )
    if stored is not None:
        np.save(stored, x_noisy)
    return x_noisy


def fit_network(
    x: np.ndarray,
    y: np.ndarray,
    *,
    config: TrainConfig,
    seed: int,
    x_noisy: np.ndarray | None = None,
    verbose: int = 0,
) -> Any:
    """A trained Keras model (one member) on inputs ``x`` ``(n, *input_shape)`` and labels
    ``y`` ``(n,)``; its ``input_norm`` layer is adapted on ``x`` first. ``x_noisy``
    ``(copies, n, *input_shape)``: noisy versions of the same windows, drawn in place of
    ``x`` for ``config.noisy_fraction`` of each epoch's windows."""
    import keras

    from tagger.model import build_model

    _set_seeds(seed)
    mconfig = config.model_config()
    model = build_model(mconfig)
    norm_layers = [layer for layer in model.layers if layer.name == "input_norm"]
    for layer in norm_layers:
        layer.adapt(x)
    steps = max(1, int(np.ceil(len(y) / config.batch_size))) * config.epochs
    warmup = int(config.warmup_fraction * steps)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 25.0 if warmup else config.learning_rate,
        max(1, steps - warmup),
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    optimizer = (
        keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
        if config.weight_decay > 0
        else keras.optimizers.Adam(schedule)
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    weights = _class_weights(y, mconfig.n_classes) if config.class_weighting else None
    if config.augment and mconfig.input_name in ("melscal", "logmel", "frames"):
        from concurrent.futures import ThreadPoolExecutor

        # Each epoch's augmentation has its own generator, so results do not depend on
        # timing; the next epoch is prepared in a thread while this one trains.
        epoch_rngs = [np.random.default_rng([seed, e]) for e in range(config.epochs)]

        def epoch_inputs(rng: np.random.Generator) -> np.ndarray:
            return augment_logmel(mix_noisy(x, x_noisy, rng, fraction=config.noisy_fraction), rng)

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(epoch_inputs, epoch_rngs[0])
            for epoch in range(config.epochs):
                x_epoch = pending.result()
                if epoch + 1 < config.epochs:
                    pending = pool.submit(epoch_inputs, epoch_rngs[epoch + 1])
                model.fit(
                    x_epoch,
                    y,
                    batch_size=config.batch_size,
                    epochs=epoch + 1,
                    initial_epoch=epoch,
                    class_weight=weights,
                    shuffle=True,
                    verbose=verbose,
                )
    else:
        model.fit(
            x,
            y,
            batch_size=config.batch_size,
            epochs=config.epochs,
            class_weight=weights,
            shuffle=True,
            verbose=verbose,
        )
    return model


def fit_paper(x: np.ndarray, y: np.ndarray, *, config: TrainConfig, seed: int) -> Any:
    """The seed paper's model on clip MFCC means ``x`` ``(n, 40)``: Conv1D(64, 5) →
    Dropout → Dense(8) softmax, RMSprop lr 1e-5, no input normalisation (as published)."""
    import keras

    from tagger.model import ModelConfig, build_model

    _set_seeds(seed)
    model = build_model(ModelConfig(kind="paper_conv1d", input_shape=(x.shape[1],)))
    model.compile(
        optimizer=keras.optimizers.RMSprop(config.paper_learning_rate),
        loss="sparse_categorical_crossentropy",
        steps_per_execution=64,  # the model is tiny: amortise Keras' per-step overhead
    )
    import tensorflow as tf

    # All epochs in one pass over a reshuffled, repeated dataset: same updates as
    # ``paper_epochs`` epochs, without Keras' per-epoch overhead (it dominates here).
    n = x.shape[0]
    dataset = (
        tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y.astype(np.int64)))
        .shuffle(n, seed=seed, reshuffle_each_iteration=True)
        .batch(config.paper_batch_size)
        .repeat(config.paper_epochs)
    )
    model.fit(dataset, epochs=1, verbose=0)
    return model


def predict_network(model: Any, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Probabilities ``(n, k)`` float32 of a Keras model, in batches."""
    parts = [
        np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, x.shape[0], batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


def fit_svm(x: np.ndarray, y: np.ndarray, *, seed: int) -> Any:
    """Standardised RBF SVM with probability outputs over window aggregates ``(n, 161)``."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    svm = make_pipeline(
        StandardScaler(),
        CalibratedClassifierCV(
            SVC(C=10.0, gamma="scale", class_weight="balanced", random_state=seed),
            ensemble=False,
        ),
    )
    svm.fit(x, y)
    return svm


def _svm_probs(svm: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    probs = np.zeros((x.shape[0], n_classes), dtype=np.float32)
    probs[:, svm.classes_] = svm.predict_proba(x)
    return probs


def model_inputs(clips: ClipSet, input_name: str) -> np.ndarray:
    """Per-window model input of every window of ``clips`` (see
    :func:`tagger.model.window_inputs`, shared with inference)."""
    from tagger.model import window_inputs

    return window_inputs(input_name, frames=clips.frames, features=clips.features)


def _fit_members(
    x: np.ndarray, y: np.ndarray, *, config: TrainConfig, seed: int, x_noisy: np.ndarray | None = None
) -> list[Any]:
    return [
        fit_network(x, y, config=config, seed=seed + 1000 * m, x_noisy=x_noisy)
        for m in range(config.n_members)
    ]


# --------------------------------------------------------------------------- cross-validation


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


def clip_folds(clips: ClipSet, fold_of_actor: dict[int, int]) -> np.ndarray:
    """``(n_clips,)`` fold of each clip, from its actor; :class:`ConfigError` when an actor
    has no fold."""
    missing = sorted({int(a) for a in clips.actors} - set(fold_of_actor))
    if missing:
        raise ConfigError(f"actors without a fold: {missing}")
    return np.array([fold_of_actor[int(a)] for a in clips.actors], dtype=np.int64)


def cross_validate(
    clips: ClipSet,
    folds: np.ndarray,
    *,
    method: str,
    config: TrainConfig,
    seed: int = 0,
    x_noisy: np.ndarray | None = None,
    log: Any = print,
) -> ModelRow:
    """Out-of-fold predictions of ``method`` (``paper``, ``svm`` or ``network``) with
    clip folds ``folds`` ``(n_clips,)``: each fold is predicted by a model trained on
    the others, so no actor is in both. ``x_noisy``: noisy copies of the network's
    inputs (:func:`noisy_inputs`), used for training windows only."""
    n_classes = len(EMOTIONS)
    window_probs = np.zeros((len(clips.clip), n_classes), dtype=np.float32)
    clip_probs = np.zeros((clips.n_clips, n_classes), dtype=np.float32)
    y_windows = clips.window_labels()
    x = model_inputs(clips, config.model_config().input_name) if method == "network" else None
    for k in sorted(set(folds.tolist())):
        start = time.time()
        test_clips = folds == k
        train_actors = set(clips.actors[~test_clips].tolist())
        test_actors = set(clips.actors[test_clips].tolist())
        if train_actors & test_actors and -1 not in train_actors:
            raise ConfigError(f"fold {k}: actors {train_actors & test_actors} on both sides")
        if method == "paper":
            model = fit_paper(clips.mfcc40[~test_clips], clips.labels[~test_clips], config=config, seed=seed)
            clip_probs[test_clips] = predict_network(model, clips.mfcc40[test_clips])
        else:
            test_windows = test_clips[clips.clip]
            if method == "svm":
                svm = fit_svm(clips.features[~test_windows], y_windows[~test_windows], seed=seed)
                window_probs[test_windows] = _svm_probs(svm, clips.features[test_windows], n_classes)
            else:
                assert x is not None
                members = _fit_members(
                    x[~test_windows],
                    y_windows[~test_windows],
                    config=config,
                    seed=seed,
                    x_noisy=None if x_noisy is None else x_noisy[:, ~test_windows],
                )
                window_probs[test_windows] = np.mean(
                    [predict_network(m, x[test_windows]) for m in members], axis=0
                )
        log(f"  {method} fold {k}: {time.time() - start:.0f} s")
    row = ModelRow(
        name=method,
        split="speaker-grouped 5-fold",
        clip_probs=clip_probs,
        clip_mask=np.ones(clips.n_clips, dtype=bool),
        clip_fold=folds,
    )
    if method != "paper":
        row.window_probs = window_probs
        row.clip_probs = clip_probs_from(clips, window_probs)
    row.metrics = row_metrics(clips, row)
    return row


def clip_probs_from(clips: ClipSet, window_probs: np.ndarray) -> np.ndarray:
    return clip_probabilities(clips, window_probs)


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


# --------------------------------------------------------------------------- shipping


@dataclass
class TrainResult:
    """What :func:`train` produced: paths of the written files and the report dict."""

    model_path: Path
    card_path: Path
    report_dir: Path
    card: dict[str, Any]
    report: dict[str, Any]
    rows: list[ModelRow] = field(default_factory=list)


LICENCE = {
    "dataset": "RAVDESS speech, actors 01–20 (1,200 clips; 16 kHz mono FLAC)",
    "licence": "CC BY-NC-SA 4.0",
    "citation": (
        "Livingstone S. R., Russo F. A. (2018). The Ryerson Audio-Visual Database of "
        "Emotional Speech and Song (RAVDESS). PLoS ONE 13(5): e0196391. "
        "https://doi.org/10.1371/journal.pone.0196391"
    ),
    "note": (
        "Trained on CC BY-NC-SA 4.0 data: non-commercial use only, attribution required, "
        "derivatives under the same licence."
    ),
}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _summary(row: ModelRow) -> dict[str, Any]:
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


def calibrate(clips: ClipSet, row: ModelRow, *, min_coverage: float = 0.8) -> dict[str, Any]:
    """Temperature, ECE before/after and abstain threshold from out-of-fold speech windows."""
    from tagger.calibration import (
        apply_temperature,
        coverage_table,
        expected_calibration_error,
        fit_temperature,
        negative_log_likelihood,
        pick_threshold,
    )

    if row.window_probs is None:
        raise ConfigError("calibration needs per-window out-of-fold predictions")
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


def save_ensemble(members: list[Any], path: Path) -> Any:
    """Save one member, or the mean of several as one functional model (no Lambda)."""
    import keras

    if len(members) == 1:
        model = members[0]
    else:
        inputs = keras.Input(shape=members[0].input_shape[1:], name=members[0].inputs[0].name)
        for i, member in enumerate(members):
            member.name = f"member_{i}"
        outputs = keras.layers.Average(name="probs_mean")([m(inputs) for m in members])
        model = keras.Model(inputs, outputs, name="ensemble")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


def benchmark_windows_per_s(model_path: Path, *, n_windows: int = 4096) -> float:
    """Windows/s of the model alone on one core (TF intra/inter threads = 1), run as
    :class:`~tagger.model.Classifier` runs it, in batches of 256, measured in a fresh
    subprocess so the thread settings take effect."""
    import subprocess
    import sys

    code = f"""
import os, time, numpy as np
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
os.environ['CUDA_VISIBLE_DEVICES'] = ''
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
from tagger.model import graph_forward
m = keras.saving.load_model({str(model_path)!r}, safe_mode=True, compile=False)
f = graph_forward(m)  # as Classifier.predict_inputs runs it
x = np.random.default_rng(0).normal(-50, 20, size=({n_windows},) + tuple(m.input_shape[1:]))
x = x.astype('float32')
for i in range(0, 512, 256): f(x[i:i+256])
best = 0.0
for _ in range(3):
    t = time.perf_counter()
    for i in range(0, {n_windows}, 256): np.asarray(f(x[i:i+256]))
    best = max(best, {n_windows} / (time.perf_counter() - t))
print(best)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return float(done.stdout.strip().splitlines()[-1])


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


def model_card_markdown(card: dict[str, Any]) -> str:
    """Human-readable model card (``MODEL_CARD.md``) rendered from the JSON card."""
    cv = card["cv_metrics"]
    recipe = card["training"]["recipe"]
    arch = card["architecture"]
    cal = card["calibration"]
    std = cv["fold_std"]
    speed = card.get("windows_per_s_one_core")
    return "\n".join(
        [
            f"# Model card: {card['name']}",
            "",
            f"Version `{card['version']}` (`default.keras`, {card['size_bytes'] / 1e6:.2f} MB; "
            "machine-readable card: `default.card.json`).",
            "",
            "## What it does",
            "",
            "Classifies each 3 s window of audio (hop 1 s, 16 kHz mono) into one of eight "
            f"acted emotions: {', '.join(card['classes'])}. Input: {card['input']['description']}, "
            f"shape {tuple(card['input']['shape'])}. Output: calibrated probabilities "
            f"(temperature {cal['temperature']:.2f}). Windows whose top probability is below "
            f"{cal['abstain_threshold']:.1f} are labelled `uncertain`; windows without speech "
            "are labelled `no_speech` by the front end.",
            "",
            f"Architecture: {_ARCHITECTURE_NOTES.get(arch['kind'], arch['kind'])}; the mean of "
            f"{recipe['n_members']} such networks trained with different seeds. How the recipe was "
            "chosen: `docs/model/experiments.md`.",
            "",
            "## Intended use",
            "",
            "Coarse, time-coded emotion tags over the speech of a video library, for search and "
            "aggregate profiles (share of time per emotion). Not for decisions about individual "
            "people, not for clinical, hiring, security or lie-detection use.",
            "",
            "## How good it is",
            "",
            "Speaker-independent 5-fold cross-validation on RAVDESS actors 01–20 (no actor in "
            "both training and test folds), clip = mean of its speech windows:",
            "",
            f"- clip accuracy {100 * cv['clip_accuracy']:.1f}% (± {100 * std['accuracy']:.1f} "
            f"across folds), macro-F1 {100 * cv['macro_f1']:.1f}%, UAR {100 * cv['uar']:.1f}%, "
            f"window accuracy {100 * (cv['window_accuracy'] or 0):.1f}%; chance is 12.5%.",
            f"- calibration: ECE {100 * cal['ece_before']:.1f}% before, "
            f"{100 * cal['ece_after']:.1f}% after temperature scaling.",
            *([f"- speed: {speed:.0f} windows/s for the model alone on one CPU core."] if speed else []),
            "",
            "What the accuracy means: on new speakers saying short acted sentences in studio "
            "conditions, about that share of clips gets the acted label. On spontaneous, "
            "noisy, music-laden or far-field video audio expect clearly less; treat the tags as "
            "soft evidence and use the probabilities. Full report: `docs/model/report.md`.",
            "",
            "## Limits",
            "",
            "- Acted, North-American English speech of 20 professional actors (10 female, 10 "
            "male), two fixed sentences; other languages, accents, ages and natural emotion are "
            "out of distribution.",
            "- Eight categories only; mixed, subtle or other emotions are forced into them or "
            "end up `uncertain`. Most frequent cross-validation confusions: "
            f"{top_confusions(cv['confusion'])}.",
            "- Trained on 3 s windows: very short utterances and overlapping speakers are not "
            "handled specially.",
            "",
            "## Training data and licence",
            "",
            f"{card['training']['dataset']}. Licence: {card['training']['licence']}. "
            f"{card['training']['note']}",
            "",
            f"Citation: {card['training']['citation']}",
            "",
            "Reproduce: `python -m tagger.train --manifest ../shared/corpora/ravdess/manifest.tsv "
            "--folds ../shared/corpora/ravdess/folds.tsv --out tagger/models --filename default "
            f"--report-dir docs/model --kind {arch['kind']} --epochs {recipe['epochs']} "
            f"--members {recipe['n_members']} --seed {card['training']['seed']}`.",
            "",
        ]
    )


_ARCHITECTURE_NOTES = {
    "melscal_cnn": (
        "1-D CNN over 75 steps of 40 ms (3 conv blocks of 48/64/96 channels with batch norm and "
        "max-pooling, mean and max over time, dropout, softmax), trained with AdamW, class "
        "weights and augmentation (noise added to the waveform at 0–30 dB SNR, time shift, "
        "gain, time and band masks)"
    ),
    "aggregate_mlp": "MLP over the 161 per-window aggregates",
    "logmel_cnn": "1-D CNN over log-mel frames",
    "frames_cnn": "1-D CNN over all frame features",
}

_INPUT_DESCRIPTIONS = {
    "melscal": "tagger.model.melscal(WindowBatch.frames): 64 log-mel dB, 7 scalars, log f0",
    "logmel": "log-mel dB frames of a window: WindowBatch.frames[:, :, :64]",
    "frames": "all frame features of a window: WindowBatch.frames",
    "features": "per-window aggregates: WindowBatch.features",
}


def default_folds(actors: np.ndarray, *, n_folds: int = 5) -> dict[int, int]:
    """``{actor: fold}`` assigning sorted actors round-robin to ``n_folds`` folds."""
    unique = sorted({int(a) for a in actors})
    if -1 in unique:
        raise ConfigError("speaker-grouped CV needs an actor column in the manifest")
    if len(unique) < n_folds:
        raise ConfigError(f"need at least {n_folds} actors for {n_folds}-fold CV")
    return {a: i % n_folds for i, a in enumerate(unique)}


def train(
    manifest: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str],
    folds: str | os.PathLike[str] | None = None,
    seed: int = 0,
    config: TrainConfig = TrainConfig(),
    name: str = "emotag-ravdess",
    model_filename: str = "model",
    report_dir: str | os.PathLike[str] | None = None,
    baselines: bool = True,
    cache: str | os.PathLike[str] | None = None,
    benchmark: bool = True,
    log: Any = print,
) -> TrainResult:
    """Cross-validate, calibrate, train on everything and write the model, card and report.

    - ``manifest``: TSV with ``path`` (relative to its folder), ``emotion`` and ``actor``
    - ``folds``: TSV ``actor -> fold``; default: actors round-robin over 5 folds
    - writes ``out_dir/<model_filename>.keras`` and ``.card.json``; ``report.md``,
      ``report.json`` and ``confusion.png`` into ``report_dir`` (default ``out_dir``)
    - ``baselines``: also evaluate the seed paper's method (grouped and random split)
      and the SVM; ``cache``: an ``.npz`` of extracted windows to reuse / create
    """
    from tagger.model import ModelConfig, check_card

    started = time.time()
    out = Path(out_dir)
    reports = Path(report_dir) if report_dir is not None else out
    frame = read_manifest(manifest)
    cache_path = Path(cache) if cache is not None else None
    if cache_path is not None and cache_path.is_file():
        clips = ClipSet.load(cache_path)
    else:
        clips = extract_clips(frame)
        if cache_path is not None:
            clips.save(cache_path)
    log(f"{clips.n_clips} clips, {len(clips.clip)} windows")
    fold_of_actor = read_folds(folds) if folds is not None else default_folds(clips.actors)
    clip_fold = clip_folds(clips, fold_of_actor)
    mconfig: ModelConfig = config.model_config()

    x_noisy = training_noise(clips, config, seed=seed, cache=cache_path, log=log)
    ours = cross_validate(
        clips, clip_fold, method="network", config=config, seed=seed, x_noisy=x_noisy, log=log
    )
    ours.name = f"ours ({mconfig.kind})"
    rows = [ours]
    if baselines:
        paper = cross_validate(clips, clip_fold, method="paper", config=config, seed=seed, log=log)
        paper.name = "paper (40 MFCC means, Conv1D)"
        paper_random = random_split_paper(clips, config=config, seed=seed)
        paper_random.name = paper.name
        svm = cross_validate(clips, clip_fold, method="svm", config=config, seed=seed, log=log)
        svm.name = "SVM (RBF, 161 window aggregates)"
        rows = [paper, paper_random, svm, ours]
    for row in rows:
        summary = _summary(row)
        log(
            f"{row.name} / {row.split}: clip accuracy {100 * summary['clip_accuracy']:.1f}%, "
            f"macro-F1 {100 * summary['macro_f1']:.1f}%, UAR {100 * summary['uar']:.1f}%"
        )
    calibration = calibrate(clips, ours)

    y_windows = clips.window_labels()
    x_all = model_inputs(clips, mconfig.input_name)
    members = _fit_members(x_all, y_windows, config=config, seed=seed, x_noisy=x_noisy)
    model_path = out / f"{model_filename}.keras"
    model = save_ensemble(members, model_path)
    digest = file_sha256(model_path)
    windows_per_s = benchmark_windows_per_s(model_path) if benchmark else None
    front = FrontEndConfig()
    card: dict[str, Any] = {
        "name": name,
        "version": f"{name}-{digest[:12]}",
        "sha256": digest,
        "classes": list(EMOTIONS),
        "input": {
            "name": mconfig.input_name,
            "shape": list(mconfig.input_shape),
            "description": _INPUT_DESCRIPTIONS.get(mconfig.input_name, mconfig.input_name),
        },
        "architecture": asdict(mconfig),
        "window_config": {
            "window_s": front.window.window_s,
            "hop_s": front.window.hop_s,
            "sample_rate": front.window.sample_rate,
            "min_fraction": front.window.min_fraction,
        },
        "feature_config": asdict(front.features),
        "clip_prediction": "mean of window probabilities over speech windows (all if none)",
        "training": {
            **LICENCE,
            "manifest": str(Path(manifest)),
            "n_clips": clips.n_clips,
            "n_windows": len(clips.clip),
            "actors": sorted({int(a) for a in clips.actors}),
            "seed": seed,
            "recipe": {k: v for k, v in asdict(config).items() if k != "model"},
            "trained_on": "all clips (after CV chose the recipe)",
        },
        "cv_metrics": _summary(ours),
        "calibration": {
            "temperature": calibration["temperature"],
            "abstain_threshold": calibration["abstain_threshold"],
            "ece_before": calibration["ece_before"],
            "ece_after": calibration["ece_after"],
        },
        "windows_per_s_one_core": windows_per_s,
        "size_bytes": model_path.stat().st_size,
    }
    check_card(model, card)
    card_path = model_path.with_name(f"{model_filename}.card.json")
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card_markdown(card), encoding="utf-8")
    report = {
        "rows": [{**_summary(r), "metrics": r.metrics} for r in rows],
        "calibration": calibration,
        "model": {
            "version": card["version"],
            "size_bytes": card["size_bytes"],
            "windows_per_s_one_core": windows_per_s,
        },
        "data": {"n_clips": clips.n_clips, "n_windows": len(clips.clip), **LICENCE},
        "seed": seed,
        "recipe": {k: v for k, v in asdict(config).items() if k != "model"},
        "architecture": asdict(mconfig),
        "elapsed_s": time.time() - started,
    }
    from tagger.evaluate import write_report

    write_report(report, reports)
    log(f"done in {time.time() - started:.0f} s -> {model_path}")
    return TrainResult(
        model_path=model_path,
        card_path=card_path,
        report_dir=reports,
        card=card,
        report=report,
        rows=rows,
    )


_SHAPES: dict[str, tuple[int, ...]] = {
    "melscal_cnn": (75, 72),
    "logmel_cnn": (300, 64),
    "frames_cnn": (300, 92),
    "aggregate_mlp": (161,),
}


def model_config_for(kind: str) -> Any:
    """The :class:`~tagger.model.ModelConfig` of ``kind`` with its window input shape
    (``melscal_cnn``, the default, is the shipped architecture)."""
    from tagger.model import ModelConfig

    if kind not in _SHAPES:
        raise ConfigError(f"unknown model kind {kind!r}; known: {sorted(_SHAPES)}")
    time_pool = 4 if kind in ("logmel_cnn", "frames_cnn") else 1
    return ModelConfig(kind=kind, input_shape=_SHAPES[kind], time_pool=time_pool)  # type: ignore[arg-type]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tagger.train", description="Cross-validate and train the emotion model."
    )
    parser.add_argument("--manifest", required=True, help="TSV with path, emotion, actor")
    parser.add_argument("--folds", default=None, help="TSV actor -> fold")
    parser.add_argument("--out", required=True, help="folder for the .keras file and card")
    parser.add_argument("--report-dir", default=None, help="folder for report.md/json/png")
    parser.add_argument("--filename", default="model", help="model file stem (default: model)")
    parser.add_argument("--name", default="emotag-ravdess")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", default="melscal_cnn", choices=sorted(_SHAPES))
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--lr", type=float, default=TrainConfig.learning_rate, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay)
    parser.add_argument("--members", type=int, default=TrainConfig.n_members, help="seeds averaged")
    parser.add_argument("--paper-epochs", type=int, default=TrainConfig.paper_epochs)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--cache", default=None, help=".npz cache of extracted windows")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m tagger.train --manifest M --folds F --out DIR``."""

    args = _parse_args(argv)
    config = TrainConfig(
        model=model_config_for(args.kind),
        epochs=args.epochs,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        n_members=args.members,
        paper_epochs=args.paper_epochs,
    )
    result = train(
        args.manifest,
        folds=args.folds,
        out_dir=args.out,
        seed=args.seed,
        config=config,
        name=args.name,
        model_filename=args.filename,
        report_dir=args.report_dir,
        baselines=not args.no_baselines,
        cache=args.cache,
    )
    for row in result.report["rows"]:
        print(
            f"{row['name']:<34} {row['split']:<24} clip acc {100 * row['clip_accuracy']:.1f}% "
            f"macro-F1 {100 * row['macro_f1']:.1f}% UAR {100 * row['uar']:.1f}%"
        )
    print(f"model {result.card['version']} -> {result.model_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
