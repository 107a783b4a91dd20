"""``emotag`` against an ``s3://`` catalogue on a local S3 endpoint (moto), as subprocesses.

The endpoint and credentials reach the command only through the standard AWS variables;
the commit setting through ``--storage-option`` or ``EMOTAG_STORAGE_OPTIONS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

EMOTAG = [sys.executable, "-m", "flows.cli"]


def run(*args: str, unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING", "EMOTAG_MIN_AGE": "0"}
    for name in unset:
        env.pop(name, None)
    return subprocess.run([*EMOTAG, *args], capture_output=True, text=True, timeout=300, env=env)


def test_tag_query_show_doctor_on_s3(
    s3_catalog: str, make_media: Callable[[str], Path], tiny_model: Path, tmp_path: Path
) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    for name in ("two_tracks", "zero_byte"):
        (library / make_media(name).name).write_bytes(make_media(name).read_bytes())
    tag = ("tag", str(library), "--catalog", s3_catalog, "--model", str(tiny_model), "--json")

    refused = run(*tag, unset=("EMOTAG_STORAGE_OPTIONS",))
    assert refused.returncode == 3, refused.stderr
    assert "CatalogError" in refused.stderr and "conditional_put=etag" in refused.stderr
    assert "refusing to write to " + s3_catalog in refused.stderr

    options = (
        "--storage-option",
        "conditional_put=etag",
        "--storage-option",
        "AWS_SECRET_ACCESS_KEY=emotag-test",
    )
    tagged = run(*tag, *options, unset=("EMOTAG_STORAGE_OPTIONS",))
    assert tagged.returncode == 1, tagged.stderr  # the empty file failed, the other was tagged
    summary = json.loads(tagged.stdout)
    assert (summary["n_tagged"], summary["n_failed"]) == (1, 1)
    again = json.loads(run(*tag).stdout)  # options from EMOTAG_STORAGE_OPTIONS this time
    assert (again["n_tagged"], again["n_skipped"]) == (0, 1)

    rows = run(
        "query",
        "--catalog",
        s3_catalog,
        "--json",
        "SELECT track_index, count(*) AS n FROM windows GROUP BY 1 ORDER BY 1",
        unset=("EMOTAG_STORAGE_OPTIONS",),  # reading needs no commit setting
    )
    assert rows.returncode == 0, rows.stderr
    assert [r["track_index"] for r in json.loads(rows.stdout)] == [0, 1]
    runs = run("query", "--catalog", s3_catalog, "--json", "SELECT params FROM runs")
    params = [json.loads(r["params"]) for r in json.loads(runs.stdout)]
    assert {"conditional_put": "etag", "AWS_SECRET_ACCESS_KEY": "***"} in [
        p.get("storage_options") for p in params
    ]

    shown = run("show", "--catalog", s3_catalog, "two tracks.mp4", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [t["track_index"] for t in json.loads(shown.stdout)["tracks"]] == [0, 1]

    doctor = run("doctor", "--json", "--model", str(tiny_model), "--catalog", s3_catalog)
    assert json.loads(doctor.stdout)["checks"]["catalog"]["ok"] is True, doctor.stdout
    unsafe = run(
        "doctor",
        "--json",
        "--model",
        str(tiny_model),
        "--catalog",
        s3_catalog,
        unset=("EMOTAG_STORAGE_OPTIONS",),
    )
    assert unsafe.returncode == 3
    assert "conditional_put=etag" in json.loads(unsafe.stdout)["checks"]["catalog"]["detail"]
