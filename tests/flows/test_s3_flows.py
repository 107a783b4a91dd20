"""tag-library and maintain-catalog into an ``s3://`` catalogue on a local S3 endpoint
(moto); concurrent writers on it (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from catalog import Catalog, query
from flows.maintenance import maintain_catalog
from flows.run import TagOptions
from flows.tag_flows import tag_library
from tests.fixtures.processes import emotag_process
from tests.flows.conftest import BAD, GOOD

pytestmark = pytest.mark.usefixtures("prefect_harness")
WRITER = [sys.executable, "-m", "tests.catalog.writer_proc"]


def units_once(catalog: Catalog) -> tuple[int, int]:
    """(units, units committed more than once) of the visible catalogue."""
    rows = query(
        catalog,
        "SELECT count(*) AS n, count(*) - count(DISTINCT (video_id, track_index, model_version)) AS dup "
        "FROM units",
    ).to_pylist()[0]
    return rows["n"], rows["dup"]


def test_tag_library_and_maintenance_on_s3(
    s3_catalog: str, library: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMOTAG_STORAGE_OPTIONS")  # the flow parameter carries the setting
    options = {"conditional_put": "etag"}
    summary = tag_library(
        roots=[str(library)],
        catalog_root=s3_catalog,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=0, batch_size=4),  # several batches: several files to compact
        storage_options=options,
    )
    n_good = len(GOOD) + int((library / "speech.mp4").exists())
    assert (summary["n_tagged"], summary["n_no_audio"], summary["n_failed"]) == (n_good, 1, len(BAD))
    catalog = Catalog(s3_catalog, storage_options=options)
    assert units_once(catalog) == (n_good + 1, 0)  # the two-track file adds one unit
    windows = catalog.count("windows")

    again = tag_library(
        roots=[str(library)],
        catalog_root=s3_catalog,
        model_path=str(tiny_model),
        options=TagOptions(min_age_s=0),
        storage_options=options,
    )
    assert (again["n_tagged"], again["n_skipped"]) == (0, summary["n_seen"])

    report = maintain_catalog(catalog_root=s3_catalog, retention_hours=0, storage_options=options)
    assert report["checks"]["ok"] is True, report
    assert report["compact"]["windows"] >= 1 and report["vacuumed_files"]["windows"] >= 1
    assert (units_once(catalog), catalog.count("windows")) == ((n_good + 1, 0), windows)

    with pytest.raises(Exception, match="conditional_put=etag"):
        maintain_catalog(catalog_root=s3_catalog, retention_hours=0)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_processes_tagging_overlapping_libraries_into_s3_commit_each_unit_once(
    s3_catalog: str, library: Path, tiny_model: Path, tmp_path: Path
) -> None:
    from tagger.model import litert_file

    litert_file(tiny_model)  # exported once here, not raced by the two processes
    files = sorted(p for p in library.rglob("*") if p.is_file() and not p.name.startswith("."))
    halves = {"a": files[: 2 * len(files) // 3], "b": files[len(files) // 3 :]}  # a third in both
    for name, chosen in halves.items():
        (tmp_path / name).mkdir()
        for path in chosen:
            (tmp_path / name / path.name).write_bytes(path.read_bytes())
    started = time.perf_counter()
    processes = [
        emotag_process(
            "tag",
            str(tmp_path / name),
            "--catalog",
            s3_catalog,
            "--model",
            str(tiny_model),
            "--min-age",
            "0",
            "--batch-size",
            "2",
            "--json",
        )
        for name in halves
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    elapsed = time.perf_counter() - started
    assert all(p.returncode in (0, 1) for p in processes), [err for _, err in outputs]

    catalog = Catalog(s3_catalog)
    expected = query(
        catalog,
        "SELECT count(*) AS n FROM tracks t JOIN (SELECT DISTINCT video_id FROM videos WHERE status = 'ok')"
        " USING (video_id)",
    ).to_pylist()[0]["n"]
    n_units, duplicates = units_once(catalog)
    print(f"two emotag tag processes: {n_units} units, {duplicates} duplicates, {elapsed:.1f} s")
    assert expected > 0 and (n_units, duplicates) == (expected, 0)
    report = maintain_catalog(catalog_root=s3_catalog, retention_hours=0)
    assert report["checks"]["ok"] is True, report
    assert units_once(catalog) == (expected, 0)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_twenty_rounds_of_racing_writers_on_s3_lose_no_commit(s3_catalog: str) -> None:
    """Each round two processes write overlapping units (half of each in both) while the
    previous round's maintenance has compacted and vacuumed; every unit ends up committed
    exactly once and the maintenance checks pass after every round."""
    started = time.perf_counter()
    catalog = Catalog(s3_catalog)
    catalog.ensure()
    written: set[int] = set()
    for round_index in range(20):
        first = round_index * 6  # writers take units first..first+3 and first+2..first+5
        writers = [
            subprocess.Popen(
                [*WRITER, s3_catalog, str(start), "4", "--batch", "2", "--run", f"round-{round_index}"],
                env=dict(os.environ),
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for start in (first, first + 2)
        ]
        for writer in writers:
            _, err = writer.communicate(timeout=300)
            assert writer.returncode == 0, err
        written |= set(range(first, first + 6))
        n_units, duplicates = units_once(catalog)
        assert (n_units, duplicates) == (len(written), 0), f"round {round_index}"
        report = maintain_catalog(catalog_root=s3_catalog, retention_hours=0)
        assert report["checks"]["ok"] is True, (round_index, report)
        assert catalog.count("windows") == 20 * len(written)
        assert time.perf_counter() - started < 800, f"too slow: {round_index + 1} rounds"
    print(
        f"20 rounds of racing writers on s3: {len(written)} units, 0 duplicates, "
        f"{time.perf_counter() - started:.1f} s"
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dask_cluster_with_a_worker_killed_mid_run_then_a_rerun_finishes_without_duplicates(
    s3_catalog: str, library: Path, tiny_model: Path
) -> None:
    """tag-library on a two-process Dask cluster into S3; once the first unit is committed,
    a worker is SIGKILLed while it executes a batch task (mid-batch: asked of the worker
    itself, ``state.executing``). The run finishes (Dask reruns the lost batch) or fails and
    says so in ``runs``; a rerun then finishes the job and no unit is committed twice."""
    import signal
    import threading

    from distributed import Client, LocalCluster

    from flows.tag_flows import with_dask
    from tagger.model import litert_file

    litert_file(tiny_model)
    catalog = Catalog(s3_catalog)
    options = TagOptions(min_age_s=0, batch_size=1)
    killed: list[tuple[int, list[str]]] = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)

        def executing_batches(dask_worker: Any) -> list[str]:  # only batch tasks run on workers
            return [str(task.key) for task in dask_worker.state.executing]

        def kill_a_worker_mid_batch_after_first_commit() -> None:
            """SIGKILL a worker while it executes a batch task, once a unit is committed."""
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if catalog.version() >= 1 and catalog.count("units") >= 1:
                    busy = {a: keys for a, keys in client.run(executing_batches).items() if keys}
                    if busy:
                        address, keys = next(iter(busy.items()))
                        os.kill(pids[address], signal.SIGKILL)
                        killed.append((pids[address], keys))
                        return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_worker_mid_batch_after_first_commit, daemon=True)
        flow = with_dask(tag_library, cluster.scheduler_address)
        killer.start()
        try:
            first: dict[str, object] | None = flow(
                roots=[str(library)], catalog_root=s3_catalog, model_path=str(tiny_model), options=options
            )
        except Exception:
            first = None  # the lost batch failed the run: the runs table must say so
            statuses = query(catalog, "SELECT status FROM runs").column("status").to_pylist()
            assert statuses == ["failed"]
        killer.join(timeout=300)
        assert killed, "no worker was killed while it executed a batch"
        rerun = flow(
            roots=[str(library)], catalog_root=s3_catalog, model_path=str(tiny_model), options=options
        )
    expected = query(
        catalog,
        "SELECT count(*) AS n FROM tracks t JOIN (SELECT DISTINCT video_id FROM videos WHERE status = 'ok')"
        " USING (video_id)",
    ).to_pylist()[0]["n"]
    n_good = len(GOOD) + int((library / "speech.mp4").exists())
    assert expected == n_good + 1
    assert units_once(catalog) == (expected, 0)
    outcome = "finished" if first else "failed"
    print(
        f"dask, worker killed during {killed[0][1]}: first run {outcome}, "
        f"rerun tagged {rerun['n_tagged']}, {expected} units"
    )
    report = maintain_catalog(catalog_root=s3_catalog, retention_hours=0)
    assert report["checks"]["ok"] is True, report
