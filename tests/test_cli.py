"""The emotag entry point, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EMOTAG = [sys.executable, "-m", "tagger.cli"]
COMMANDS = ["doctor", "probe", "analyse", "demo"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EMOTAG, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "Example: emotag " + command in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert run("frobnicate").returncode == 2
    assert run().returncode == 2


def test_doctor_json_reports_both_tools() -> None:
    result = run("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert set(report["tools"]) == {"ffmpeg", "ffprobe"}
    assert all("version" in tool for tool in report["tools"].values())


def test_probe_and_analyse_json_and_exit_codes(make_media: Callable[[str], Path]) -> None:
    good, bad = make_media("two_tracks"), make_media("zero_byte")
    probed = run("probe", "--json", str(good))
    assert probed.returncode == 0
    assert len(json.loads(probed.stdout)[0]["audio_streams"]) == 2
    analysed = run("analyse", "--json", str(good), str(bad), str(make_media("no_audio")))
    assert analysed.returncode == 1  # one input failed, the others were still done
    rows = json.loads(analysed.stdout)
    assert [r["status"] for r in rows] == ["ok", "failed", "no_audio"]
    assert "empty" in rows[1]["error"]
    assert [t["n_windows"] for t in rows[0]["tracks"]] == [4, 4]
