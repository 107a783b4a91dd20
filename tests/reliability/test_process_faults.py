"""Process faults (slow): a worker killed mid-batch, the whole run SIGKILLed mid-write,
two runs at once on one library, a full disk."""

from __future__ import annotations

import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from catalog import Catalog
from tests.fixtures.processes import emotag_process
from tests.flows.conftest import GOOD

pytestmark = pytest.mark.slow
MakeMedia = Callable[[str], Path]
RECIPES = [*GOOD, "rate_8k", "rate_48k", "surround51", "vfr"]
N_UNITS = len(RECIPES) + 1  # two_tracks has two


@pytest.fixture
def library(tmp_path: Path, make_media: MakeMedia) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    for name in RECIPES:
        shutil.copyfile(make_media(name), root / make_media(name).name)
    return root


def emotag(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return emotag_process(*args, env={"EMOTAG_MIN_AGE": "0", **(env or {})})


def consistent(catalog: Catalog) -> dict[str, int]:
    """Counts, after the maintenance checks (units whole, no duplicates, sums to 1) pass."""
    from flows.maintenance import catalog_checks

    checks = catalog_checks.fn(catalog.root)
    assert checks["ok"], checks
    return {
        "units": catalog.count("units"),
        "profiles": catalog.count("profiles"),
        "windows": catalog.count("windows"),
    }


def test_sigkill_of_the_whole_run_then_rerun_finishes_without_duplicates(
    library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    catalog_root = tmp_path / "catalog"
    proc = emotag(
        "tag", str(library), "--catalog", str(catalog_root), "--model", str(tiny_model), "--batch-size", "1"
    )
    catalog = Catalog(catalog_root)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (catalog_root / "units").is_dir() and catalog.count("units") >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = consistent(catalog)
    assert 3 <= partial["units"] < N_UNITS
    rerun = emotag("tag", str(library), "--catalog", str(catalog_root), "--model", str(tiny_model))
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    final = consistent(catalog)
    assert final["units"] == final["profiles"] == N_UNITS
    statuses = {v["status"] for v in catalog.open_table("videos").to_table().to_pylist()}
    assert statuses == {"ok"}


def test_two_runs_at_once_tag_each_unit_once(library: Path, tmp_path: Path, tiny_model: Path) -> None:
    catalog_root = str(tmp_path / "catalog")
    procs = [
        emotag(
            "tag", str(library), "--catalog", catalog_root, "--model", str(tiny_model), "--batch-size", "2"
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
    catalog = Catalog(catalog_root)
    counts = consistent(catalog)
    assert counts["units"] == counts["profiles"] == N_UNITS
    from datetime import timedelta

    catalog.purge_orphans(min_age=timedelta(0))
    raw = Catalog(catalog_root)
    assert consistent(raw) == counts


def test_a_killed_worker_fails_its_video_and_the_batch_goes_on(
    library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    from tagger import ffmpeg_bin

    real = ffmpeg_bin.resolve("ffmpeg").path
    fake = tmp_path / "ffmpeg"
    # For one file, ffmpeg kills the worker process that started it (its parent).
    fake.write_text(
        f'#!/bin/sh\ncase "$*" in *tone550*) kill -9 $PPID; exec sleep 5;; esac\nexec "{real}" "$@"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    catalog_root = str(tmp_path / "catalog")
    proc = emotag(
        "tag",
        str(library),
        "--catalog",
        catalog_root,
        "--model",
        str(tiny_model),
        "--workers",
        "2",
        "--json",
        env={"EMOTAG_FFMPEG": str(fake)},
    )
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 1, err  # one video failed, the rest were tagged
    catalog = Catalog(catalog_root)
    videos = {Path(v["path"]).name: v for v in catalog.open_table("videos").to_table().to_pylist()}
    assert videos["tone550.webm"]["status"] == "failed"
    assert "worker process died" in videos["tone550.webm"]["error"]
    assert consistent(catalog)["units"] == N_UNITS - 1


def test_full_disk_gives_a_clear_error_and_a_readable_catalogue(
    library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    try:
        proc = emotag(
            "tag",
            str(library),
            "--catalog",
            str(mount / "catalog"),
            "--model",
            str(tiny_model),
            "--batch-size",
            "1",
        )
        _, err = proc.communicate(timeout=600)
        assert proc.returncode != 0
        assert "No space left" in err or "CatalogError" in err or "storage" in err.lower()
        catalog = Catalog(mount / "catalog")
        consistent(catalog)  # whatever landed is whole and readable
    finally:
        subprocess.run(["umount", str(mount)], check=False)
