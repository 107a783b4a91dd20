"""The video-level benchmark's corpus reading, and one quick run when the corpora are here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import video_level

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"


def test_held_out_clips_picks_the_fold_by_actor_or_speaker(tmp_path: Path) -> None:
    root = tmp_path / "nemo"
    root.mkdir()
    (root / "manifest.tsv").write_text(
        "path\tspeaker\temotion\na/EB0_1.flac\tEB0\tsad\na/KD0_1.flac\tKD0\tsad\na/KD0_2.flac\tKD0\tangry\n"
    )
    (root / "folds.tsv").write_text("speaker\tfold\nEB0\t0\nKD0\t2\n")
    assert video_level.held_out_clips(root, fold=2) == {
        "KD0": {"sad": ["a/KD0_1.flac"], "angry": ["a/KD0_2.flac"]}
    }
    actors = tmp_path / "ravdess"
    actors.mkdir()
    (actors / "manifest.tsv").write_text("path\tactor\temotion\nx/1.flac\t9\tcalm\nx/2.flac\t1\tcalm\n")
    (actors / "folds.tsv").write_text("actor\tfold\n1\t0\n9\t2\n")
    assert video_level.held_out_clips(actors, fold=2) == {"9": {"calm": ["x/1.flac"]}}


@pytest.mark.slow
def test_quick_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    if (
        not (CORPORA / "ravdess" / "folds.tsv").is_file()
        or not (CORPORA / "noise" / "manifest.tsv").is_file()
    ):
        pytest.skip("../shared/corpora is not present")
    out = tmp_path / "bench"
    assert video_level.main(["--corpora", str(CORPORA), "--quick", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["held_out"]["fold"] == 2
    assert abs(results["decoded_lufs"]["min"] + 23) < 1 and abs(results["decoded_lufs"]["max"] + 23) < 1
    assert results["dominant_emotion"]["all"]["n"] >= 4
