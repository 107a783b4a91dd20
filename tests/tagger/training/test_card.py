"""The model card's reproduce line carries what it takes to train the same model again.

The CNN recipe's cards (``python -m tagger.training``) are read from the last one shipped
(``tests/fixtures/cnn.card.json``); the shipped card is a fine-tuned tail's
(:mod:`tagger.training.mn04`)."""

from __future__ import annotations

import json
from pathlib import Path

from tagger.model import DEFAULT_MODEL_PATH, card_path_for
from tagger.training.card import model_card_markdown
from tagger.training.config import TrainOptions

CNN_CARD = Path(__file__).resolve().parents[2] / "fixtures" / "cnn.card.json"


def test_the_reproduce_line_names_the_model_when_the_name_is_not_the_default() -> None:
    card = json.loads(CNN_CARD.read_text())
    assert card["name"] != TrainOptions.name  # that model is "emotag-five"
    assert f"--name {card['name']} " in model_card_markdown(card)
    assert "--name" not in model_card_markdown({**card, "name": TrainOptions.name})


def test_the_shipped_markdown_card_is_rendered_from_the_shipped_card() -> None:
    card = json.loads(card_path_for(DEFAULT_MODEL_PATH).read_text())
    assert (DEFAULT_MODEL_PATH.parent / "MODEL_CARD.md").read_text() == model_card_markdown(card)


def test_the_reproduce_line_parses_back_to_the_card_recipe() -> None:
    import shlex

    from tagger.training.config import options_from_args
    from tagger.training.pipeline import build_parser

    card = json.loads(CNN_CARD.read_text())
    recipe = {**card["training"]["recipe"], "max_clip_db": 20.0, "eq_db": 4.0, "speed": [0.9, 1.1]}
    card = {**card, "training": {**card["training"], "recipe": recipe}}
    line = next(t for t in model_card_markdown(card).splitlines() if t.startswith("Reproduce: "))
    command = line.removeprefix("Reproduce: `").removesuffix("`.")
    argv = shlex.split(command)[3:]  # after "python -m tagger.training"
    parsed = options_from_args(build_parser().parse_args(argv)).recipe
    keys = (
        "epochs",
        "n_members",
        "cv_members",
        "noise_copies",
        "max_clip_db",
        "eq_db",
        "noise_dir",
        "music_dir",
    )
    for key in keys:
        assert getattr(parsed, key) == recipe[key], key
    assert parsed.gain_db == tuple(recipe["gain_db"]) and parsed.speed == tuple(recipe["speed"])
    assert parsed.noise_probability == recipe["noise_probability"]


def test_the_reproduce_line_carries_the_decision_rule_and_the_card_describes_it() -> None:
    import shlex

    from tagger.decision import Decision
    from tagger.training.config import options_from_args
    from tagger.training.pipeline import build_parser

    card = json.loads(CNN_CARD.read_text())
    for decision in (Decision(), Decision("neutral_group", neutral_weight=2.5, calm_weight=10.0)):
        text = model_card_markdown({**card, "decision": decision.as_card()})
        line = next(t for t in text.splitlines() if t.startswith("Reproduce: "))
        argv = shlex.split(line.removeprefix("Reproduce: `").removesuffix("`."))[3:]
        assert options_from_args(build_parser().parse_args(argv)).decision == decision
        assert ("calm taken as a kind of neutral" in text) == (decision.rule == "neutral_group")


def test_leave_one_corpus_out_figures_join_the_card_with_their_command(tmp_path: Path) -> None:
    from tagger.training.card import attach_loco

    card_path = tmp_path / "default.card.json"
    card_path.write_text(CNN_CARD.read_text())
    results = {
        "recipe": {"kind": "x"},
        "holdout ravdess": {"uar": 0.40, "clip_accuracy": 0.4, "n": 10, "neutral_recall_8way": 0.5},
        "holdout kotts": {"uar": 0.30, "clip_accuracy": 0.3, "n": 10, "neutral_recall_8way": None},
    }
    card = attach_loco(card_path, results, command="python -m benchmarks.corpora --experiments holdout")
    assert set(card["loco"]["corpora"]) == {"ravdess", "kotts"}
    assert json.loads(card_path.read_text()) == card
    text = (tmp_path / "MODEL_CARD.md").read_text()
    assert text == model_card_markdown(card)
    assert "| ravdess | 40.0 | 50.0 |" in text and "| kotts | 30.0 | – |" in text
    assert "| mean | 35.0 | |" in text and "--experiments holdout" in text


def test_the_shipped_card_attributes_every_corpus_and_the_pretrained_network() -> None:
    card = json.loads(card_path_for(DEFAULT_MODEL_PATH).read_text())
    text = model_card_markdown(card)
    for name in ("RAVDESS", "nEMO", "ASED", "EMOVO", "Korean", "EfficientAT mn04_as", "UrbanSound8K"):
        assert name in text, name
    assert all(f"`{line}`" in text for line in card["reproduce"])
    assert set(card["test_per_corpus"]) == {"ravdess", "nemo", "ased", "emovo", "kotts"}
    assert "Leave one corpus out" in text and "| mean |" in text  # the LOCO table
    assert card["calibration"]["fitted_on"].startswith("windows of the validation speakers")
    # calibration of what the catalogue stores, measured on the test speakers, every corpus
    assert set(card["test_label_ece"]) == {"ravdess", "nemo", "ased", "emovo", "kotts", "all"}
    assert "decided label against its `confidence`" in text
    assert "--label-smoothing" in card["loco"]["command"]  # LOCO of the shipped recipe
