"""The Keras port of EfficientAT mn04_as reproduces the published network block by block.

Tolerances: the reference was computed in float32 by PyTorch; the port runs float32
through other kernels (oneDNN / Eigen), whose sums over up to 384 x 25 products per
output round differently. One float32 rounding is ~6e-8 relative, and 17 blocks deep
the measured worst case is 3.5e-6 of a block's largest value; the test allows 1e-4
(30x that, far below any real error: a wrong padding or a missing BatchNorm moves
blocks by 1e-1 and more). Logits (magnitude ~5) measured within 3e-5, allowed 1e-3.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tagger.audioset.gate import DEFAULT_SCENE_PATH, RIVAL_ROWS, SceneNet
from tagger.audioset.melspec import logmel_32k
from tagger.model import file_sha256

PRETRAINED = Path(__file__).resolve().parents[3].parent / "shared" / "pretrained" / "efficientat-mn04"
NAMES = ("speech", "music", "noise")


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    if not (PRETRAINED / "reference.npz").is_file():
        pytest.skip("../shared/pretrained/efficientat-mn04 is not present")
    with np.load(PRETRAINED / "reference.npz") as archive:
        return {name: archive[name] for name in archive.files}


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    from tagger.audioset.network import load_mn04_weights

    if not (PRETRAINED / "mn04_as.npz").is_file():
        pytest.skip("../shared/pretrained/efficientat-mn04 is not present")
    return load_mn04_weights(PRETRAINED / "mn04_as.npz")


@pytest.fixture(scope="module")
def network(weights: dict[str, np.ndarray]) -> object:
    from tagger.audioset.network import build_mn04

    return build_mn04(weights)


@pytest.mark.parametrize("name", NAMES)
def test_front_end_reproduces_the_reference_mel(reference: dict[str, np.ndarray], name: str) -> None:
    ours = logmel_32k(reference[f"{name}_wave32k"])
    assert ours.shape == reference[f"{name}_mel"].shape == (128, 300)
    # float64 here, float32 there: measured <= 1.5e-5 on the log scale
    assert np.abs(ours - reference[f"{name}_mel"]).max() <= 1e-4


def test_every_block_and_the_logits_match(network: object, reference: dict[str, np.ndarray]) -> None:
    import keras

    model = network
    outputs = [model.get_layer(f"features_{i}").output for i in range(17)]  # type: ignore[attr-defined]
    probe = keras.Model(model.input, [*outputs, model.get_layer("embedding").output, model.output])  # type: ignore[attr-defined]
    x = np.stack([reference[f"{name}_mel"] for name in NAMES])[..., None]
    results = probe.predict(x, verbose=0)
    for i in range(17):
        for j, name in enumerate(NAMES):
            ref = reference[f"{name}_features{i}"]  # (channels, mel, frames)
            ours = results[i][j].transpose(2, 0, 1)
            assert ours.shape == ref.shape, f"features.{i}"
            assert np.abs(ours - ref).max() <= 1e-4 * np.abs(ref).max(), f"features.{i} of {name}"
    for j, name in enumerate(NAMES):
        assert np.abs(results[17][j] - reference[f"{name}_embedding"]).max() <= 1e-4
        assert np.abs(results[18][j] - reference[f"{name}_logits"]).max() <= 1e-3
    # and the classes say what the inputs are
    logits = results[18]
    assert logits[0].argmax() == 0 and logits[1].argmax() == 137  # Speech; Music


def test_saved_model_loads_in_safe_mode(network: object, tmp_path: Path) -> None:
    import keras

    path = tmp_path / "mn04.keras"
    network.save(path)  # type: ignore[attr-defined]
    again = keras.saving.load_model(path, safe_mode=True, compile=False)
    x = np.random.default_rng(0).normal(-0.5, 0.3, size=(1, 128, 96, 1)).astype(np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), network.predict(x, verbose=0), atol=1e-5)  # type: ignore[attr-defined]


def test_shipped_litert_trunk_and_head_match_the_keras_port(
    weights: dict[str, np.ndarray], reference: dict[str, np.ndarray]
) -> None:
    from tagger.audioset.network import build_scene_trunk

    trunk = build_scene_trunk(weights)
    net = SceneNet()
    x = np.stack([reference[f"{name}_mel"][:, :288] for name in NAMES])[..., None]  # 288 = 9 steps
    ours = net.trunk(x)
    assert ours.shape == (3, 9, 384)
    np.testing.assert_allclose(ours, trunk.predict(x, verbose=0), atol=1e-4)
    # the head on the reference embedding gives the reference probabilities
    probs = net.probabilities(np.stack([reference[f"{name}_embedding"] for name in NAMES]))
    all_probs = 1 / (1 + np.exp(-np.stack([reference[f"{name}_logits"] for name in NAMES])))
    expected = np.concatenate(
        [all_probs[:, [0, 27, 137]], all_probs[:, RIVAL_ROWS].max(axis=1, keepdims=True)], axis=1
    )
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_the_card_names_the_shipped_files_by_sha256() -> None:
    card = json.loads(DEFAULT_SCENE_PATH.with_name("scene.card.json").read_text())
    for name, digest in card["files"].items():
        assert file_sha256(DEFAULT_SCENE_PATH.with_name(name)) == digest
    assert "MIT" in card["licence"] and "CC BY 4.0" in card["licence"]
