"""Fitting the network: it learns a separable two-class set and predicts probabilities."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tagger.constants import EMOTIONS
from tagger.model import ModelConfig
from tagger.training.config import TrainConfig
from tagger.training.fit import fit_members, fit_network, predict_network
from tagger.training.labels import label_targets


def _two_class(n: int, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 has 12 dB more energy in log-mel bands 32–47."""
    y = rng.integers(0, 2, size=n)
    x = rng.normal(-40.0, 6.0, size=(n, *shape)).astype(np.float32)
    x[..., 32:48] += (12.0 * y).reshape((n,) + (1,) * len(shape)).astype(np.float32)
    return x, y


@pytest.mark.parametrize(
    ("mconfig", "shape"),
    [
        (ModelConfig(kind="melscal_cnn", input_shape=(75, 72), filters=(8, 8, 8), time_pool=1), (75, 72)),
        (ModelConfig(kind="aggregate_mlp", input_shape=(161,), units=(16,)), (161,)),
    ],
)
def test_network_learns_a_two_class_synthetic_set(mconfig: ModelConfig, shape: tuple[int, ...]) -> None:
    """The network must pick the band difference up and hold it on fresh samples
    (augmentation on, as in real training)."""
    rng = np.random.default_rng(7)
    x_train, y_train = _two_class(256, shape, rng)
    x_test, y_test = _two_class(128, shape, rng)
    config = TrainConfig(model=mconfig, epochs=20, batch_size=32, learning_rate=3e-3)
    model = fit_network(x_train, y_train, config=config, seed=0)
    probs = predict_network(model, x_test)
    assert probs.shape == (128, len(EMOTIONS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs.argmax(axis=1) == y_test).mean() >= 0.9


def test_fit_members_are_seeded_differently() -> None:
    rng = np.random.default_rng(0)
    x, y = _two_class(64, (161,), rng)
    config = TrainConfig(
        model=ModelConfig(kind="aggregate_mlp", input_shape=(161,), units=(8,)), epochs=1, n_members=2
    )
    members = fit_members(x, y, config=config, seed=0)
    assert len(members) == 2
    first, second = (predict_network(m, x) for m in members)
    assert not np.allclose(first, second)


def test_masked_crossentropy_renormalises_over_the_allowed_classes() -> None:
    from tagger.training.fit import masked_crossentropy

    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]], dtype=np.float32)
    one_hot = np.array([[0, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float32)
    allowed = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=np.float32)
    loss = np.asarray(masked_crossentropy(np.concatenate([one_hot, allowed], axis=1), probs))
    # Row 0: -log(0.2 / (0.1 + 0.2)); row 1 (all allowed): plain cross-entropy -log(0.25).
    np.testing.assert_allclose(loss, [-np.log(0.2 / 0.3), -np.log(0.25)], rtol=1e-5)
    # A set of acceptable classes: -log of their summed share of the allowed ones.
    accept = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], dtype=np.float32)
    loss = np.asarray(masked_crossentropy(np.concatenate([accept, allowed], axis=1), probs))
    np.testing.assert_allclose(loss, [0.0, -np.log(0.5)], rtol=1e-5, atol=1e-6)


def test_masked_training_learns_through_the_masked_loss() -> None:
    """The masked path (one-hot ‖ mask targets, class weights as sample weights) trains as
    the plain one does; the second half of the windows cannot label classes 2–7."""
    rng = np.random.default_rng(3)
    mconfig = ModelConfig(kind="melscal_cnn", input_shape=(75, 72), filters=(8, 8, 8), time_pool=1)
    x, y = _two_class(256, (75, 72), rng)
    targets = np.concatenate(
        [
            label_targets(y[:128], np.ones(len(EMOTIONS), dtype=bool)),
            label_targets(y[128:], np.arange(len(EMOTIONS)) < 2),
        ]
    )
    assert targets[128:, len(EMOTIONS) + 2 :].sum() == 0
    config = TrainConfig(model=mconfig, epochs=20, batch_size=32, learning_rate=3e-3)
    model = fit_network(x, y, config=config, seed=0, targets=targets)
    x_test, y_test = _two_class(128, (75, 72), rng)
    assert (predict_network(model, x_test).argmax(axis=1) == y_test).mean() >= 0.9


def test_training_prints_no_tensorflow_start_up_lines() -> None:
    """Issue #15: TensorFlow's absl/oneDNN start-up lines are silenced everywhere, training
    included (a fit that imported keras first used to print them)."""
    script = (
        "import numpy as np\n"
        "from tagger.training.config import TrainConfig\n"
        "from tagger.training.fit import fit_paper\n"
        "x = np.random.default_rng(0).normal(size=(16, 40)).astype('float32')\n"
        "fit_paper(x, np.arange(16) % 8, config=TrainConfig(paper_epochs=1), seed=0)\n"
        "print('fitted')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "fitted"
    for chatter in ("absl", "oneDNN", "cpu_feature_guard", "port.cc"):
        assert chatter not in done.stderr, done.stderr
