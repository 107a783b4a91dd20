"""The demo and the shipped model: the demo's clips are by speakers the model never heard."""

from __future__ import annotations

import json

from tagger.demo import demo_actors
from tagger.model import DEFAULT_MODEL_PATH, card_path_for


def test_the_demo_clips_are_by_test_speakers_of_the_shipped_model() -> None:
    """RAVDESS file names end in the actor number; the card lists the actors the model was
    trained on and the test speakers it was kept from, so the demo's 5/6 is not a score on
    training speakers."""
    card = json.loads(card_path_for(DEFAULT_MODEL_PATH).read_text(encoding="utf-8"))
    actors = demo_actors()
    assert actors, "no demo clips found"
    assert not actors & set(card["training"]["actors"])
    assert actors <= set(card["training"]["test_actors"])
