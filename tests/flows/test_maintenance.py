"""maintain-catalog under the harness; model promotion rule of train-model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from catalog import Catalog
from catalog.testing import make_unit
from flows.maintenance import maintain_catalog, promote_if_better
from tagger.model import card_path_for
from tagger.testing.models import build_tiny_model


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


@pytest.mark.usefixtures("prefect_harness")
def test_train_model_takes_the_training_options_and_promotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow takes the same TrainOptions as both CLIs (as a deployment passes them: a
    dict of its fields), trains once through tagger.training.train, then promotes."""
    import flows.maintenance
    from tagger.training import TrainOptions, TrainResult

    seen: list[TrainOptions] = []

    def fake_train(options: TrainOptions, **_: object) -> TrainResult:
        seen.append(options)
        model = _with_score(build_tiny_model(tmp_path / "base"), Path(options.out_dir), 0.8)
        card = json.loads(card_path_for(model).read_text())
        report = {"rows": [], "elapsed_s": 1.0}
        return TrainResult(model, card_path_for(model), Path(options.out_dir), card, report)

    monkeypatch.setattr(flows.maintenance, "train", fake_train)
    target = tmp_path / "shipped" / "default.keras"
    out = flows.maintenance.train_model(
        options={"manifest": "m.tsv", "out_dir": str(tmp_path / "cand"), "seed": 2},  # type: ignore[arg-type]
        promote_to=str(target),
    )
    assert seen == [TrainOptions(manifest=Path("m.tsv"), out_dir=tmp_path / "cand", seed=2)]
    assert out["promoted"] is True and out["version"].startswith("tiny-")
    assert target.is_file()
