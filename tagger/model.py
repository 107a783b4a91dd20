"""The emotion classifier: architectures, safe loading against a model card, prediction.

TensorFlow/Keras is imported lazily (inside functions), so ``import tagger.model``
stays cheap. A loaded :class:`Classifier` turns a :class:`WindowBatch` into calibrated
``(n_windows, 8)`` probabilities and labels. It runs the model's LiteRT export
(:mod:`tagger.litert`, no TensorFlow in the process) unless asked for the Keras model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tagger.calibration import apply_temperature, softmax
from tagger.constants import EMOTIONS
from tagger.decision import Decision
from tagger.errors import ConfigError, ModelError
from tagger.frontend import WindowBatch
from tagger.model_inputs import (
    InputName,
    level_free_mel_scalar_steps,
    mel_scalar_steps,
    window_inputs,
    window_level_db,
)
from tagger.quiet import import_keras, import_tensorflow
from tagger.segments import label_windows

__all__ = [
    "DEFAULT_MODEL_PATH",
    "INPUT_SHAPES",
    "Classifier",
    "ModelConfig",
    "Runtime",
    "build_model",
    "card_path_for",
    "check_card",
    "check_shapes",
    "file_sha256",
    "graph_forward",
    "level_free_mel_scalar_steps",
    "litert_file",
    "load_model",
    "mel_scalar_steps",
    "model_config_for",
    "read_card",
    "verify_model_file",
    "window_inputs",
    "window_level_db",
]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "default.keras"
"""The shipped model; its card is ``default.card.json`` beside it."""

ModelKind = Literal[
    "melscal_cnn", "melscal_rel_cnn", "logmel_cnn", "frames_cnn", "aggregate_mlp", "paper_conv1d"
]

_INPUT_OF_KIND: dict[str, InputName] = {
    "melscal_cnn": "melscal",
    "melscal_rel_cnn": "melscal_rel",
    "logmel_cnn": "logmel",
    "frames_cnn": "frames",
    "aggregate_mlp": "features",
    "paper_conv1d": "mfcc40",
}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model.

    - ``kind``: ``melscal_cnn`` (log-mel plus the scalar frame features in 40 ms
      steps, see :func:`mel_scalar_steps`, ``input_shape=(75, 72)``, ``time_pool=1``),
      ``melscal_rel_cnn`` (the same with the window's level removed, see
      :func:`level_free_mel_scalar_steps`), ``logmel_cnn`` (windows of
      log-mel frames, ``input_shape=(300, 64)``),
      ``frames_cnn`` (all 92 frame features, ``(300, 92)``), ``aggregate_mlp``
      (per-window aggregates, ``(161,)``) or ``paper_conv1d`` (the seed
      paper's 40 clip-mean MFCCs, ``(40,)``)
    - ``filters``: channels of the conv blocks (``logmel_cnn``); ``units``: hidden widths
      (``aggregate_mlp``); ``dropout``: dropout rate before the classifier;
      ``time_pool``: frames averaged before the convolutions (4 suits the 10 ms
      ``logmel``/``frames`` inputs; ``melscal`` arrives pooled already).
    """

    kind: ModelKind = "melscal_cnn"
    input_shape: tuple[int, ...] = (75, 72)
    n_classes: int = len(EMOTIONS)
    filters: tuple[int, ...] = (48, 64, 96)
    units: tuple[int, ...] = (256, 128)
    dropout: float = 0.3
    time_pool: int = 1

    def __post_init__(self) -> None:
        if self.kind not in _INPUT_OF_KIND:
            raise ConfigError(f"unknown model kind {self.kind!r}")
        expected_rank = 2 if self.kind.endswith("_cnn") else 1
        if len(self.input_shape) != expected_rank or min(self.input_shape) <= 0:
            raise ConfigError(f"{self.kind} needs a rank-{expected_rank} input_shape")
        if self.n_classes < 2 or not 0.0 <= self.dropout < 1.0:
            raise ConfigError("n_classes must be >= 2 and dropout in [0, 1)")

    @property
    def input_name(self) -> InputName:
        """Which array of a window the model reads: ``melscal``, ``logmel``, ``frames``,
        ``features`` or ``mfcc40``."""
        return _INPUT_OF_KIND[self.kind]


INPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "melscal_cnn": (75, 72),
    "melscal_rel_cnn": (75, 72),
    "logmel_cnn": (300, 64),
    "frames_cnn": (300, 92),
    "aggregate_mlp": (161,),
}
"""Window input shape of each kind that reads windows (``paper_conv1d`` reads clips)."""


def model_config_for(kind: str) -> ModelConfig:
    """The :class:`ModelConfig` of ``kind`` with its window input shape (``melscal_cnn``,
    the default, is the shipped architecture); :class:`ConfigError` for an unknown kind."""
    if kind not in INPUT_SHAPES:
        raise ConfigError(f"unknown model kind {kind!r}; known: {sorted(INPUT_SHAPES)}")
    time_pool = 4 if kind in ("logmel_cnn", "frames_cnn") else 1
    return ModelConfig(kind=kind, input_shape=INPUT_SHAPES[kind], time_pool=time_pool)  # type: ignore[arg-type]


def _keras() -> Any:
    return import_keras()


def build_model(config: ModelConfig) -> Any:
    """An untrained ``keras.Model`` for ``config``: input ``(batch, *input_shape)``,
    output ``(batch, n_classes)`` softmax probabilities.

    The first layer of the CNNs and of ``aggregate_mlp`` is a ``Normalization``
    layer named ``input_norm``, to be adapted on training data before fitting, so the
    saved file carries its own normalisation statistics.
    """
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=config.input_shape, name=config.input_name)
    if config.kind == "paper_conv1d":
        # de Pinto et al. (2020): Conv1D(64, 5) over the 40 MFCC means, dropout, dense.
        x = layers.Reshape((config.input_shape[0], 1))(inputs)
        x = layers.Conv1D(64, 5, padding="same", activation="relu")(x)
        x = layers.Dropout(0.1)(x)
        x = layers.Flatten()(x)
    elif config.kind == "aggregate_mlp":
        x = layers.Normalization(axis=-1, name="input_norm")(inputs)
        for width in config.units:
            x = layers.Dense(width, activation="relu")(x)
            x = layers.Dropout(config.dropout)(x)
    else:
        # Per-column normalisation, then 1-D convolutions over time, columns as channels.
        x = layers.Normalization(axis=-1, name="input_norm")(inputs)
        if config.time_pool > 1:
            x = layers.AveragePooling1D(config.time_pool)(x)
        for i, width in enumerate(config.filters):
            x = layers.Conv1D(width, 5 if i < 2 else 3, padding="same", use_bias=False)(x)
            # Faster-moving statistics than Keras' default (0.99): with ~40 steps an
            # epoch the default lags the weights and hurts held-out speakers.
            x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
            x = layers.Activation("relu")(x)
            if i < len(config.filters) - 1:
                x = layers.MaxPooling1D(2)(x)
        x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
        x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(config.n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=config.kind)


def graph_forward(model: Any) -> Any:
    """``model``'s inference pass as one TensorFlow graph, traced once for any batch size:
    ``f(x (n, *input_shape) float32) -> (n, n_classes)``. 1.6× the windows/s of calling the
    model eagerly (the CNN ensemble on one core: 3 000 vs 1 900 windows/s)."""
    tf = import_tensorflow()
    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    return tf.function(lambda x: model(x, training=False), input_signature=[spec])


def card_path_for(model_path: str | os.PathLike[str]) -> Path:
    """``x/name.keras`` -> ``x/name.card.json``."""
    path = Path(model_path)
    return path.with_name(path.name.removesuffix(".keras") + ".card.json")


class Classifier:
    """A loaded model plus its card: calibrated probabilities and labels for windows.

    Get one with :func:`load_model` (the shipped model when no path is given); it
    classifies the :class:`~tagger.frontend.WindowBatch` the front end makes of a file
    (:func:`tagger.frontend.analyse_file`) or of a signal:

    >>> from tagger.frontend import analyse_file
    >>> from tagger.testing.media import write_wav
    >>> from tagger.testing.signals import speech_like
    >>> path = write_wav(speech_like(5.0, seed=0))  # 5 s of a seeded speech-like signal
    >>> batch = next(analyse_file(path))
    >>> batch.start_s.tolist(), batch.end_s.tolist()  # 3 s windows every 1 s; the tail kept
    ([0.0, 1.0, 2.0, 3.0], [3.0, 4.0, 5.0, 5.0])
    >>> classifier = load_model()
    >>> probs = classifier.predict(batch)  # (n_windows, 8), calibrated, rows sum to 1
    >>> probs.shape, bool(np.allclose(probs.sum(axis=1), 1.0, atol=1e-5))
    ((4, 8), True)
    >>> labels = classifier.label(probs, batch.is_speech)  # an emotion, no_speech or uncertain
    >>> all(label in (*classifier.classes, "no_speech", "uncertain") for label in labels)
    True
    """

    def __init__(
        self, forward: Callable[[np.ndarray], Any], card: dict[str, Any], *, batch_size: int = 256
    ) -> None:
        self.forward = forward
        self.card = card
        self.version: str = str(card["version"])
        self.temperature: float = float(card["calibration"]["temperature"])
        self.abstain_threshold: float = float(card["calibration"]["abstain_threshold"])
        self.decision: Decision = Decision.from_card(card)
        self.input_name: InputName = card["input"]["name"]
        self.needs_aggregates: bool = self.input_name == "features"
        self.input_shape: tuple[int, ...] = tuple(int(d) for d in card["input"]["shape"])
        self.classes: tuple[str, ...] = tuple(card["classes"])
        self.batch_size = batch_size
        self.tail_path: str | None = None
        """A ``scene_map`` model's LiteRT file, which the front end runs (:func:`load_model`
        sets it; :func:`tagger.pipeline.frontend_for` passes it on)."""

    def inputs(self, batch: WindowBatch) -> np.ndarray:
        """The model input of ``batch``: ``(n_windows, *input_shape)`` float32."""
        x = window_inputs(
            self.input_name, frames=batch.frames, features=batch.features, tail_logits=batch.tail_logits
        )
        if self.input_name == "scene_map":
            if len(batch) and not np.all(batch.tail_model == self.tail_path):
                raise ModelError(
                    f"the windows carry the logits of {set(batch.tail_model.tolist())}, not of this "
                    f"model's tail {self.tail_path}: analyse with "
                    "tagger.pipeline.frontend_for(classifier, config)"
                )
            if x.shape[1:] != (len(self.classes),):
                raise ModelError(f"tail logits {x.shape[1:]} != the model's {len(self.classes)} classes")
        elif x.shape[1:] != self.input_shape:
            raise ModelError(f"window input shape {x.shape[1:]} != model's {self.input_shape}")
        return np.ascontiguousarray(x, dtype=np.float32)

    def predict_inputs(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``(n, n_classes)`` float32 for model inputs ``x`` (a
        ``scene_map`` model's inputs are its window logits, computed in the front end)."""
        n = x.shape[0]
        if n == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if self.input_name == "scene_map":
            return apply_temperature(softmax(np.asarray(x, dtype=np.float64)), self.temperature)
        parts = [np.asarray(self.forward(x[i : i + self.batch_size])) for i in range(0, n, self.batch_size)]
        return apply_temperature(np.concatenate(parts), self.temperature)

    def predict(self, batch: WindowBatch) -> np.ndarray:
        """Calibrated probabilities ``(n_windows, 8)`` float32; rows sum to 1."""
        return self.predict_inputs(self.inputs(batch))

    def label(self, probs: np.ndarray, is_speech: np.ndarray) -> list[str]:
        """One label per window: ``no_speech`` where ``is_speech`` is False, ``uncertain``
        where the decided class's evidence is below :attr:`abstain_threshold`, else the
        emotion the card's :attr:`decision` picks (see :func:`tagger.segments.label_windows`)."""
        return [
            str(label)
            for label in label_windows(
                probs,
                is_speech,
                abstain_threshold=self.abstain_threshold,
                classes=self.classes,
                decision=self.decision,
            )
        ]


_CACHE: dict[tuple[Path, int, int, str], Classifier] = {}
_CACHE_LOCK = threading.Lock()


Runtime = Literal["litert", "keras"]


def load_model(path: str | os.PathLike[str] | None = None, *, runtime: Runtime = "litert") -> Classifier:
    """Load a model and its card, once per process per file state and runtime.

    ``runtime="litert"`` (the default) runs the model's LiteRT export without importing
    TensorFlow (see :func:`litert_file`); ``"keras"`` runs the Keras model itself.

    Raises :class:`ModelError` when the file or its card is missing or unreadable, the
    file's sha256 differs from the card's (:func:`verify_model_file`: a model file
    changed or swapped after its card was written never loads under the card's
    version), the model holds unsafe layers (e.g. ``Lambda``), or its input/output
    shape or class order differ from the card. The cache is keyed by path, size and
    modification time, so a file replaced in place is read (and verified) again.
    """
    resolved = Path(path if path is not None else DEFAULT_MODEL_PATH).resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise ModelError(f"model file missing: {resolved}") from exc
    key = (resolved, stat.st_size, stat.st_mtime_ns, runtime)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load_uncached(resolved, runtime)
        return _CACHE[key]


def read_card(card_path: Path) -> dict[str, Any]:
    """The model card JSON at ``card_path``; :class:`ModelError` when missing or invalid."""
    if not card_path.is_file():
        raise ModelError(f"model card missing: {card_path}")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model card unreadable: {card_path}: {exc}") from exc
    required = {"version", "classes", "input", "calibration"}
    if not isinstance(card, dict) or not required <= set(card):
        raise ModelError(f"model card {card_path} lacks fields {sorted(required - set(card))}")
    return card


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_VERSION_DIGEST = re.compile(r"-([0-9a-f]{12})$")


def verify_model_file(path: str | os.PathLike[str], card: dict[str, Any]) -> str:
    """Check that the model file at ``path`` is the one ``card`` describes; return its sha256.

    The card's ``sha256`` (written by training) must equal the file's; its ``version``
    (``<name>-<first 12 hex of the sha256>``) must end in the file's digest. Older cards
    without ``sha256`` are checked by the version suffix alone. :class:`ModelError` on
    a mismatch, or when the card carries neither.
    """
    digest = file_sha256(path)
    version = str(card.get("version", ""))
    stored = card.get("sha256")
    suffix = _VERSION_DIGEST.search(version)
    if stored is None and suffix is None:
        raise ModelError(
            f"model card of {path} records no sha256 and its version {version!r} does not end "
            "in the model file's 12-hex digest: cannot verify the model file"
        )
    if stored is not None and str(stored).lower() != digest:
        raise ModelError(
            f"model file {path} (sha256 {digest[:12]}…) is not the file its card describes "
            f"(sha256 {str(stored)[:12]}…, version {version}): refusing to load it under that version"
        )
    if suffix is not None and suffix.group(1) != digest[:12]:
        raise ModelError(
            f"model file {path} (sha256 {digest[:12]}…) does not match its card's version "
            f"{version}: refusing to load it under that version"
        )
    return digest


def _load_uncached(path: Path, runtime: Runtime) -> Classifier:
    if not path.is_file():
        raise ModelError(f"model file missing: {path}")
    card = read_card(card_path_for(path))
    digest = verify_model_file(path, card)
    if runtime == "keras":
        model = _load_keras(path)
        check_card(model, card)
        classifier = Classifier(graph_forward(model), card)
    else:
        from tagger.litert import LiteRTForward

        forward = LiteRTForward(litert_file(path, card=card, digest=digest))
        check_shapes(forward.input_shape, forward.output_shapes[0], card, source=str(forward.path))
        classifier = Classifier(forward, card)
    if classifier.input_name == "scene_map":
        tail = forward.path if runtime == "litert" else litert_file(path, card=card, digest=digest)
        classifier.tail_path = str(tail.resolve())
    return classifier


def _load_keras(path: Path) -> Any:
    keras = _keras()
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises ValueError/TypeError/OSError alike
        raise ModelError(f"cannot load model {path} safely: {exc}") from exc


def litert_file(
    path: str | os.PathLike[str], *, card: dict[str, Any] | None = None, digest: str | None = None
) -> Path:
    """The LiteRT file that runs the Keras model at ``path``, exporting it when there is none.

    The card's ``runtime.litert`` file beside the model is used when present (its sha256
    must match the card's: :class:`ModelError` otherwise); else the export cached under
    :func:`tagger.export.cache_dir` by the Keras file's sha256; else the model is
    loaded in safe mode, checked against its card and exported there (this one time,
    TensorFlow is imported). Call it once in the parent before starting workers, so the
    workers find the file and never import TensorFlow.
    """
    from tagger.export import cache_dir, export_litert

    model_path = Path(path).resolve()
    card = card if card is not None else read_card(card_path_for(model_path))
    digest = digest if digest is not None else verify_model_file(model_path, card)
    entry = card.get("runtime", {}).get("litert") if isinstance(card.get("runtime"), dict) else None
    if entry:
        beside = model_path.with_name(str(entry["file"]))
        if beside.is_file():
            if file_sha256(beside) != str(entry["sha256"]).lower():
                raise ModelError(f"LiteRT file {beside} is not the one its card describes (sha256 differs)")
            return beside
    cached = cache_dir() / f"{digest}.tflite"
    if cached.is_file():
        return cached
    model = _load_keras(model_path)
    check_card(model, card)
    return export_litert(model, cached)


def check_card(model: Any, card: dict[str, Any]) -> None:
    """Raise :class:`ModelError` unless the card is well formed and the Keras ``model``'s
    input/output shapes agree with it (see :func:`check_shapes`)."""
    check_shapes(tuple(model.input_shape[1:]), tuple(model.output_shape[1:]), card, source="model")


def check_shapes(
    model_in: tuple[Any, ...], model_out: tuple[Any, ...], card: dict[str, Any], *, source: str
) -> None:
    """Raise :class:`ModelError` unless the card's classes are the 8 emotions in order, its
    input name and calibration are valid, and a model (named ``source`` in the message)
    with input shape ``model_in`` and output shape ``model_out`` (no batch axis) fits it."""
    classes = tuple(card["classes"])
    if classes != EMOTIONS:
        raise ModelError(f"card classes {classes} differ from {EMOTIONS}")
    try:
        card_shape = tuple(int(d) for d in card["input"]["shape"])
        input_name = card["input"]["name"]
        temperature = float(card["calibration"]["temperature"])
        threshold = float(card["calibration"]["abstain_threshold"])
        Decision.from_card(card)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model card malformed: {exc}") from exc
    if input_name not in ("melscal", "melscal_rel", "logmel", "frames", "features", "scene_map"):
        raise ModelError(
            f"card input name {input_name!r} is not mel_scalar_steps(_rel), logmel, frames, "
            "features or scene_map"
        )
    if not temperature > 0 or not 0.0 <= threshold < 1.0:
        raise ModelError("card calibration out of range")
    model_in = _dims(model_in)
    if model_in != card_shape:
        raise ModelError(f"{source} input shape {model_in} differs from card's {card_shape}")
    # a scene_map tail gives logits per step of a segment: (steps, classes)
    want_out = (-1, len(classes)) if input_name == "scene_map" else (len(classes),)
    if _dims(model_out) != want_out:
        raise ModelError(f"{source} output shape {model_out} differs from {len(classes)} classes")


def _dims(shape: Any) -> tuple[int, ...]:
    """A model's input or output shape without the batch axis, ``-1`` for a dimension of
    any size (Keras writes ``None``, LiteRT ``-1``)."""
    return tuple(-1 if d is None else int(d) for d in shape)
