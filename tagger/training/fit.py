"""Fitting models: the Keras network (one member or an ensemble), the seed paper's
Conv1D on clip MFCC means, and the RBF SVM baseline; batched prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tagger.model import ModelConfig, build_model
from tagger.model_inputs import LEVEL_RANGE_DB
from tagger.quiet import import_keras
from tagger.training.augment import augment_logmel, mix_noisy
from tagger.training.config import TrainConfig
from tagger.training.labels import balanced_weights, label_targets

__all__ = [
    "fit_members",
    "fit_network",
    "fit_paper",
    "fit_svm",
    "masked_crossentropy",
    "predict_network",
    "svm_probs",
]


def _set_seeds(seed: int) -> None:
    import_keras().utils.set_random_seed(seed)


def _class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return {i: float(w) for i, w in enumerate(weights)}


def masked_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Negative log-probability of each sample's acceptable classes among the classes its
    corpus can tell apart: ``y_true`` ``(n, 2k)`` is the 0/1 acceptable set (one-hot for a
    plain label), then the 0/1 mask of the classes its corpus labels
    (:func:`tagger.training.labels.label_targets`); ``y_pred`` ``(n, k)`` probabilities. A
    corpus without calm or disgust then teaches which of *its* classes a window is, never
    that calm or disgust do not happen."""
    from keras import ops

    k = ops.shape(y_pred)[-1]
    probs = ops.clip(y_pred, 1e-7, 1.0)
    p_true = ops.sum(y_true[:, :k] * probs, axis=-1)
    p_allowed = ops.sum(y_true[:, k:] * probs, axis=-1)
    return ops.log(p_allowed) - ops.log(p_true)


def fit_network(
    x: np.ndarray,
    y: np.ndarray,
    *,
    config: TrainConfig,
    seed: int,
    x_noisy: np.ndarray | None = None,
    verbose: int = 0,
    targets: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> Any:
    """A trained Keras model (one member) on inputs ``x`` ``(n, *input_shape)`` and labels
    ``y`` ``(n,)``; its ``input_norm`` layer is adapted on ``x`` first. ``x_noisy``
    ``(copies, n, *input_shape)``: noisy versions of the same windows, drawn in place of
    ``x`` for ``config.noisy_fraction`` of each epoch's windows. ``targets`` ``(n, 2 *
    n_classes)``: acceptable and allowed classes per window
    (:func:`tagger.training.labels.label_targets`, for corpora that lack classes); the loss
    is then :func:`masked_crossentropy`. Class weights: by ``y``, or with ``groups``
    ``(n,)`` (each window's corpus) :func:`~tagger.training.labels.balanced_weights`."""
    keras = import_keras()

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
    weights = _class_weights(y, mconfig.n_classes) if config.class_weighting else None
    fit_targets: np.ndarray = y
    sample_weight = None
    if targets is not None or groups is not None:
        model.compile(optimizer=optimizer, loss=masked_crossentropy)
        fit_targets = (
            np.asarray(targets, dtype=np.float32)
            if targets is not None
            else label_targets(y, np.ones(mconfig.n_classes, dtype=bool))
        )
        if weights is not None:
            sample_weight = (
                balanced_weights(y, groups)
                if groups is not None
                else np.array([weights[int(label)] for label in y], dtype=np.float32)
            )
        weights = None
    else:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if config.augment and mconfig.input_name in ("melscal", "melscal_rel", "logmel", "frames"):
        from concurrent.futures import ThreadPoolExecutor

        # Each epoch's augmentation has its own generator, so results do not depend on
        # timing; the next epoch is prepared in a thread while this one trains.
        epoch_rngs = [np.random.default_rng([seed, e]) for e in range(config.epochs)]

        def epoch_inputs(rng: np.random.Generator) -> np.ndarray:
            mixed = mix_noisy(x, x_noisy, rng, fraction=config.noisy_fraction)
            # A level-free input has no level to perturb: gain comes from the waveform copies.
            if mconfig.input_name == "melscal_rel":
                return augment_logmel(mixed, rng, gain_db=0.0, eq_db=config.eq_db, floor_db=-LEVEL_RANGE_DB)
            return augment_logmel(mixed, rng, gain_db=6.0, eq_db=config.eq_db)

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(epoch_inputs, epoch_rngs[0])
            for epoch in range(config.epochs):
                x_epoch = pending.result()
                if epoch + 1 < config.epochs:
                    pending = pool.submit(epoch_inputs, epoch_rngs[epoch + 1])
                model.fit(
                    x_epoch,
                    fit_targets,
                    batch_size=config.batch_size,
                    epochs=epoch + 1,
                    initial_epoch=epoch,
                    class_weight=weights,
                    sample_weight=sample_weight,
                    shuffle=True,
                    verbose=verbose,
                )
    else:
        model.fit(
            x,
            fit_targets,
            batch_size=config.batch_size,
            epochs=config.epochs,
            class_weight=weights,
            sample_weight=sample_weight,
            shuffle=True,
            verbose=verbose,
        )
    return model


def fit_paper(x: np.ndarray, y: np.ndarray, *, config: TrainConfig, seed: int) -> Any:
    """The seed paper's model on clip MFCC means ``x`` ``(n, 40)``: Conv1D(64, 5) →
    Dropout → Dense(8) softmax, RMSprop lr 1e-5, no input normalisation (as published)."""
    keras = import_keras()

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


def svm_probs(svm: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, n_classes)`` probabilities of :func:`fit_svm`'s model; 0 for classes it never saw."""
    probs = np.zeros((x.shape[0], n_classes), dtype=np.float32)
    probs[:, svm.classes_] = svm.predict_proba(x)
    return probs


def fit_members(
    x: np.ndarray,
    y: np.ndarray,
    *,
    config: TrainConfig,
    seed: int,
    x_noisy: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> list[Any]:
    """``config.n_members`` networks (:func:`fit_network`) on the same data, member ``m``
    seeded ``seed + 1000 * m``; averaged into one model by
    :func:`tagger.training.card.save_ensemble` or at prediction."""
    return [
        fit_network(
            x, y, config=config, seed=seed + 1000 * m, x_noisy=x_noisy, targets=targets, groups=groups
        )
        for m in range(config.n_members)
    ]
