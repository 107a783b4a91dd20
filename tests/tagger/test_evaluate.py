"""``evaluate_manifest`` / ``format_report``: a model that learned scores high, one that
predicts a constant scores like one class, and the shipped model recognises its clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tagger.constants import EMOTIONS
from tagger.evaluate import evaluate_manifest, format_report
from tagger.model import ModelConfig, build_model
from tagger.testing.models import write_card
from tagger.training import TrainConfig, extract_clips, read_manifest
from tagger.training.dataset import model_inputs
from tagger.training.fit import fit_network
from tests.fixtures.corpus import write_corpus

TINY = ModelConfig(kind="aggregate_mlp", input_shape=(161,), units=(16,))


@pytest.fixture(scope="module")
def unseen_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Angry and sad clips of two actors no model here was trained on; the manifest sits
    in a subfolder and names its clips relative to itself."""
    root = tmp_path_factory.mktemp("unseen")
    manifest, _ = write_corpus(root, actors=(7, 8), emotions=("angry", "sad"), seed=500)
    nested = root / "sub" / "manifest.tsv"
    nested.parent.mkdir()
    lines = manifest.read_text().splitlines()
    nested.write_text("\n".join([lines[0], *(f"../{line}" for line in lines[1:])]) + "\n")
    return nested


def _learned_model(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    """A tiny model trained on neutral/angry/sad clips of actors 1-4, and its card."""
    manifest, _ = write_corpus(tmp_path / "train", emotions=("neutral", "angry", "sad"))
    clips = extract_clips(read_manifest(manifest))
    config = TrainConfig(model=TINY, epochs=30, batch_size=8, learning_rate=1e-2)
    model = fit_network(model_inputs(clips, "features"), clips.window_labels(), config=config, seed=0)
    path = tmp_path / "learned.keras"
    model.save(path)
    return path, write_card(path, name="learned")


def test_a_model_that_learned_the_emotions_scores_high(tmp_path: Path, unseen_manifest: Path) -> None:
    path, _ = _learned_model(tmp_path)
    result = evaluate_manifest(unseen_manifest, model_path=path)
    assert result["n_clips"] == 8 and result["model_version"].startswith("learned-")
    assert result["accuracy"] >= 0.85 and result["macro_f1"] >= 0.85 and result["uar"] >= 0.85
    assert result["window_accuracy"] >= 0.8


def _constant_model(tmp_path: Path, emotion: str = "angry") -> Path:
    """A model that always says ``emotion``, saved with its card."""
    model = build_model(TINY)
    dense = model.get_layer("probs")
    kernel, bias = dense.get_weights()
    bias = np.zeros_like(bias)
    bias[EMOTIONS.index(emotion)] = 10.0
    dense.set_weights([np.zeros_like(kernel), bias])
    path = tmp_path / "constant.keras"
    model.save(path)
    write_card(path, name="constant")
    return path


def test_a_constant_model_scores_as_one_class(tmp_path: Path, unseen_manifest: Path) -> None:
    """Always 'angry' on half angry, half sad clips: accuracy and UAR 0.5, macro-F1 1/3."""
    path = _constant_model(tmp_path)
    result = evaluate_manifest(unseen_manifest, model_path=path)
    assert result["accuracy"] == pytest.approx(0.5) and result["uar"] == pytest.approx(0.5)
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0.0) / 2)
    expected_angry = {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 4}
    assert result["per_class"]["angry"] == expected_angry
    assert result["per_class"]["sad"]["recall"] == 0.0 and result["per_class"]["sad"]["support"] == 4
    angry, sad = EMOTIONS.index("angry"), EMOTIONS.index("sad")
    assert [row[angry] for row in result["confusion"]] == [4 if i in (angry, sad) else 0 for i in range(8)]
    assert set(result["per_class"]) == {"angry", "sad"}
    text = format_report(result)
    assert "accuracy  0.500" in text and "macro-F1  0.333" in text and "angry" in text
    json.dumps(result)  # JSON-ready for --json


def test_a_fold_scores_only_the_speakers_the_folds_file_puts_in_it(tmp_path: Path) -> None:
    """``fold=2``: the clips of the actors ``folds.tsv`` puts in fold 2, nothing else; a fold
    without clips, or no folds file, is a clear error."""
    from tagger.errors import DatasetError

    path = _constant_model(tmp_path)
    manifest, _ = write_corpus(tmp_path / "c", actors=(7, 8, 9), emotions=("angry", "sad"), seed=502)
    everything = evaluate_manifest(manifest, model_path=path)
    (manifest.parent / "folds.tsv").unlink(missing_ok=True)
    with pytest.raises(DatasetError, match="folds file not found"):
        evaluate_manifest(manifest, model_path=path, fold=2)
    (manifest.parent / "folds.tsv").write_text("actor\tfold\n7\t2\n8\t0\n9\t2\n", encoding="utf-8")
    test = evaluate_manifest(manifest, model_path=path, fold=2)
    assert test["fold"] == 2 and everything["fold"] is None
    assert test["n_clips"] == 2 * everything["n_clips"] // 3
    other = evaluate_manifest(manifest, model_path=path, fold=0)
    assert other["n_clips"] + test["n_clips"] == everything["n_clips"]
    assert "the speakers of fold 2" in format_report(test)
    with pytest.raises(DatasetError, match="fold 3"):
        evaluate_manifest(manifest, model_path=path, fold=3)


def test_shipped_model_recognises_clips_it_was_trained_on(corpus: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(corpus / "manifest.tsv", sep="\t")
    subset = frame[frame["actor"].isin([1, 2])]  # every clip of two training actors: 120
    subset = subset.assign(path=[str(corpus / p) for p in subset["path"]])
    manifest = tmp_path / "m.tsv"
    subset.to_csv(manifest, sep="\t", index=False)
    result = evaluate_manifest(manifest)
    assert result["n_clips"] == len(subset) == 120
    assert result["accuracy"] >= 0.6  # 8 emotions: chance is 0.125
    assert result["neutral_recall"] >= 0.6  # the card's rule: neutral speech reads as neutral
    assert len(result["per_class"]) == len(EMOTIONS)


def test_a_speaker_manifest_is_scored_on_its_classes_and_its_unseen_speakers(tmp_path: Path) -> None:
    """A nEMO-style manifest (``speaker`` names, fewer classes): the report scores the
    arg-max among its classes, counts the clips of speakers the card says the model was
    trained on, and scores the others on their own."""
    from tagger.training.dataset import speaker_id

    path, card = _learned_model(tmp_path)
    folder = tmp_path / "nemo-like"
    source, _ = write_corpus(folder, actors=(7, 8, 9), emotions=("angry", "sad"), seed=900)
    rows = [line.split("\t") for line in source.read_text().splitlines()[1:]]
    manifest = folder / "speakers.tsv"
    manifest.write_text(
        "path\tspeaker\temotion\n" + "".join(f"{p}\tS{a}\t{e}\n" for p, e, a in rows), encoding="utf-8"
    )
    card["training"] = {"actors": [speaker_id("nemo-like", "S7"), speaker_id("nemo-like", "S8"), 1, 2]}
    path.with_name("learned.card.json").write_text(json.dumps(card))
    result = evaluate_manifest(manifest, model_path=path)
    assert result["own_classes"]["classes"] == ["sad", "angry"]
    assert result["own_classes"]["clip_accuracy"] >= result["accuracy"]
    assert result["seen_speaker_clips"] == 2 * result["n_clips"] // 3
    unseen = result["unseen_speakers"]
    assert unseen["n_speakers"] == 1 and unseen["all_classes"]["n"] == result["n_clips"] // 3
    report = format_report(result)
    assert "not speaker-independent" in report and "never heard (1," in report


def test_the_command_takes_several_manifests(tmp_path: Path, unseen_manifest: Path) -> None:
    """``emotag evaluate A B``: one report per manifest, JSON a list (one manifest: an object)."""
    import os
    import subprocess
    import sys

    path, _ = _learned_model(tmp_path)
    other, _ = write_corpus(tmp_path / "other", actors=(9,), emotions=("neutral", "sad"), seed=501)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "flows.cli", "evaluate", "--model", str(path), "--json"]
    done = subprocess.run(
        [*command, str(unseen_manifest), str(other)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert [r["manifest"] for r in results] == [str(unseen_manifest), str(other)]
    assert [r["n_clips"] for r in results] == [8, 4] and all("arousal" in r for r in results)
    single = subprocess.run([*command, str(other)], capture_output=True, text=True, env=env)
    assert json.loads(single.stdout)["n_clips"] == 4
