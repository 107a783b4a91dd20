"""The ``make bench`` driver: runs each benchmark in its own process, merges their JSON into
``bench/results.json`` and prints one table (every figure measured in this run).

    python -m benchmarks.run_all [--quick] [--only startup,pipeline,catalog,prefect_overhead,frontend]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["BENCHMARKS", "main", "summary_rows"]

BENCH_DIR = Path("bench")


def _catalog_args(quick: bool) -> list[str]:
    # benchmarks.catalog has no --quick: a smaller table instead of 1 M rows.
    return ["--rows", "50000", "--units-per-write", "10"] if quick else []


BENCHMARKS: dict[str, Callable[[bool], list[str]]] = {
    "pipeline": lambda quick: ["--quick"] if quick else [],
    "catalog": _catalog_args,
    "prefect_overhead": lambda quick: ["--quick"] if quick else [],
    "frontend": lambda quick: ["--quick"] if quick else [],
    "startup": lambda quick: ["--quick"] if quick else [],
}
"""Benchmark module (under ``benchmarks``) -> its arguments for quick / full mode."""

DEFAULT = ("startup", "pipeline", "catalog", "prefect_overhead")
"""What ``make bench`` runs; ``frontend`` (covered by the pipeline's stage shares) on request."""

ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def code_version() -> str:
    """Commit of the measured code, ``+dirty`` when tagger/, flows/ or catalog/ differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--", "tagger", "flows", "catalog"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if changes else "")


def run_one(name: str, *, quick: bool) -> tuple[dict[str, Any] | None, float, str | None]:
    """Run ``benchmarks.<name>``; its JSON results, wall seconds and error (or None)."""
    out = BENCH_DIR / f"{name}.json"
    command = [sys.executable, "-m", f"benchmarks.{name}", *BENCHMARKS[name](quick), "--out", str(out)]
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, env={**os.environ, **ENV}, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        return None, elapsed, f"exit status {result.returncode}"
    return json.loads(out.read_text()), elapsed, None


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _goal(results: dict[str, Any], name: str) -> str:
    goal = results.get("goals", {}).get(name)
    if not goal:
        return ""
    return f"{goal['target']}: {'met' if goal['met'] else 'MISSED'}"


def summary_rows(name: str, results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, goal) rows of one benchmark's results for the merged table."""
    r = results
    if name == "pipeline":
        lib = r["library"]
        rows = [
            (
                "library",
                f"{lib['videos']} videos, {lib['audio_tracks']} tracks, {lib['audio_min']} min audio",
                "",
            ),
            ("ffmpeg decode floor", f"{r['floor_decode_s']} s ({r['floor_x_realtime']}x realtime)", ""),
            ("pipeline, 1 worker", f"{r['pipeline_1w_s']} s ({r['x_realtime_1w']}x realtime)", ""),
            (
                "  of which one-off startup",
                f"{r['pipeline_1w_startup_s']} s (model {r['pipeline_1w_model_load_s']} s, "
                f"first front-end call {r['pipeline_1w_first_call_s']} s)",
                "",
            ),
            (
                "pipeline / floor, 1 worker",
                f"{r['pipeline_over_floor_1w']}x",
                _goal(r, "pipeline_over_floor_1w"),
            ),
            ("  after startup", f"{r['pipeline_over_floor_1w_after_startup']}x", ""),
            ("  front end alone (decode+features+speech)", f"{r['frontend_over_floor_1w']}x", ""),
            (
                "x realtime per core, 1 / 2 workers",
                f"{r['x_realtime_per_core_1w']} / {r['x_realtime_per_core_2w']}",
                "",
            ),
            ("x realtime per CPU-second, 1 worker", f"{r['x_realtime_per_cpu_s_1w']}", ""),
            ("pipeline, 2 workers", f"{r['pipeline_2w_s']} s", ""),
            (
                "speed-up 1 -> 2 workers",
                f"{r['speedup_1_to_2_workers']}x",
                _goal(r, "speedup_1_to_2_workers"),
            ),
            (
                "naive method (subset, scaled)",
                f"{r['naive_library_s_scaled']} s ({r['naive_subset']['ms_per_window']} ms/window, "
                f"{r['naive_subset']['audio_s']:g} s audio measured)",
                "",
            ),
            ("speed-up vs naive", f"{r['speedup_vs_naive']}x", _goal(r, "speedup_vs_naive")),
            ("  after startup", f"{r['speedup_vs_naive_after_startup']}x", ""),
            (
                "peak RSS per worker (max)",
                f"{r['goals']['peak_rss_mb_per_worker']['measured']} MB",
                _goal(r, "peak_rss_mb_per_worker"),
            ),
            (
                f"RSS growth, {r['scaling_compared']}",
                _pct(r["rss_growth_short_to_long"]),
                _goal(r, "rss_growth_short_to_long"),
            ),
            (
                f"time per audio min, {r['scaling_compared']}",
                f"{r['time_per_audio_min_long_over_short']}x",
                "",
            ),
        ]
        for case, figures in r["scaling"].items():
            rows.append(
                (
                    f"  {case} video",
                    f"{figures['wall_s']} s, {figures['x_realtime_after_startup']}x realtime after startup, "
                    f"RSS {figures['peak_rss_mb']} MB (py {figures['peak_rss_python_mb']} + ffmpeg "
                    f"{figures['peak_rss_ffmpeg_mb']})",
                    "",
                )
            )
        rows += [(f"  share: {stage}", _pct(share), "") for stage, share in r["stage_shares_1w"].items()]
        for key, exp in r.items():
            if key.startswith("experiment_read_ahead"):
                minutes = key.removeprefix("experiment_read_ahead_").removesuffix("_frontend")
                rows.append(
                    (
                        f"experiment: decode read-ahead thread ({minutes} front end)",
                        f"{exp['as_is_s']} -> {exp['read_ahead_s']} s ({_pct(exp['gain'])} less)",
                        "",
                    )
                )
        rows += [(f"  profile: {p['function']}", _pct(p["share"]), "") for p in r["profile"]["top_self"][:5]]
        return rows
    if name == "catalog":
        return [
            ("window rows", f"{r['window_rows']:,}", ""),
            ("write throughput", f"{r['write_rows_per_s']:,} rows/s", ""),
            ("timeline query, before compaction", f"{r['timeline_query_s_before']} s", ""),
            ("timeline query, after compaction", f"{r['timeline_query_s_after']} s", ""),
            ("aggregate query, before compaction", f"{r['aggregate_query_s_before']} s", ""),
            ("aggregate query, after compaction", f"{r['aggregate_query_s_after']} s", ""),
            ("compact + vacuum", f"{r['compact_and_vacuum_s']} s", ""),
        ]  # fmt: skip
    if name == "prefect_overhead":
        return [
            ("clips", f"{r['clips']} x {r['clip_s']} s, batches of {r['batch_size']}", ""),
            ("flow / plain loop, 1 worker", f"{r['flow_over_plain_1w']}x", ""),
            ("  flow, plain loop", f"{r['flow_1w_s']} s, {r['plain_loop_1w_s']} s", ""),
            ("  overhead per video", f"{r['overhead_ms_per_video_1w']} ms", ""),
            ("  plain loop per video", f"{r['plain_ms_per_video_1w']} ms", ""),
            ("  of which outside the flow body", f"{r['of_which_outside_flow_body_ms_per_video']} ms", ""),
            ("ephemeral API start (once per process)", f"{r['ephemeral_api_start_s']} s", ""),
            ("flow, 2 workers", f"{r['flow_2w_s']} s ({r['pool_starts_2w']} process-pool starts)", ""),
            ("speed-up 1 -> 2 workers, flow", f"{r['speedup_1_to_2_workers_flow']}x", ""),
        ]  # fmt: skip
    if name == "startup":
        worker = r["worker"]
        rows = [
            (
                "worker: fresh process to first tagged video",
                f"{worker['to_first_video_s']} s (import {worker['import_s']} s, model "
                f"{worker['model_load_s']} s, first 3 s clip {worker['first_video_s']} s)",
                _goal(r, "worker_startup_s"),
            ),
            ("worker: peak RSS", f"{worker['peak_rss_mb']} MB", _goal(r, "worker_rss_mb")),
            ("worker: heavy modules loaded", ", ".join(worker["heavy_modules"]) or "none", ""),
            (
                "emotag tag one 3 s clip (local run)",
                f"{r['cli_tag_one_clip_s']} s",
                _goal(r, "cli_tag_one_clip_s"),
            ),
            (
                "front end: first / second call",
                f"{r['first_call_s']} / {r['second_call_s']} s ({r['first_over_second_call']}x)",
                "",
            ),
        ]
        if "cli_tag_one_clip_prefect_s" in r:
            rows.insert(4, ("emotag tag one 3 s clip --prefect", f"{r['cli_tag_one_clip_prefect_s']} s", ""))
        return rows
    if name == "frontend":
        return [
            ("front end / decode", f"{r['frontend_over_decode']}x", ""),
            ("peak RSS", json.dumps(r["peak_rss_mb"]), ""),
        ]
    return []


def table_rows(merged: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(benchmark and mode, figure, value, goal) for every benchmark in ``merged``."""
    rows: list[tuple[str, str, str, str]] = []
    for name, entry in merged["benchmarks"].items():
        if entry.get("error"):
            rows.append((name, "FAILED", entry["error"], ""))
            continue
        mode = ("quick" if entry.get("quick") else "full") + f", {entry.get('code_version', '?')}"
        for figure, value, goal in summary_rows(name, entry["results"]):
            rows.append((f"{name} ({mode})", figure, value, goal))
    return rows


def markdown(merged: dict[str, Any]) -> str:
    """The merged table as Markdown (for docs/performance.md)."""
    lines = [
        f"Machine: {merged['machine']}. Model: {merged.get('model', '?')}.",
        "",
        "| benchmark | figure | value | goal |",
        "|---|---|---|---|",
    ]
    for bench, figure, value, goal in table_rows(merged):
        lines.append(f"| {bench} | {figure.strip()} | {value} | {goal} |")
    return "\n".join(lines)


def print_table(merged: dict[str, Any]) -> None:
    rows = table_rows(merged)
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print()
    print(f"machine: {merged['machine']}    model: {merged.get('model', '?')}")
    for bench, figure, value, goal in rows:
        print(f"{bench:{widths[0]}s}  {figure:{widths[1]}s}  {value:{widths[2]}s}  {goal}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under 3 minutes in all")
    parser.add_argument("--only", default=",".join(DEFAULT), help="comma-separated benchmarks to run")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json")
    parser.add_argument(
        "--markdown", action="store_true", help="print --out as a Markdown table; run nothing"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.out.read_text())))
        return 0
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {sorted(BENCHMARKS)}")

    from benchmarks.pipeline import machine

    # Results of benchmarks not run now are kept, each stamped with when and how it ran.
    merged: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    merged.setdefault("benchmarks", {})
    merged["machine"] = machine()
    failed = False
    version = code_version()
    started = time.perf_counter()
    for name in names:
        results, elapsed, error = run_one(name, quick=args.quick)
        failed |= error is not None
        merged["benchmarks"][name] = {
            # 1-min load average when the benchmark ended: above ~1 means other work shared the CPU
            "load_avg_1min_after": round(os.getloadavg()[0], 2),
            "quick": args.quick,
            "code_version": version,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed, 1),
            "error": error,
            "results": results,
        }
        if results and "model" in results:
            merged["model"] = results["model"]
    merged["elapsed_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merged, indent=2))
    print_table(merged)
    print(f"\n{args.out} written; {merged['elapsed_s']} s for {', '.join(names)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
