"""The model card's reproduce line carries what it takes to train the same model again."""

from __future__ import annotations

import json

from tagger.model import DEFAULT_MODEL_PATH, card_path_for
from tagger.training.card import model_card_markdown
from tagger.training.config import TrainOptions


def test_the_reproduce_line_names_the_model_when_the_name_is_not_the_default() -> None:
    card = json.loads(card_path_for(DEFAULT_MODEL_PATH).read_text())
    assert card["name"] != TrainOptions.name  # the shipped model is "emotag-multi"
    assert f"--name {card['name']} " in model_card_markdown(card)
    assert "--name" not in model_card_markdown({**card, "name": TrainOptions.name})


def test_the_shipped_markdown_card_is_rendered_from_the_shipped_card() -> None:
    card = json.loads(card_path_for(DEFAULT_MODEL_PATH).read_text())
    assert (DEFAULT_MODEL_PATH.parent / "MODEL_CARD.md").read_text() == model_card_markdown(card)
