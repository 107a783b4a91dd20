"""Slow integration tests: a real Prefect server + worker running a deployment from
prefect.yaml, and tag-library on a local Dask cluster reached by address."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalog import Catalog

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def small_library(tmp_path: Path, make_media: Callable[[str], Path]) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    for name in ("mp4_aac", "two_tracks", "no_audio", "zero_byte"):
        shutil.copyfile(make_media(name), root / make_media(name).name)
    return root


@pytest.mark.usefixtures("prefect_harness")
def test_tag_library_on_a_dask_cluster_by_address(
    small_library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    from distributed import LocalCluster

    from flows.run import TagOptions
    from flows.tag_flows import tag_library, with_dask

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        flow = with_dask(tag_library, cluster.scheduler_address)
        summary = flow(
            roots=[str(small_library)],
            catalog_root=str(tmp_path / "catalog"),
            model_path=str(tiny_model),
            options=TagOptions(min_age_s=0, batch_size=1),
        )
    assert (summary["n_tagged"], summary["n_no_audio"], summary["n_failed"]) == (2, 1, 1)
    assert Catalog(tmp_path / "catalog").count("units") == 3


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_KEY", None)
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            probe = subprocess.run(
                [str(BIN / "prefect"), "work-pool", "ls"], env=env, capture_output=True, timeout=60
            )
            if probe.returncode == 0:
                break
            time.sleep(2)
        else:
            pytest.fail("prefect server did not start")
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_tag_paths_deployment_runs_on_a_real_server_and_worker(
    prefect_server: dict[str, str], small_library: Path, tmp_path: Path, tiny_model: Path
) -> None:
    env = {
        **prefect_server,
        "EMOTAG_LIBRARY": str(small_library),
        "EMOTAG_CATALOG": str(tmp_path / "catalog"),
        "PWD": str(REPO),
    }
    prefect = str(BIN / "prefect")

    def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [prefect, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
        )

    assert run("work-pool", "create", "emotag-process", "--type", "process").returncode == 0
    deployed = run("--no-prompt", "deploy", "--name", "tag-paths/on-demand")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    params = json.dumps(
        {
            "paths": [str(small_library)],
            "catalog_root": str(tmp_path / "catalog"),
            "model_path": str(tiny_model),
            "options": {"max_workers": 1},
        }
    )
    started = run("deployment", "run", "tag-paths/on-demand", "--params", params)
    assert started.returncode == 0, started.stdout + started.stderr
    worker = subprocess.Popen(
        [prefect, "worker", "start", "--pool", "emotag-process", "--run-once"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = worker.communicate(timeout=600)
    catalog = Catalog(tmp_path / "catalog")
    assert catalog.count("units") == 3, output[-3000:]
    statuses = sorted(v["status"] for v in catalog.open_table("videos").to_table().to_pylist())
    assert statuses == ["failed", "no_audio", "ok", "ok"]
    runs = catalog.open_table("runs").to_table().to_pylist()
    assert [r["flow"] for r in runs] == ["tag-paths"] and runs[0]["status"] == "completed"
