"""maintain-catalog under the harness; model promotion rule of train-model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from catalog import Catalog
from flows.maintenance import maintain_catalog, promote_if_better
from tagger.testing.models import build_tiny_model
from tests.catalog.factories import make_unit


@pytest.mark.usefixtures("prefect_harness")
def test_maintenance_compacts_and_checks_without_changing_rows(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    catalog.ensure()
    for i in range(4):
        catalog.write_units([make_unit(i)], run_id="r")
    report = maintain_catalog(
        catalog_root=str(tmp_path / "catalog"), retention_hours=0, export_to=str(tmp_path / "x")
    )
    assert report["checks"]["ok"] is True
    assert report["checks"]["incomplete_units"] == 0 and report["checks"]["duplicate_windows"] == 0
    assert report["compact"]["windows"] >= 2
    assert report["exported_rows"]["windows"] == 80
    assert catalog.count("windows") == 80


def _with_score(model: Path, folder: Path, score: float) -> Path:
    folder.mkdir(parents=True)
    copy = folder / model.name
    shutil.copyfile(model, copy)
    card = json.loads(model.with_name(model.name.removesuffix(".keras") + ".card.json").read_text())
    card["cv_metrics"] = {"clip_accuracy": score}
    copy.with_name(copy.name.removesuffix(".keras") + ".card.json").write_text(json.dumps(card))
    return copy


def test_a_model_is_promoted_only_when_it_scores_better(tmp_path: Path) -> None:
    base = build_tiny_model(tmp_path / "base")
    target = tmp_path / "shipped" / "default.keras"
    first = _with_score(base, tmp_path / "a", 0.60)
    assert promote_if_better(first, target)[0] is True
    worse = _with_score(base, tmp_path / "b", 0.55)
    promoted, reason = promote_if_better(worse, target)
    assert promoted is False and "kept" in reason
    better = _with_score(base, tmp_path / "c", 0.70)
    assert promote_if_better(better, target)[0] is True
    card = json.loads((tmp_path / "shipped" / "default.card.json").read_text())
    assert card["cv_metrics"]["clip_accuracy"] == 0.70
