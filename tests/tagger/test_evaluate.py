"""``evaluate_manifest`` / ``format_report``: metrics of a model on a labelled manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from tagger.constants import EMOTIONS, SAMPLE_RATE
from tagger.evaluate import evaluate_manifest, format_report
from tagger.model import ModelConfig, build_model, card_path_for
from tagger.testing.signals import speech_like, white_noise


def _tiny_model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.keras"
    build_model(ModelConfig(kind="aggregate_mlp", input_shape=(161,), units=(8,))).save(path)
    card: dict[str, Any] = {
        "name": "tiny",
        "version": "tiny-000000000000",
        "classes": list(EMOTIONS),
        "input": {"name": "features", "shape": [161]},
        "calibration": {"temperature": 1.0, "abstain_threshold": 0.0},
    }
    card_path_for(path).write_text(json.dumps(card), encoding="utf-8")
    return path


def _manifest(tmp_path: Path) -> Path:
    rows = ["path\temotion"]
    for i in range(3):
        for emotion, y in (
            ("happy", speech_like(3.5, seed=i, f0_hz=220.0)),
            (
                "sad",
                speech_like(3.5, seed=i, f0_hz=100.0, level=0.05) + white_noise(3.5, amplitude=0.001, seed=i),
            ),
        ):
            rel = f"clips/{emotion}_{i}.flac"
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(tmp_path / rel, y, SAMPLE_RATE)
            rows.append(f"{rel}\t{emotion}")
    manifest = tmp_path / "sub" / "manifest.tsv"
    manifest.parent.mkdir()
    # Paths are relative to the manifest's own folder.
    manifest.write_text("\n".join(r.replace("clips/", "../clips/") for r in rows) + "\n")
    return manifest


def test_evaluate_manifest_result_and_report(tmp_path: Path) -> None:
    result = evaluate_manifest(_manifest(tmp_path), model_path=_tiny_model(tmp_path))
    assert result["n_clips"] == 6 and result["n_windows"] >= 6
    assert result["model_version"] == "tiny-000000000000"
    for key in ("accuracy", "macro_f1", "uar", "window_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    # Only happy and sad are present: they alone carry support, and UAR averages them.
    supports = {name: row["support"] for name, row in result["per_class"].items()}
    assert supports.get("happy") == 3 and supports.get("sad") == 3
    assert all(v == 0 for k, v in supports.items() if k not in ("happy", "sad"))
    recall = [result["per_class"][e]["recall"] for e in ("happy", "sad")]
    assert result["uar"] == pytest.approx(sum(recall) / 2)
    text = format_report(result)
    assert "accuracy" in text and "macro-F1" in text and "happy" in text
    json.dumps(result)  # JSON-ready for --json


def test_shipped_model_on_demo_clips(corpus: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(corpus / "manifest.tsv", sep="\t")
    subset = frame[frame["actor"].isin([1, 2])].groupby("emotion").head(1)
    subset = subset.assign(path=[str(corpus / p) for p in subset["path"]])
    manifest = tmp_path / "m.tsv"
    subset.to_csv(manifest, sep="\t", index=False)
    result = evaluate_manifest(manifest)
    assert result["n_clips"] == len(subset) == len(EMOTIONS)
    assert 0.0 <= result["accuracy"] <= 1.0
