"""Training plumbing: manifest reading, speaker-grouped CV, written model, card and report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tagger.constants import EMOTIONS, SAMPLE_RATE
from tagger.errors import ConfigError
from tagger.model import ModelConfig, load_model
from tagger.testing.signals import speech_like, tone, white_noise
from tagger.train import (
    TrainConfig,
    TrainResult,
    add_noise,
    classification_metrics,
    clip_folds,
    default_folds,
    fit_network,
    mix_noisy,
    predict_network,
    read_folds,
    read_manifest,
    train,
)

N_ACTORS = 4


def _write_corpus(root: Path) -> tuple[Path, Path]:
    """4 actors × 3 emotions × 2 takes of 3.2 s FLAC; folds: actors {1,2} -> 0, {3,4} -> 1."""
    rows = ["path\temotion\tactor"]
    for actor in range(1, N_ACTORS + 1):
        for take in range(2):
            seed = 10 * actor + take
            signals = {
                "neutral": speech_like(3.2, seed=seed, f0_hz=110.0),
                "angry": speech_like(3.2, seed=seed, f0_hz=260.0, level=0.6)
                + white_noise(3.2, amplitude=0.05, seed=seed),
                "sad": tone(3.2, freq_hz=180.0 + 10 * actor, amplitude=0.1),
            }
            for emotion, y in signals.items():
                rel = f"audio/a{actor:02d}_{emotion}_{take}.flac"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(root / rel, y, SAMPLE_RATE)
                rows.append(f"{rel}\t{emotion}\t{actor}")
    manifest = root / "manifest.tsv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folds = root / "folds.tsv"
    folds.write_text(
        "actor\tfold\n" + "".join(f"{a}\t{(a - 1) // 2}\n" for a in range(1, N_ACTORS + 1)),
        encoding="utf-8",
    )
    return manifest, folds


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainResult]:
    root = tmp_path_factory.mktemp("corpus")
    manifest, folds = _write_corpus(root)
    config = TrainConfig(
        model=ModelConfig(kind="aggregate_mlp", input_shape=(161,), units=(16,)),
        epochs=2,
        paper_epochs=1,
    )
    result = train(
        manifest,
        folds=folds,
        out_dir=root / "out",
        seed=0,
        config=config,
        name="tiny",
        benchmark=False,
        log=lambda _msg: None,
    )
    return root, result


def test_cv_never_puts_an_actor_on_both_sides(trained: tuple[Path, TrainResult]) -> None:
    _, result = trained
    for row in result.rows:
        if row.split.startswith("random"):
            continue
        folds = row.clip_fold
        assert sorted(set(folds.tolist())) == [0, 1]
    root, _ = trained
    frame = read_manifest(root / "manifest.tsv")
    fold_of = read_folds(root / "folds.tsv")
    for k in (0, 1):
        test_actors = {a for a in frame["actor"] if fold_of[a] == k}
        train_actors = {a for a in frame["actor"] if fold_of[a] != k}
        assert test_actors and train_actors and not test_actors & train_actors


def test_outputs_and_card(trained: tuple[Path, TrainResult]) -> None:
    root, _ = trained
    out = root / "out"
    for name in ("model.keras", "model.card.json", "report.md", "report.json", "confusion.png"):
        assert (out / name).is_file(), name
    card = json.loads((out / "model.card.json").read_text())
    for key in (
        "name",
        "version",
        "classes",
        "input",
        "window_config",
        "feature_config",
        "training",
        "cv_metrics",
        "calibration",
    ):
        assert key in card, key
    assert card["classes"] == list(EMOTIONS)
    assert card["version"].startswith("tiny-") and len(card["version"]) == len("tiny-") + 12
    assert card["input"] == {**card["input"], "name": "features", "shape": [161]}
    assert card["calibration"]["temperature"] > 0
    report = json.loads((out / "report.json").read_text())
    names = [(row["name"], row["split"]) for row in report["rows"]]
    assert len(names) == 4 and any(split.startswith("random") for _, split in names)
    for row in report["rows"]:
        assert 0.0 <= row["clip_accuracy"] <= 1.0
        assert len(row["metrics"]["per_fold"]["accuracy"]) in (1, 2)
    assert len(report["calibration"]["coverage_table"]) == 10
    classifier = load_model(out / "model.keras")
    assert classifier.version == card["version"]


def test_manifest_and_fold_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("path\temotion\nx.flac\tbored\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown emotion"):
        read_manifest(bad)
    no_col = tmp_path / "nocol.tsv"
    no_col.write_text("path\nx.flac\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lacks"):
        read_manifest(no_col)
    with pytest.raises(ConfigError):
        read_manifest(tmp_path / "absent.tsv")
    with pytest.raises(ConfigError, match="actor"):
        default_folds(np.array([-1, -1]))
    assert default_folds(np.arange(1, 11)) == {a: (a - 1) % 5 for a in range(1, 11)}


def test_clip_folds_requires_every_actor() -> None:
    class _Clips:
        actors = np.array([1, 2, 3])

    with pytest.raises(ConfigError, match="without a fold"):
        clip_folds(_Clips(), {1: 0, 2: 1})  # type: ignore[arg-type]


def test_classification_metrics_known_case() -> None:
    true = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    m = classification_metrics(true, pred)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert set(m["per_class"]) == {"neutral", "calm"}
    assert m["per_class"]["calm"]["precision"] == pytest.approx(2 / 3)
    assert np.asarray(m["confusion"]).shape == (8, 8)


@pytest.mark.parametrize(
    ("mconfig", "shape"),
    [
        (ModelConfig(kind="melscal_cnn", input_shape=(75, 72), filters=(8, 8, 8), time_pool=1), (75, 72)),
        (ModelConfig(kind="aggregate_mlp", input_shape=(161,), units=(16,)), (161,)),
    ],
)
def test_network_learns_a_two_class_synthetic_set(mconfig: ModelConfig, shape: tuple[int, ...]) -> None:
    """Class 1 has more energy in the upper log-mel bands: the network must pick it up and
    hold it on fresh samples (augmentation on, as in real training)."""
    rng = np.random.default_rng(7)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, size=n)
        x = rng.normal(-40.0, 6.0, size=(n, *shape)).astype(np.float32)
        x[..., 32:48] += (12.0 * y).reshape((n,) + (1,) * len(shape)).astype(np.float32)
        return x, y

    x_train, y_train = sample(256)
    x_test, y_test = sample(128)
    config = TrainConfig(model=mconfig, epochs=20, batch_size=32, learning_rate=3e-3)
    model = fit_network(x_train, y_train, config=config, seed=0)
    probs = predict_network(model, x_test)
    assert probs.shape == (128, len(EMOTIONS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs.argmax(axis=1) == y_test).mean() >= 0.9


def test_add_noise_hits_the_requested_snr() -> None:
    rng = np.random.default_rng(3)
    y = speech_like(3.0, seed=3)
    for _ in range(5):
        noisy = add_noise(y, rng, snr_db=(10.0, 10.0))
        noise = noisy - y
        loud = np.abs(y) > 1e-3
        snr = 10 * np.log10(np.mean(y[loud] ** 2) / np.mean(noise**2))
        assert noisy.dtype == np.float32 and noisy.shape == y.shape
        assert abs(snr - 10.0) < 0.5


def test_mix_noisy_swaps_the_requested_share_of_windows() -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((2000, 3, 2), dtype=np.float32)
    x_noisy = np.stack([np.full_like(x, 1.0), np.full_like(x, 2.0)])
    mixed = mix_noisy(x, x_noisy, rng, fraction=0.5)
    per_window = mixed[:, 0, 0]
    assert set(np.unique(per_window)) == {0.0, 1.0, 2.0}
    assert 0.45 < np.mean(per_window > 0) < 0.55
    assert np.all(x == 0.0)  # the input is not modified
    np.testing.assert_array_equal(mix_noisy(x, None, rng, fraction=0.5), x)
