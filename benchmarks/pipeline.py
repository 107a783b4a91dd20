"""Pipeline benchmark: full pipeline vs the ffmpeg-decode floor and vs the naive method,
1 vs 2 workers, time and peak RSS against video length, stage shares and a cProfile.
Each pipeline run happens in a fresh subprocess; every figure comes from this one run.

    python -m benchmarks.pipeline            # 20 videos / 126 min of audio; 1, 10, 60, 180-min videos
    python -m benchmarks.pipeline --quick    # 6 videos / 5 min of audio; 0.5, 1, 3-min videos
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks import media
from benchmarks.instrument import ChildPeakRss, StageClock, instrument, rusage
from tagger.media import build_decode_command, probe

__all__ = ["bench_model", "machine", "main", "run"]

GOALS = {
    "pipeline_over_floor_1w": 1.3,
    "speedup_1_to_2_workers": 1.8,
    "peak_rss_mb_per_worker": 400.0,
    "rss_growth_short_to_long": 0.10,
    "speedup_vs_naive": 10.0,
}
"""Targets from the issue (figures measured against them are computed in :func:`run`)."""


def machine() -> str:
    """CPU model, core count and memory of this machine, in words."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (OSError, ValueError):
        memory = ""
    return f"{os.cpu_count()} CPU {model}{memory}, {platform.system()} {platform.release()}"


def bench_model() -> tuple[str, str]:
    """The model to benchmark: a snapshot (under ``bench/media/models``) of the shipped default
    when it exists, so a retrain during the run cannot swap it; else the tiny test model.
    Returns ``(path, description)``."""
    from tagger.model import DEFAULT_MODEL_PATH, card_path_for

    folder = media.MEDIA_DIR / "models"  # git-ignored, like the media
    folder.mkdir(parents=True, exist_ok=True)
    card_path = card_path_for(DEFAULT_MODEL_PATH)
    if DEFAULT_MODEL_PATH.is_file() and card_path.is_file():
        snapshot = folder / DEFAULT_MODEL_PATH.name
        shutil.copyfile(card_path, card_path_for(snapshot))
        shutil.copyfile(DEFAULT_MODEL_PATH, snapshot)
        card = json.loads(card_path_for(snapshot).read_text())
        runtime = card.get("runtime", {}).get("litert")
        if runtime:  # the LiteRT file the workers run, named in the card
            shutil.copyfile(DEFAULT_MODEL_PATH.with_name(runtime["file"]), folder / runtime["file"])
        kind = card.get("architecture", {}).get("kind") or card["input"]["name"]
        return str(snapshot.resolve()), f"default ({card['version']}, {kind})"
    tiny = folder / "tiny.keras"
    if not tiny.exists():
        # Building imports TensorFlow: do it in a child so this process stays light.
        code = (
            "import sys; from pathlib import Path; from tagger.testing.models import build_tiny_model; "
            "build_tiny_model(Path(sys.argv[1]))"
        )
        subprocess.run([sys.executable, "-c", code, str(folder)], check=True, env=_child_env())
    return str(tiny.resolve()), "tiny test model (tagger/testing/models.py: aggregate MLP, 16 units)"


def _child_env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}


def in_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`_child` with ``spec`` in a fresh Python process; its JSON result."""
    command = [sys.executable, "-m", "benchmarks.pipeline", "--child", json.dumps(spec)]
    result = subprocess.run(command, capture_output=True, text=True, env=_child_env(), check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child {spec['mode']} failed:\n{result.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


# --- the floor -------------------------------------------------------------------------


def decode_floor_s(videos: list[media.LibraryVideo]) -> float:
    """Seconds for ffmpeg alone to decode every audio track of ``videos`` to 16 kHz mono
    float32 (the pipeline's own decode command, output thrown away), one after another."""
    started = time.perf_counter()
    for video in videos:
        for track in range(video.n_tracks):
            command = build_decode_command(video.path, track=track)
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _read_ahead(*args: Any, **kwargs: Any) -> Iterator[Any]:
    """``stream_audio`` with a thread reading up to two chunks ahead (the experiment)."""
    from tagger.media import stream_audio

    chunks: queue.Queue[Any] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def pump() -> None:
        try:
            for chunk in stream_audio(*args, **kwargs):
                chunks.put(chunk)
        except BaseException as exc:  # handed to the consumer
            failure.append(exc)
        finally:
            chunks.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while (chunk := chunks.get()) is not None:
        yield chunk
    if failure:
        raise failure[0]


def read_ahead_experiment(path: Path, *, repeats: int) -> dict[str, float]:
    """Front end (``analyse_file``) over ``path`` as it is, and with the decoder's pipe read
    ahead by a thread so ffmpeg decodes the next chunk while features are computed;
    median seconds of ``repeats`` alternating runs each."""
    import statistics

    import tagger.frontend

    original = tagger.frontend.stream_audio  # type: ignore[attr-defined]
    for _ in tagger.frontend.analyse_file(path):  # first call compiles librosa's kernels
        break
    times: dict[str, list[float]] = {"as_is_s": [], "read_ahead_s": []}
    try:
        for _ in range(repeats):
            for name, source in (("as_is_s", original), ("read_ahead_s", _read_ahead)):
                tagger.frontend.stream_audio = source  # type: ignore[attr-defined]
                started = time.perf_counter()
                for _batch in tagger.frontend.analyse_file(path):
                    pass
                times[name].append(time.perf_counter() - started)
    finally:
        tagger.frontend.stream_audio = original  # type: ignore[attr-defined]
    result = {name: round(statistics.median(values), 2) for name, values in times.items()}
    result["gain"] = round(1.0 - result["read_ahead_s"] / result["as_is_s"], 3)
    return result


# --- what runs in the child ------------------------------------------------------------


def _startup(model_path: str) -> dict[str, float]:
    """Load the model (its LiteRT file) and run the front end once on 1 s of noise: the
    one-off cost of a worker."""
    import numpy as np

    from flows.worker_pool import worker_classifier
    from tagger.frontend import analyse_signal

    rss_before = rusage()["peak_rss_self_mb"]
    started = time.perf_counter()
    worker_classifier(model_path)
    loaded = time.perf_counter()
    analyse_signal(np.random.default_rng(0).normal(scale=0.1, size=16_000).astype(np.float32))
    return {
        "model_load_s": loaded - started,
        "first_call_s": time.perf_counter() - loaded,
        "rss_before_model_mb": rss_before,
        "rss_after_model_mb": rusage()["peak_rss_self_mb"],
    }


def _pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """Fingerprint, tag (``process_batch``) and write (``write_outcomes``) ``spec['paths']``
    into a fresh catalogue; the flow's work without Prefect."""
    from catalog import Catalog
    from flows.library import fingerprint
    from flows.outcomes import write_outcomes
    from flows.worker_pool import VideoJob, process_batch, shutdown_pools
    from tagger.frontend import FrontEndConfig
    from tagger.pipeline import TagConfig

    clock = StageClock()
    root = Path(tempfile.mkdtemp(prefix="emotag-bench-pipeline-"))
    sampler = ChildPeakRss()
    try:
        catalog = Catalog(root)
        catalog.ensure()
        cpu_before = rusage()["cpu_s"]
        started = time.perf_counter()
        # One worker runs in this process: its one-off startup is timed on its own.
        startup = _startup(spec["model_path"]) if spec["workers"] <= 1 else {}
        if spec["workers"] <= 1:
            instrument(clock)
        sampler.__enter__()
        work_started = time.perf_counter()
        jobs = []
        for path in spec["paths"]:
            stat = os.stat(path)
            jobs.append(VideoJob(os.path.abspath(path), fingerprint(path), stat.st_size, stat.st_mtime))
        fingerprinted = time.perf_counter()
        outcomes = process_batch(
            jobs,
            model_path=spec["model_path"],
            config=TagConfig(frontend=FrontEndConfig(gate=spec.get("gate", "combined"))),
            workers=spec["workers"],
        )
        tagged = time.perf_counter()
        report = write_outcomes(catalog, outcomes, run_id="bench", replace=False)
        finished = time.perf_counter()
    finally:
        sampler.__exit__()
        shutdown_pools()  # reaped workers count in RUSAGE_CHILDREN (the per-worker peak RSS)
        shutil.rmtree(root, ignore_errors=True)
    usage = rusage()
    bad = [(o.job.path, o.status, o.error) for o in outcomes if o.status != "ok"]
    if bad:
        raise RuntimeError(f"videos not tagged: {bad}")
    return {
        "wall_s": finished - started,
        "startup_s": work_started - started,
        **startup,
        "fingerprint_s": fingerprinted - work_started,
        "tag_s": tagged - fingerprinted,
        "catalogue_write_s": finished - tagged,
        "audio_s": report.audio_s,
        "n_windows": sum(t.n_windows for o in outcomes for t in o.tracks),
        "n_units": report.n_units,
        "stages": dict(clock.seconds),
        **usage,
        "peak_rss_ffmpeg_mb": sampler.peak_mb,
        "cpu_s": usage["cpu_s"] - cpu_before,
    }


def _naive(spec: dict[str, Any]) -> dict[str, Any]:
    """The naive method over ``spec['paths']``; then, in the same warm process (one
    TensorFlow import fewer), the cProfile of the pipeline over ``spec['profile_paths']``."""
    from benchmarks.naive import naive_tag_file
    from tagger.model import load_model

    _startup(spec["model_path"])  # same one-off costs as the pipeline's, not timed
    classifier = load_model(spec["model_path"])
    n_windows = 0
    started = time.perf_counter()
    for path in spec["paths"]:
        n_windows += naive_tag_file(path, classifier=classifier)
    result: dict[str, Any] = {"wall_s": time.perf_counter() - started, "n_windows": n_windows, **rusage()}
    result["profile"] = _profile({**spec, "paths": spec["profile_paths"], "workers": 1})
    return result


def _profile(spec: dict[str, Any]) -> dict[str, Any]:
    _startup(spec["model_path"])  # one-off imports are not what to optimise
    profiler = cProfile.Profile()
    profiler.enable()
    result = _pipeline(spec)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())

    def name(key: tuple[str, int, str]) -> str:
        filename, line, function = key
        if filename == "~":
            return function
        parts = Path(filename).parts
        for anchor in ("site-packages", "main", "lib"):
            if anchor in parts:
                parts = parts[parts.index(anchor) + 1 :]
                break
        return f"{'/'.join(parts)}:{line}({function})"

    by_self = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[: spec.get("top", 15)]
    by_cumulative = sorted(raw.items(), key=lambda item: item[1][3], reverse=True)
    interesting = [
        (key, entry)
        for key, entry in by_cumulative
        if "/tagger/" in key[0] or "librosa/feature" in key[0] or "catalog/" in key[0]
    ][: spec.get("top", 15)]
    return {
        "profiled_s": total,
        "wall_s": result["wall_s"],
        "audio_s": result["audio_s"],
        "top_self": [
            {"function": name(key), "self_s": round(entry[2], 3), "share": round(entry[2] / total, 3)}
            for key, entry in by_self
        ],
        "top_cumulative": [
            {"function": name(key), "cum_s": round(entry[3], 3), "share": round(entry[3] / total, 3)}
            for key, entry in interesting
        ],
    }


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec['mode']`` is ``pipeline`` or ``naive``; a pipeline spec with ``then_naive``
    runs that naive spec afterwards in the same (already warm) process, its figures
    under ``naive`` (the pipeline's own figures are taken before it starts)."""
    modes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "pipeline": _pipeline,
        "naive": _naive,
    }
    result = modes[spec["mode"]](spec)
    if spec.get("then_naive"):
        result["naive"] = _naive(spec["then_naive"])
    return result


# --- the parent ------------------------------------------------------------------------


def _frontend_s(run: dict[str, Any]) -> float:
    """Seconds of the front end proper (features, windows, speech) in a 1-worker run."""
    stages = defaultdict(float, run["stages"])
    return float(stages["frame_features"] + stages["windowing"] + stages["batching"])


def _stage_shares(run: dict[str, Any]) -> dict[str, float]:
    """Shares of the 1-worker wall time: one-off startup, decode, features, speech,
    model, catalogue write, orchestration (everything else: fingerprints, process
    pool bookkeeping, labels, smoothing, segments, profiles)."""
    stages = defaultdict(float, run["stages"])
    features = (
        stages["frame_features"] + stages["windowing"] + stages["window_aggregates"]
        # stacking the batch arrays: make_batch minus the calls timed inside it
        + stages["batching"] - stages["window_aggregates"] - stages["speech"]
    )  # fmt: skip
    parts = {
        "startup (model load, first front-end call)": run["startup_s"],
        "decode (waiting on ffmpeg) + probe": stages["decode"] + stages["probe"],
        "features (frames, windows, aggregates)": features,
        "speech": stages["speech"],
        "model predict": stages["model_predict"],
        "catalogue write": run["catalogue_write_s"],
    }
    parts["orchestration (fingerprint, glue, segments)"] = run["wall_s"] - sum(parts.values())
    return {name: round(seconds / run["wall_s"], 3) for name, seconds in parts.items()}


def run(*, quick: bool) -> dict[str, Any]:
    """Generate (or reuse) the media, run every measurement, return the figures."""
    videos = media.library(quick=quick)
    lengths = (1.0, 3.0) if quick else (1.0, 10.0, 60.0, 180.0)
    reference = 1.0 if quick else 10.0  # the short video RSS and time are compared against
    long_videos = {m: media.long_video(m, quick=quick) for m in lengths}
    model_path, model_name = bench_model()
    paths = [str(v.path) for v in videos]
    audio_s = sum(v.audio_s for v in videos)
    for video in videos:  # the files are what they claim (one has 2 tracks)
        assert probe(video.path).n_audio_tracks == video.n_tracks
    spec = {"mode": "pipeline", "paths": paths, "model_path": model_path}

    floor_before = decode_floor_s(videos)
    naive_videos = videos[:2]
    naive_audio_s = sum(v.audio_s for v in naive_videos)
    then_naive = {
        "mode": "naive",
        "paths": [str(v.path) for v in naive_videos],
        "profile_paths": [str(v.path) for v in videos[:2]],
        "model_path": model_path,
    }
    # The naive method and the profile run after the 1-worker pipeline in its process
    # (one TensorFlow start fewer); the pipeline's figures are taken before they start.
    one = in_child({**spec, "workers": 1, "then_naive": then_naive})
    two = in_child({**spec, "workers": 2})
    floor_after = decode_floor_s(videos)
    floor_s = (floor_before + floor_after) / 2
    naive = one["naive"]
    profile = naive["profile"]
    naive_library_s = naive["wall_s"] / naive_audio_s * one["audio_s"]

    scaling = {}
    for minutes, path in long_videos.items():
        case = in_child({**spec, "paths": [str(path)], "workers": 1})
        steady_s = case["wall_s"] - case["startup_s"]
        scaling[f"{minutes:g}min"] = {
            "audio_s": round(case["audio_s"], 1),
            "wall_s": round(case["wall_s"], 2),
            "startup_s": round(case["startup_s"], 2),
            "s_per_audio_min_after_startup": round(steady_s / case["audio_s"] * 60.0, 3),
            "x_realtime_after_startup": round(case["audio_s"] / steady_s, 1),
            "peak_rss_mb": round(case["peak_rss_self_mb"] + case["peak_rss_ffmpeg_mb"]),
            "peak_rss_python_mb": round(case["peak_rss_self_mb"]),
            "peak_rss_ffmpeg_mb": round(case["peak_rss_ffmpeg_mb"]),
            "rusage_self_plus_children_mb": round(case["peak_rss_self_mb"] + case["peak_rss_children_mb"]),
        }
    ten, longest = scaling[f"{reference:g}min"], scaling[f"{lengths[-1]:g}min"]

    # A worker: its Python process plus the ffmpeg it runs. The 2-worker run's figure is
    # RUSAGE_CHILDREN of a small parent, so it is the largest worker's own peak.
    read_ahead = read_ahead_experiment(long_videos[reference], repeats=3)

    worker_rss = max(one["peak_rss_self_mb"] + one["peak_rss_ffmpeg_mb"], two["peak_rss_children_mb"])
    results: dict[str, Any] = {
        "machine": machine(),
        "model": model_name,
        "library": {
            "videos": len(videos),
            "audio_tracks": sum(v.n_tracks for v in videos),
            "audio_min": round(audio_s / 60.0, 1),
            "container": "mp4 (H.264 64x48 1 fps + AAC 48 kHz stereo 128 kb/s)",
        },
        "floor_decode_s": round(floor_s, 2),
        "floor_decode_s_before_after": [round(floor_before, 2), round(floor_after, 2)],
        "floor_x_realtime": round(audio_s / floor_s, 1),
        "pipeline_1w_s": round(one["wall_s"], 2),
        "pipeline_1w_startup_s": round(one["startup_s"], 2),
        "pipeline_1w_model_load_s": round(one["model_load_s"], 2),
        "pipeline_1w_first_call_s": round(one["first_call_s"], 2),
        "pipeline_over_floor_1w": round(one["wall_s"] / floor_s, 2),
        "pipeline_over_floor_1w_after_startup": round((one["wall_s"] - one["startup_s"]) / floor_s, 2),
        "frontend_over_floor_1w": round((one["stages"]["decode"] + _frontend_s(one)) / floor_s, 2),
        "x_realtime_1w": round(one["audio_s"] / one["wall_s"], 1),
        "x_realtime_per_core_1w": round(one["audio_s"] / one["wall_s"], 1),
        "x_realtime_per_cpu_s_1w": round(one["audio_s"] / one["cpu_s"], 1),
        "pipeline_2w_s": round(two["wall_s"], 2),
        "x_realtime_per_core_2w": round(two["audio_s"] / two["wall_s"] / 2, 1),
        "speedup_1_to_2_workers": round(one["wall_s"] / two["wall_s"], 2),
        "peak_rss_mb_1w": round(one["peak_rss_self_mb"]),
        "peak_rss_mb_1w_ffmpeg": round(one["peak_rss_ffmpeg_mb"]),
        "rss_mb_python_before_after_model_load": [
            round(one["rss_before_model_mb"]),
            round(one["rss_after_model_mb"]),
        ],
        "peak_rss_mb_2w_largest_worker": round(two["peak_rss_children_mb"]),
        "peak_rss_mb_2w_parent": round(two["peak_rss_self_mb"]),
        "naive_subset": {
            "videos": len(naive_videos),
            "audio_s": naive_audio_s,
            "wall_s": round(naive["wall_s"], 2),
            "x_realtime": round(naive_audio_s / naive["wall_s"], 1),
            "ms_per_window": round(naive["wall_s"] / naive["n_windows"] * 1000, 2),
            "peak_rss_mb": round(naive["peak_rss_self_mb"]),
        },
        "naive_library_s_scaled": round(naive_library_s, 1),
        "speedup_vs_naive": round(naive_library_s / one["wall_s"], 2),
        "speedup_vs_naive_after_startup": round(naive_library_s / (one["wall_s"] - one["startup_s"]), 2),
        "scaling": scaling,
        "scaling_compared": f"{reference:g} min vs {lengths[-1]:g} min",
        "time_per_audio_min_long_over_short": round(
            longest["s_per_audio_min_after_startup"] / ten["s_per_audio_min_after_startup"], 3
        ),
        "rss_growth_short_to_long": round(longest["peak_rss_mb"] / ten["peak_rss_mb"] - 1.0, 3),
        "stage_shares_1w": _stage_shares(one),
        "stage_seconds_1w": {k: round(v, 2) for k, v in sorted(one["stages"].items())},
        "profile": profile,
        f"experiment_read_ahead_{reference:g}min_frontend": read_ahead,
    }
    measured = {
        "pipeline_over_floor_1w": results["pipeline_over_floor_1w"],
        "speedup_1_to_2_workers": results["speedup_1_to_2_workers"],
        "peak_rss_mb_per_worker": round(worker_rss),
        "rss_growth_short_to_long": abs(results["rss_growth_short_to_long"]),
        "speedup_vs_naive": results["speedup_vs_naive"],
    }
    lower_is_better = {"pipeline_over_floor_1w", "peak_rss_mb_per_worker", "rss_growth_short_to_long"}
    results["goals"] = {
        name: {
            "target": ("<= " if name in lower_is_better else ">= ") + f"{GOALS[name]:g}",
            "measured": value,
            "met": value <= GOALS[name] if name in lower_is_better else value >= GOALS[name],
        }
        for name, value in measured.items()
    }
    return results


def run_workers(*, quick: bool) -> dict[str, Any]:
    """Only the 1 vs 2 worker comparison on the library (with the floor before and after):
    to repeat it alone when other work shared the CPU during the full run."""
    videos = media.library(quick=quick)
    model_path, model_name = bench_model()
    spec = {"mode": "pipeline", "paths": [str(v.path) for v in videos], "model_path": model_path}
    floor_before = decode_floor_s(videos)
    one = in_child({**spec, "workers": 1})
    two = in_child({**spec, "workers": 2})
    features_gate = in_child({**spec, "workers": 1, "gate": "features"})  # the gate before issue #24
    os.environ["EMOTAG_SCENE_THREADS"] = "2"  # the children inherit it
    try:
        scene_two_threads = in_child({**spec, "workers": 1})
    finally:
        del os.environ["EMOTAG_SCENE_THREADS"]
    floor_s = (floor_before + decode_floor_s(videos)) / 2
    return {
        "machine": machine(),
        "model": model_name,
        "floor_decode_s": round(floor_s, 2),
        "pipeline_1w_s": round(one["wall_s"], 2),
        "pipeline_1w_startup_s": round(one["startup_s"], 2),
        "pipeline_2w_s": round(two["wall_s"], 2),
        "pipeline_over_floor_1w": round(one["wall_s"] / floor_s, 2),
        "pipeline_1w_feature_gate_s": round(features_gate["wall_s"], 2),
        "pipeline_over_floor_1w_feature_gate": round(features_gate["wall_s"] / floor_s, 2),
        "pipeline_over_floor_1w_scene_2_threads": round(scene_two_threads["wall_s"] / floor_s, 2),
        "speedup_1_to_2_workers": round(one["wall_s"] / two["wall_s"], 2),
        "x_realtime_per_core_1w": round(one["audio_s"] / one["wall_s"], 1),
        "x_realtime_per_core_2w": round(two["audio_s"] / two["wall_s"] / 2, 1),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
    }


def print_table(results: dict[str, Any]) -> None:
    """Key/value table; nested figures one level deep on their own lines."""
    width = 44
    for key, value in results.items():
        if key == "profile":
            print(f"{'profile (top self time)':{width}s}  {value['profiled_s']:.1f} s profiled")
            for row in value["top_self"][:10]:
                print(f"{'':{width}s}  {row['share']:6.1%}  {row['function']}")
            continue
        if isinstance(value, dict):
            print(key)
            for inner, figure in value.items():
                print(f"  {inner:{width - 2}s}  {figure}")
        else:
            print(f"{key:{width}s}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short library, under 2 minutes")
    parser.add_argument("--out", type=Path, default=Path("bench/pipeline.json"))
    parser.add_argument("--workers-only", action="store_true", help="only the 1 vs 2 worker comparison")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    results = run_workers(quick=args.quick) if args.workers_only else run(quick=args.quick)
    results["quick"] = args.quick
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
