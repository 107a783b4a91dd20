"""The classifier: lazy TensorFlow import, safe loading against the card, shipped model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tagger.constants import EMOTIONS, NON_EMOTION_LABELS
from tagger.errors import ConfigError, ModelError, ParameterError
from tagger.features import SILENCE_DB
from tagger.frontend import WindowBatch, analyse_signal
from tagger.model import (
    DEFAULT_MODEL_PATH,
    INPUT_SHAPES,
    ModelConfig,
    build_model,
    card_path_for,
    file_sha256,
    level_free_mel_scalar_steps,
    load_model,
    mel_scalar_steps,
    model_config_for,
    window_inputs,
    window_level_db,
)
from tagger.testing.signals import pink_noise, silence, speech_like

ALLOWED = set(EMOTIONS) | set(NON_EMOTION_LABELS)


def _card(**overrides: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "name": "test",
        "version": "test-000000000000",
        "classes": list(EMOTIONS),
        "input": {"name": "features", "shape": [161]},
        "calibration": {"temperature": 1.5, "abstain_threshold": 0.3},
    }
    card.update(overrides)
    return card


def _save(model: Any, card: dict[str, Any] | None, path: Path) -> Path:
    """Save ``model`` and ``card``, the card stamped with the file's sha256 as training does."""
    model.save(path)
    if card is not None:
        digest = file_sha256(path)
        card = {**card, "version": f"{card['name']}-{digest[:12]}", "sha256": digest}
        card_path_for(path).write_text(json.dumps(card), encoding="utf-8")
    return path


def _tiny_mlp() -> Any:
    return build_model(ModelConfig(kind="aggregate_mlp", input_shape=(161,), units=(8,)))


def test_import_does_not_import_tensorflow() -> None:
    code = "import sys, tagger.model; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("config", "shape"),
    [
        (ModelConfig(), (2, 75, 72)),
        (ModelConfig(kind="logmel_cnn", input_shape=(300, 64)), (2, 300, 64)),
        (ModelConfig(kind="frames_cnn", input_shape=(300, 92)), (2, 300, 92)),
        (ModelConfig(kind="aggregate_mlp", input_shape=(161,)), (2, 161)),
        (ModelConfig(kind="paper_conv1d", input_shape=(40,)), (2, 40)),
    ],
)
def test_build_model_shapes(config: ModelConfig, shape: tuple[int, ...]) -> None:
    model = build_model(config)
    out = np.asarray(model(np.zeros(shape, dtype=np.float32), training=False))
    assert out.shape == (2, len(EMOTIONS))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_melscal_pools_frames_and_keeps_the_voicing_columns() -> None:
    batch = analyse_signal(speech_like(4.0, seed=5))
    assert batch is not None
    x = mel_scalar_steps(batch.frames)
    n, t, _ = batch.frames.shape
    assert x.shape == (n, t // 4, 72) and x.dtype == np.float32
    # Step j is the mean of frames 4j..4j+3: the log-mel part equals a direct average.
    np.testing.assert_allclose(x[:, 1, :64], batch.frames[:, 4:8, :64].mean(axis=1), rtol=1e-5, atol=1e-4)
    f0 = batch.frames[:, :, -1]
    log_f0 = np.where(f0 > 0, np.log(np.maximum(f0, 1.0)), 0.0).reshape(n, t // 4, 4).mean(axis=2)
    np.testing.assert_allclose(x[:, :, -1], log_f0, rtol=1e-5, atol=1e-5)
    assert window_inputs("melscal", frames=batch.frames, features=batch.features).shape == x.shape
    with pytest.raises(ModelError):
        mel_scalar_steps(batch.frames[:, :298])
    with pytest.raises(ModelError):
        window_inputs("mfcc40", frames=batch.frames, features=batch.features)


@pytest.mark.parametrize(("peak", "gain"), [(0.9, 0.1), (0.09, 10.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_melscal_rel_is_level_free(peak: float, gain: float, seed: int) -> None:
    """Scaling a signal by 0.1 or 10 (no clipping) leaves the level-free input as it was."""
    y = speech_like(6.0, seed=seed, level=peak) + pink_noise(6.0, amplitude=peak * 0.003, seed=seed + 10)
    scaled = y * gain
    assert max(np.abs(y).max(), np.abs(scaled).max()) < 1.0
    before, after = analyse_signal(y), analyse_signal(scaled)
    assert before is not None and after is not None
    x0 = window_inputs("melscal_rel", frames=before.frames, features=before.features)
    x1 = window_inputs("melscal_rel", frames=after.frames, features=after.features)
    assert x0.shape == x1.shape == (len(before), 75, 72)
    # Level columns (64 log-mel, rms) in dB re the window's level: equal to a hundredth of a dB.
    np.testing.assert_allclose(x1[..., :65], x0[..., :65], atol=0.01)
    np.testing.assert_allclose(
        window_level_db(after.frames), window_level_db(before.frames) + 20 * np.log10(gain), atol=0.01
    )
    # Every column, on windows above -50 dBFS at both levels (the documented range): the
    # spectral shape columns move by float rounding only (a roll-off bin is 15.6 Hz).
    kept = np.minimum(window_level_db(before.frames), window_level_db(after.frames)) > -50.0
    assert kept.any()
    np.testing.assert_allclose(x1[kept], x0[kept], rtol=2e-3, atol=0.01)
    # ...whereas the shipped input moves by the gain.
    shift = mel_scalar_steps(after.frames)[..., 64] - mel_scalar_steps(before.frames)[..., 64]
    assert abs(float(np.median(shift)) - 20 * np.log10(gain)) < 0.5


def test_melscal_rel_floors_silence_and_keeps_melscal_columns() -> None:
    batch = analyse_signal(np.concatenate([speech_like(3.0, seed=4, level=0.3), silence(3.0)]))
    assert batch is not None
    x = level_free_mel_scalar_steps(batch.frames)
    assert x.shape == mel_scalar_steps(batch.frames).shape and x.dtype == np.float32
    assert float(x[..., :65].min()) >= -50.0
    silent = batch.frames[:, :, 64 + 20] <= SILENCE_DB  # rms_db of digital silence
    assert silent.any()
    # Columns 65-69 (zcr … flatness) are melscal's.
    np.testing.assert_allclose(x[..., 65:70], mel_scalar_steps(batch.frames)[..., 65:70])


def test_model_config_rejects_bad_shapes() -> None:
    with pytest.raises(ConfigError):
        ModelConfig(kind="logmel_cnn", input_shape=(161,))
    with pytest.raises(ConfigError):
        ModelConfig(dropout=1.0)


def test_lambda_layer_is_refused(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input(shape=(161,))
    doubled = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    outputs = keras.layers.Dense(len(EMOTIONS), activation="softmax")(doubled)
    path = _save(keras.Model(inputs, outputs), _card(), tmp_path / "lambda.keras")
    with pytest.raises(ModelError, match="safely"):
        load_model(path)


def test_card_mismatch_and_missing_card_are_refused(tmp_path: Path) -> None:
    model = _tiny_mlp()
    wrong_order = _card(classes=list(reversed(EMOTIONS)))
    with pytest.raises(ModelError, match="classes"):
        load_model(_save(model, wrong_order, tmp_path / "order.keras"))
    wrong_shape = _card(input={"name": "features", "shape": [160]})
    with pytest.raises(ModelError, match="input shape"):
        load_model(_save(model, wrong_shape, tmp_path / "shape.keras"))
    with pytest.raises(ModelError, match="card missing"):
        load_model(_save(model, None, tmp_path / "nocard.keras"))
    with pytest.raises(ModelError, match="missing"):
        load_model(tmp_path / "absent.keras")


def test_custom_model_predicts_and_is_cached(tmp_path: Path) -> None:
    path = _save(_tiny_mlp(), _card(), tmp_path / "ok.keras")
    classifier = load_model(path)
    assert load_model(str(path)) is classifier
    assert classifier.temperature == 1.5
    assert classifier.abstain_threshold == 0.3
    batch = analyse_signal(speech_like(4.0, seed=3))
    assert batch is not None
    probs = classifier.predict(batch)
    assert probs.shape == (len(batch), len(EMOTIONS))
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_melscal_cnn_reads_window_batches(tmp_path: Path) -> None:
    config = ModelConfig(kind="melscal_cnn", input_shape=(75, 72), filters=(4, 4, 4))
    card = _card(input={"name": "melscal", "shape": [75, 72]})
    classifier = load_model(_save(build_model(config), card, tmp_path / "cnn.keras"))
    batch = analyse_signal(speech_like(5.0, seed=4))
    assert batch is not None
    probs = classifier.predict(batch)
    assert probs.shape == (len(batch), len(EMOTIONS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    wrong = _card(input={"name": "logmel", "shape": [75, 72]})
    with pytest.raises(ModelError, match="shape"):
        load_model(_save(build_model(config), wrong, tmp_path / "wrong.keras")).predict(batch)


def test_label_rules() -> None:
    classifier = load_model(DEFAULT_MODEL_PATH)
    threshold = classifier.abstain_threshold
    probs = np.full((3, len(EMOTIONS)), 0.0, dtype=np.float32)
    probs[0, 4] = 1.0  # confident angry, speech
    probs[1] = 1.0 / len(EMOTIONS)  # flat: below any threshold > 1/8
    probs[2, 2] = 1.0  # confident but not speech
    labels = classifier.label(probs, np.array([True, True, False]))
    assert labels[0] == "angry"
    # flat: the decided class's evidence is 1/8 (arg-max) or 2/8 (neutral and calm as a pair)
    evidence = (2 if classifier.decision.rule == "neutral_group" else 1) / len(EMOTIONS)
    assert labels[1] == ("uncertain" if threshold > evidence else EMOTIONS[0])
    assert labels[2] == "no_speech"
    with pytest.raises(ParameterError):
        classifier.label(probs, np.array([True]))


def test_shipped_model_contract() -> None:
    classifier = load_model()
    assert classifier is load_model(DEFAULT_MODEL_PATH)
    card = classifier.card
    assert tuple(card["classes"]) == EMOTIONS
    assert card["version"].startswith(card["name"] + "-") and len(card["version"].split("-")[-1]) == 12
    assert card["window_config"]["window_s"] == 3.0 and card["window_config"]["hop_s"] == 1.0
    assert "CC BY-NC-SA 4.0" in card["training"]["licence"]
    assert 0.0 <= classifier.abstain_threshold < 1.0 and classifier.temperature > 0
    assert DEFAULT_MODEL_PATH.stat().st_size < 5_000_000

    signal = np.concatenate([speech_like(5.0, seed=1), silence(4.0)])
    batch = analyse_signal(signal)
    assert isinstance(batch, WindowBatch)
    probs = classifier.predict(batch)
    assert probs.shape == (len(batch), len(EMOTIONS)) and probs.dtype == np.float32
    assert np.all(np.isfinite(probs)) and np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    labels = classifier.label(probs, batch.is_speech)
    assert len(labels) == len(batch) and set(labels) <= ALLOWED
    assert not batch.is_speech.all()  # the silent tail yields no-speech windows
    for label, speech in zip(labels, batch.is_speech, strict=True):
        assert (label == "no_speech") == (not speech)


@pytest.mark.parametrize("kind", sorted(INPUT_SHAPES))
def test_model_config_for_builds_a_model_reading_window_inputs(kind: str) -> None:
    config = model_config_for(kind)
    assert config.kind == kind and config.input_shape == INPUT_SHAPES[kind]
    frames = np.zeros((2, 300, 92), dtype=np.float32)
    x = window_inputs(config.input_name, frames=frames, features=np.zeros((2, 161), dtype=np.float32))
    assert x.shape[1:] == config.input_shape
    with pytest.raises(ConfigError, match="unknown model kind"):
        model_config_for("transformer")
