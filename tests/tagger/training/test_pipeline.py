"""``train``: written model, card and report; one option set for both CLIs and the flow."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tagger.constants import EMOTIONS
from tagger.model import ModelConfig, file_sha256, load_model
from tagger.training import TrainConfig, TrainOptions, TrainResult, options_from_args, pipeline, train
from tests.fixtures.corpus import TINY_RECIPE, write_corpus

RECIPE = TINY_RECIPE


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainResult]:
    root = tmp_path_factory.mktemp("corpus")
    manifest, _ = write_corpus(root)  # folds.tsv beside the manifest: used by default
    options = TrainOptions(
        manifest=manifest, out_dir=root / "out", name="tiny", recipe=RECIPE, benchmark=False
    )
    return root, train(options, log=lambda _msg: None)


def test_outputs_card_and_a_verifiable_model(trained: tuple[Path, TrainResult]) -> None:
    root, result = trained
    out = root / "out"
    written = ("model.keras", "model.card.json", "MODEL_CARD.md", "report.md", "report.json", "confusion.png")
    for name in written:
        assert (out / name).is_file(), name
    card = json.loads((out / "model.card.json").read_text())
    assert card == json.loads(json.dumps(result.card))
    for key in ("window_config", "feature_config", "training", "cv_metrics", "calibration"):
        assert key in card, key
    assert card["classes"] == list(EMOTIONS)
    digest = file_sha256(out / "model.keras")
    assert card["sha256"] == digest and card["version"] == f"tiny-{digest[:12]}"
    assert card["input"] == {**card["input"], "name": "features", "shape": [161]}
    assert card["training"]["actors"] == [1, 2, 3, 4]
    assert load_model(out / "model.keras").version == card["version"]
    assert "python -m tagger.training --manifest" in (out / "MODEL_CARD.md").read_text()


def test_report_rows_measure_skill_on_unseen_speakers(trained: tuple[Path, TrainResult]) -> None:
    """On clips whose emotions sound clearly different, our model and the SVM must score
    high on actors they never saw; the folds are those of folds.tsv (two)."""
    root, result = trained
    report = json.loads((root / "out" / "report.json").read_text())
    rows = {(row["name"], row["split"]): row for row in report["rows"]}
    assert len(rows) == 4 and sum(split.startswith("random") for _, split in rows) == 1
    ours = rows[("ours (aggregate_mlp)", "speaker-grouped 2-fold")]
    svm = rows[("SVM (RBF, 161 window aggregates)", "speaker-grouped 2-fold")]
    for row in (ours, svm):
        assert row["clip_accuracy"] >= 0.9 and row["macro_f1"] >= 0.9, row["name"]
        assert len(row["metrics"]["per_fold"]["accuracy"]) == 2
    assert result.card["cv_metrics"]["clip_accuracy"] == ours["clip_accuracy"]
    assert len(report["calibration"]["coverage_table"]) == 10
    for row in result.rows:
        assert len(row.splits) == (1 if row.split.startswith("random") else 2)


def test_summary_is_json_and_names_the_model(trained: tuple[Path, TrainResult]) -> None:
    _, result = trained
    summary = result.summary()
    assert json.loads(json.dumps(summary)) == summary  # no default= needed
    assert summary["version"] == result.card["version"]
    assert summary["model_path"] == str(result.model_path)
    assert [row["name"] for row in summary["rows"]][-1] == "ours (aggregate_mlp)"
    assert summary["rows"][-1]["clip_accuracy"] == result.card["cv_metrics"]["clip_accuracy"]


ALL_FLAGS = [
    "--manifest", "m/manifest.tsv", "--folds", "m/folds.tsv", "--out", "models/new",
    "--report-dir", "docs/model", "--filename", "default", "--name", "emo", "--seed", "3",
    "--kind", "logmel_cnn", "--epochs", "7", "--lr", "0.01", "--weight-decay", "0",
    "--members", "2", "--paper-epochs", "5", "--no-baselines", "--no-benchmark", "--cache", "c.npz",
]  # fmt: skip


def test_both_command_lines_take_the_same_flags_to_the_same_options() -> None:
    from flows.cli import _parser

    module_args = pipeline.build_parser().parse_args(ALL_FLAGS)
    emotag_args = _parser().parse_args(["train", *ALL_FLAGS])
    expected = options_from_args(module_args)
    assert options_from_args(emotag_args) == expected
    assert expected.recipe == replace(
        TrainConfig(),
        model=ModelConfig(kind="logmel_cnn", input_shape=(300, 64), time_pool=4),
        epochs=7,
        learning_rate=0.01,
        weight_decay=0.0,
        n_members=2,
        paper_epochs=5,
    )
    assert (expected.baselines, expected.benchmark, expected.seed) == (False, False, 3)


@pytest.mark.parametrize("command", ["emotag", "module"])
def test_train_json_prints_the_summary(
    trained: tuple[Path, TrainResult],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    _, result = trained
    seen: list[TrainOptions] = []

    def fake_train(options: TrainOptions, **_: Any) -> TrainResult:
        seen.append(options)
        return result

    monkeypatch.setattr(pipeline, "train", fake_train)
    argv = ["--manifest", "m.tsv", "--out", "o", "--json"]
    if command == "emotag":
        from flows.cli import main

        assert main(["train", *argv]) == 0
    else:
        assert pipeline.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == result.summary()
    assert seen == [TrainOptions(manifest=Path("m.tsv"), out_dir=Path("o"), recipe=seen[0].recipe)]
    assert seen[0].recipe == replace(TrainConfig(), model=ModelConfig())


def test_two_corpora_with_a_test_fold(tmp_path: Path) -> None:
    """A second corpus that lacks classes trains with the first; the test fold's speakers
    are in neither CV nor the shipped model, and are scored per corpus."""
    first, _ = write_corpus(
        tmp_path / "first", actors=(1, 2, 3, 4, 5, 6), emotions=("neutral", "angry", "sad", "happy")
    )
    second, _ = write_corpus(
        tmp_path / "second", actors=(11, 12, 13, 14, 15, 16), emotions=("neutral", "angry")
    )
    options = TrainOptions(
        manifest=first,
        extra_manifests=(second,),
        test_fold=2,
        out_dir=tmp_path / "out",
        name="two",
        recipe=RECIPE,
        baselines=False,
        benchmark=False,
    )
    result = train(options, log=lambda _msg: None)
    card = result.card
    assert card["training"]["corpora"] == ["first", "second"]
    assert card["training"]["actors"] == [1, 2, 3, 4, 11, 12, 13, 14]
    assert card["training"]["test_actors"] == [5, 6, 15, 16]
    assert set(card["cv_per_corpus"]) == set(card["test_per_corpus"]) == {"first", "second"}
    assert card["cv_per_corpus"]["second"]["classes"] == ["neutral", "angry"]
    assert set(card["cv_per_corpus"]["first"]["per_fold_accuracy"]) == {0, 1}
    # actors 5 and 6, 2 takes of 4 emotions, less the repeated (identical) sad tone
    assert card["test_per_corpus"]["first"]["n"] == 2 * (2 * 4 - 1)
    for score in card["test_per_corpus"].values():
        assert score["own_classes"]["clip_accuracy"] >= 0.9
    assert result.rows[0].split == "speaker-grouped 2-fold"
    assert [split.fold for split in result.rows[0].splits] == [0, 1]
    assert "first" in card["training"]["dataset"] and "second" in card["training"]["dataset"]
    # the test speakers' neutral figures under the card's rule (the arg-max by default)
    assert card["decision"]["rule"] == "argmax"
    for score in card["test_per_corpus"].values():
        assert score["neutral"]["argmax"] == score["neutral"]["decided"]
        assert 0.0 <= score["neutral"]["decided"]["neutral_recall"] <= 1.0
    # out-of-fold clip probabilities of the CV clips, calibrated, for choosing decision rules
    oof = np.load(result.report_dir / "oof_probs.npz")
    n = card["training"]["n_clips"]
    assert oof["probs"].shape == (n, 8) and oof["labels"].shape == oof["corpus"].shape == (n,)
    np.testing.assert_allclose(oof["probs"].sum(axis=1), 1.0, atol=1e-5)
    assert list(oof["corpora"]) == ["first", "second"] and not set(oof["actors"]) & {5, 6, 15, 16}
    # trained with the partial-label loss, yet loadable with safe_mode and no custom objects
    assert load_model(result.model_path, runtime="keras").version == card["version"]
