"""A tagging run without Prefect (what ``emotag tag`` does with no Prefect API): the same
rows as the flows, batches in flight at once over one shared worker pool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from catalog import Catalog
from flows.run import TagOptions, TagRequest, run_locally
from tests.flows.conftest import BAD, GOOD

REPO = Path(__file__).resolve().parents[2]


def test_a_local_run_with_two_workers_and_batches_in_flight_tags_everything_once(
    library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    catalog_root = str(tmp_path / "catalog")
    request = TagRequest(
        flow_name="tag-paths",
        inputs=(str(library),),
        catalog_root=catalog_root,
        model_path=str(tiny_model),
        options=TagOptions(batch_size=2, max_workers=2),
    )
    summary = run_locally(request)
    catalog = Catalog(catalog_root)
    has_speech = (library / "speech.mp4").exists()
    assert summary["n_tagged"] == len(GOOD) + has_speech
    assert summary["n_failed"] == len(BAD) and summary["n_no_audio"] == 1
    tracks = catalog.count("tracks")
    assert catalog.count("units") == catalog.count("profiles") == tracks
    runs = catalog.open_table("runs").to_table().to_pylist()
    assert [(r["flow"], r["status"], r["run_id"]) for r in runs] == [
        ("tag-paths", "completed", summary["run_id"])
    ]
    windows = catalog.count("windows")
    again = run_locally(request)
    # Done and no-audio content is skipped; failed content is tried again (and fails again).
    assert again["n_tagged"] == 0 and again["n_skipped"] == len(GOOD) + has_speech + 1
    assert again["n_failed"] == len(BAD)
    assert catalog.count("windows") == windows and catalog.count("units") == tracks


def test_a_local_run_never_imports_prefect_or_tensorflow(tmp_path: Path, make_media: object) -> None:
    clip = make_media("mp4_aac")  # type: ignore[operator]
    code = (
        "import sys\n"
        "from flows.run import TagRequest, run_locally\n"
        f"summary = run_locally(TagRequest('tag-paths', ({str(clip)!r},), {str(tmp_path / 'catalog')!r}))\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'prefect', 'tensorflow', 'keras'}\n"
        "print(summary['n_tagged'], ','.join(sorted(heavy)) or 'none')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "none"]
