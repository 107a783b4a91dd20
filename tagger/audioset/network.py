"""EfficientAT ``mn04_as`` (a MobileNetV3, width 0.4, trained on AudioSet) rebuilt in Keras.

Training and export only: this module imports Keras. Workers run the exported
``.tflite`` (:mod:`tagger.audioset.gate`). Built from Keras' own layers (no Lambda,
no custom class), so the saved model loads with ``safe_mode=True``.

Layout: Keras is channels-last, so the input is ``(batch, 128 mel, frames, 1)``
(frequency is the height axis, as in the PyTorch original ``(batch, 1, 128, frames)``)
and a block's output ``(batch, mel', frames', channels)`` is the original's
``(batch, channels, mel', frames')`` transposed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tagger.audioset.gate import MAP_CHANNELS, MAP_HEIGHT
from tagger.errors import ModelError

__all__ = [
    "BLOCKS",
    "MAP_BLOCK",
    "N_CLASSES",
    "N_MELS",
    "BlockSpec",
    "build_emotion_tail",
    "build_mn04",
    "build_scene_trunk",
    "load_mn04_weights",
]

N_MELS = 128
N_CLASSES = 527
EMBEDDING = 384
BN_EPSILON = 1e-3
MAP_BLOCK = 10
"""The block whose output the gate's trunk shares with the emotion tail (blocks 1..10: the
stem's and the first blocks' pretrained, general-purpose features)."""


@dataclass(frozen=True)
class BlockSpec:
    """One inverted residual block: depthwise ``kernel`` x ``kernel`` with ``stride`` on
    both axes, ``activation`` ``"relu"`` or ``"hard_silu"`` (PyTorch's Hardswish).
    Channel counts, the expansion and the squeeze-excitation come from the weights."""

    kernel: int
    stride: int
    activation: str


# features.1 .. features.15, as printed in the network's architecture.txt
BLOCKS: tuple[BlockSpec, ...] = (
    *(BlockSpec(3, s, "relu") for s in (1, 2, 1)),
    *(BlockSpec(5, s, "relu") for s in (2, 1, 1)),
    *(BlockSpec(3, s, "hard_silu") for s in (2, 1, 1, 1, 1, 1)),
    *(BlockSpec(5, s, "hard_silu") for s in (2, 1, 1)),
)


def load_mn04_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The PyTorch ``state_dict`` saved as NumPy arrays (``mn04_as.npz``), by name."""
    try:
        with np.load(Path(path)) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the AudioSet network's weights {path}: {exc}") from exc


def build_mn04(weights: dict[str, np.ndarray], *, frames: int | None = None, trunk_only: bool = False) -> Any:
    """The network with its pretrained weights loaded, as a functional ``keras.Model``.

    Input ``(batch, 128, frames, 1)`` log-mel (:func:`tagger.audioset.melspec.logmel_32k`
    transposed to channels-last; ``frames=None`` for any length). Outputs: with
    ``trunk_only`` the last feature map ``(batch, 4, ceil(frames / 32), 384)``; otherwise
    the 527 AudioSet logits (``sigmoid`` gives the probabilities). Every block is named
    ``features_<i>`` so its output can be read, as in the original.
    """
    import keras

    x_in = keras.Input(shape=(N_MELS, frames, 1), name="logmel")
    x = _conv_bn(weights, "features.0", x_in, stride=2, activation="hard_silu", name="stem")
    x = keras.layers.Identity(name="features_0")(x)
    for i, spec in enumerate(BLOCKS, start=1):
        x = _inverted_residual(weights, f"features.{i}", x, spec, name=f"features_{i}")
    x = _conv_bn(weights, "features.16", x, stride=1, activation="hard_silu", name="head")
    x = keras.layers.Identity(name="features_16")(x)
    if trunk_only:
        return keras.Model(x_in, x, name="mn04_trunk")
    x = keras.layers.GlobalAveragePooling2D(name="embedding")(x)
    x = _dense(weights, "classifier.2", x, activation="hard_silu", name="classifier_hidden")
    x = keras.layers.Dropout(0.2, name="classifier_dropout")(x)
    logits = _dense(weights, "classifier.5", x, activation=None, name="logits")
    return keras.Model(x_in, logits, name="mn04_as")


def build_scene_trunk(
    weights: dict[str, np.ndarray], *, frames: int | None = None, with_map: bool = False
) -> Any:
    """The trunk as the gate runs it: ``(batch, 128, frames, 1)`` log-mel ->
    ``(batch, frames / 32, 384)``, the last feature map averaged over frequency
    (``frames=None``: any multiple of 32). ``with_map``: a second output, block
    :data:`MAP_BLOCK`'s feature map ``(batch, 8, frames / 16, 32)``, which the emotion tail
    (:func:`build_emotion_tail`) reads, so the two share the trunk's first blocks."""
    import keras

    trunk = build_mn04(weights, frames=frames, trunk_only=True)
    height = int(trunk.output.shape[1])
    x = keras.layers.AveragePooling2D(pool_size=(height, 1), name="frequency_mean")(trunk.output)
    x = keras.layers.Reshape((-1, EMBEDDING), name="steps")(x)
    if with_map:
        return keras.Model(
            trunk.input, [x, trunk.get_layer(f"features_{MAP_BLOCK}").output], name="mn04_scene_trunk"
        )
    return keras.Model(trunk.input, x, name="mn04_scene_trunk")


def build_emotion_tail(
    weights: dict[str, np.ndarray],
    *,
    n_classes: int,
    dropout: float = 0.3,
) -> Any:
    """The emotion network on the gate's shared feature map: block :data:`MAP_BLOCK`'s
    output ``(batch, 8, steps16, 32)`` (``steps16`` any even number, 16 frames each) ->
    per-step logits ``(batch, steps16 / 2, n_classes)`` (a step is 32 frames, 320 ms).

    Blocks ``MAP_BLOCK + 1``..15 and the final 1 x 1 conv start from the pretrained
    ``weights`` (fine-tuned by :mod:`tagger.training.mn04`, BatchNorm frozen), then the
    map is averaged over frequency, and a dense layer gives each step's logits. The head
    is linear, so a window's logits are the mean of its steps' logits: the network runs
    once per segment of a track and is pooled per window, like the gate's."""
    import keras

    x_in = keras.Input(shape=(MAP_HEIGHT, None, MAP_CHANNELS), name="scene_map")
    x = x_in
    for i in range(MAP_BLOCK + 1, len(BLOCKS) + 1):
        x = _inverted_residual(weights, f"features.{i}", x, BLOCKS[i - 1], name=f"features_{i}")
    x = _conv_bn(weights, "features.16", x, stride=1, activation="hard_silu", name="head")
    x = keras.layers.AveragePooling2D(pool_size=(int(x.shape[1]), 1), name="frequency_mean")(x)
    x = keras.layers.Reshape((-1, EMBEDDING), name="steps")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    logits = keras.layers.Dense(n_classes, name="emotion")(x)
    model = keras.Model(x_in, logits, name="mn04_emotion_tail")
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # inference-mode statistics, as pretrained
    return model


def _inverted_residual(
    weights: dict[str, np.ndarray], prefix: str, x: Any, spec: BlockSpec, *, name: str
) -> Any:
    import keras

    block = f"{prefix}.block"
    parts = sorted({int(key.split(".")[3]) for key in weights if key.startswith(block + ".")})
    expands = weights[f"{block}.0.0.weight"].shape[1] != 1  # a depthwise first conv means no expansion
    y, step = x, 0
    if expands:
        y = _conv_bn(weights, f"{block}.0", y, stride=1, activation=spec.activation, name=f"{name}_expand")
        step = 1
    y = _depthwise_bn(weights, f"{block}.{step}", y, spec, name=f"{name}_depthwise")
    step += 1
    if f"{block}.{step}.conc_se_layers.0.fc1.weight" in weights:
        y = _squeeze_excite(weights, f"{block}.{step}.conc_se_layers.0", y, name=f"{name}_se")
        step += 1
    if step != parts[-1]:
        raise ModelError(f"{prefix}: unexpected layout {parts}")
    y = _conv_bn(weights, f"{block}.{step}", y, stride=1, activation=None, name=f"{name}_project")
    if spec.stride == 1 and x.shape[-1] == y.shape[-1]:
        y = keras.layers.Add(name=f"{name}_residual")([x, y])
    return keras.layers.Identity(name=name)(y)


def _conv_bn(
    weights: dict[str, np.ndarray], prefix: str, x: Any, *, stride: int, activation: str | None, name: str
) -> Any:
    import keras

    kernel = weights[f"{prefix}.0.weight"]  # (out, in, kh, kw)
    size = kernel.shape[2]
    if size > 1:
        x = keras.layers.ZeroPadding2D(size // 2, name=f"{name}_pad")(x)
    conv = keras.layers.Conv2D(kernel.shape[0], size, strides=stride, use_bias=False, name=f"{name}_conv")
    y = conv(x)
    conv.set_weights([kernel.transpose(2, 3, 1, 0)])
    return _batch_norm(weights, f"{prefix}.1", y, activation=activation, name=name)


def _depthwise_bn(weights: dict[str, np.ndarray], prefix: str, x: Any, spec: BlockSpec, *, name: str) -> Any:
    import keras

    kernel = weights[f"{prefix}.0.weight"]  # (channels, 1, kh, kw)
    if kernel.shape[2] != spec.kernel:
        raise ModelError(f"{prefix}: kernel {kernel.shape[2]} != spec {spec.kernel}")
    x = keras.layers.ZeroPadding2D(spec.kernel // 2, name=f"{name}_pad")(x)
    conv = keras.layers.DepthwiseConv2D(spec.kernel, strides=spec.stride, use_bias=False, name=f"{name}_conv")
    y = conv(x)
    conv.set_weights([kernel.transpose(2, 3, 0, 1)])
    return _batch_norm(weights, f"{prefix}.1", y, activation=spec.activation, name=name)


def _batch_norm(
    weights: dict[str, np.ndarray], prefix: str, x: Any, *, activation: str | None, name: str
) -> Any:
    import keras

    norm = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")
    y = norm(x)
    norm.set_weights(
        [weights[f"{prefix}.{part}"] for part in ("weight", "bias", "running_mean", "running_var")]
    )
    if activation is not None:
        y = keras.layers.Activation(activation, name=f"{name}_{activation}")(y)
    return y


def _squeeze_excite(weights: dict[str, np.ndarray], prefix: str, x: Any, *, name: str) -> Any:
    import keras

    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    squeezed = _dense(weights, f"{prefix}.fc1", pooled, activation="relu", name=f"{name}_fc1")
    scale = _dense(weights, f"{prefix}.fc2", squeezed, activation="sigmoid", name=f"{name}_fc2")
    return keras.layers.Multiply(name=f"{name}_scale")([x, scale])


def _dense(weights: dict[str, np.ndarray], prefix: str, x: Any, *, activation: str | None, name: str) -> Any:
    import keras

    kernel = weights[f"{prefix}.weight"]  # (out, in)
    layer = keras.layers.Dense(kernel.shape[0], activation=activation, name=name)
    y = layer(x)
    layer.set_weights([kernel.T, weights[f"{prefix}.bias"]])
    return y
