"""The emotag entry point, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EMOTAG = [sys.executable, "-m", "flows.cli"]
COMMANDS = ["tag", "backfill", "query", "show", "report", "train", "evaluate", "demo", "doctor", "probe"]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING", "EMOTAG_MIN_AGE": "0"}
    return subprocess.run([*EMOTAG, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "Example: emotag " + command in result.stdout


@pytest.mark.parametrize(
    "args",
    [(), ("frobnicate",), ("query",), ("tag",), ("tag", "x", "--workers", "many"), ("report", "--top", "0")],
)
def test_bad_arguments_are_usage_errors(args: tuple[str, ...]) -> None:
    assert run(*args).returncode == 2


def test_doctor_json_reports_tools_model_and_catalogue(tiny_model: Path, tmp_path: Path) -> None:
    result = run("doctor", "--json", "--model", str(tiny_model), "--catalog", str(tmp_path / "c"))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert set(report["checks"]) == {"ffmpeg", "ffprobe", "model", "catalog"}
    assert report["checks"]["ffprobe"]["detail"].startswith("ffprobe version")


def test_doctor_reports_a_broken_model_with_exit_3(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.keras"
    bogus.write_bytes(b"not a model")
    result = run("doctor", "--json", "--model", str(bogus), "--catalog", str(tmp_path / "c"))
    assert result.returncode == 3
    assert json.loads(result.stdout)["checks"]["model"]["ok"] is False


def test_probe_json_and_exit_code(make_media: Callable[[str], Path]) -> None:
    ok = run("probe", "--json", str(make_media("two_tracks")))
    assert ok.returncode == 0
    assert len(json.loads(ok.stdout)[0]["audio_streams"]) == 2
    bad = run("probe", "--json", str(make_media("zero_byte")))
    assert bad.returncode == 1 and "empty" in json.loads(bad.stdout)[0]["error"]


def test_tag_query_show_round_trip(
    make_media: Callable[[str], Path], tiny_model: Path, tmp_path: Path
) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    for name in ("two_tracks", "zero_byte"):
        (library / make_media(name).name).write_bytes(make_media(name).read_bytes())
    catalog = str(tmp_path / "catalog")
    tagged = run("tag", str(library), "--catalog", catalog, "--model", str(tiny_model), "--json")
    assert tagged.returncode == 1, tagged.stderr  # the empty file failed, the other was tagged
    summary = json.loads(tagged.stdout)
    assert (summary["n_tagged"], summary["n_failed"]) == (1, 1)

    rows = run(
        "query",
        "--catalog",
        catalog,
        "--json",
        "SELECT track_index, count(*) AS n FROM windows GROUP BY 1 ORDER BY 1",
    )
    assert rows.returncode == 0, rows.stderr
    assert [r["track_index"] for r in json.loads(rows.stdout)] == [0, 1]
    csv = run("query", "--catalog", catalog, "--format", "csv", "SELECT count(*) AS n FROM units")
    assert csv.stdout.split() == ["n", "2"]
    refused = run("query", "--catalog", catalog, "COPY (SELECT 1) TO '/tmp/x.csv'")
    assert refused.returncode == 4

    plot = tmp_path / "timeline.png"
    shown = run("show", "--catalog", catalog, "two tracks.mp4", "--json", "--plot", str(plot))
    assert shown.returncode == 0, shown.stderr
    timeline = json.loads(shown.stdout)
    assert [t["track_index"] for t in timeline["tracks"]] == [0, 1]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run("show", "--catalog", catalog, "no-such-video").returncode == 2


def test_report_writes_one_html_file_and_prints_its_path(tmp_path: Path) -> None:
    from catalog import Catalog
    from catalog.report import SECTION_IDS
    from catalog.testing import make_unit

    catalog = tmp_path / "catalog"
    Catalog(catalog).write_units([make_unit(i) for i in range(2)], run_id="r1")
    out = tmp_path / "library.html"
    result = run("report", "--catalog", str(catalog), "--out", str(out), "--top", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    assert all(f'<section id="{section_id}">' in page for section_id in SECTION_IDS)
    empty = run("report", "--catalog", str(tmp_path / "none"), "--out", str(tmp_path / "e.html"), "--json")
    assert empty.returncode == 0, empty.stderr
    assert "Nothing is tagged yet" in Path(json.loads(empty.stdout)["out"]).read_text(encoding="utf-8")
