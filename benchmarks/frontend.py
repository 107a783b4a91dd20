"""Front-end benchmark: decode + windows + features + speech vs ffmpeg decode alone.

Prints ratios measured in one run (the machines are shared and noisy), and peak RSS
of the front end on a short and a long track, each in a fresh process::

    python -m benchmarks.frontend            # 30-min ratio track, 10 vs 120-min RSS
    python -m benchmarks.frontend --quick    # 3-min track, 1 vs 10-min RSS
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.report import save_and_print
from tagger import ffmpeg_bin
from tagger.frontend import analyse_file
from tagger.media import probe, stream_audio

MEDIA_DIR = Path("bench/media")


def make_track(minutes: float) -> Path:
    """A generated AAC track (48 kHz stereo, voiced babble-like tone mix + pink noise)."""
    MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    target = MEDIA_DIR / f"track_{minutes:g}min.m4a"
    if target.exists():
        return target
    seconds = minutes * 60
    source = (
        f"sine=frequency=150:sample_rate=48000:duration={seconds},"
        "vibrato=f=5:d=0.3,tremolo=f=4:d=0.9[voice];"
        f"anoisesrc=color=pink:amplitude=0.02:sample_rate=48000:duration={seconds}:seed=1[noise];"
        "[voice][noise]amix=inputs=2,aformat=channel_layouts=stereo"
    )
    partial = target.with_suffix(".partial.m4a")
    subprocess.run(
        ffmpeg_bin.write_file_command("-filter_complex", source, "-c:a", "aac", "-b:a", "128k", str(partial)),
        check=True,
    )
    partial.replace(target)
    return target


def time_decode(path: Path) -> float:
    started = time.perf_counter()
    for _ in stream_audio(path):
        pass
    return time.perf_counter() - started


def time_frontend(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    n_windows = sum(len(batch) for batch in analyse_file(path))
    return time.perf_counter() - started, n_windows


def peak_rss_mb(path: Path) -> float:
    """Peak RSS (MB) of a fresh Python process running the front end over ``path``."""
    code = (
        "import resource, sys\n"
        "from tagger.frontend import analyse_file\n"
        "n = sum(len(b) for b in analyse_file(sys.argv[1]))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def run(*, quick: bool) -> dict[str, Any]:
    ratio_minutes = 3.0 if quick else 30.0
    rss_minutes = (1.0, 10.0) if quick else (10.0, 120.0)
    track = make_track(ratio_minutes)
    duration_s = probe(track).duration_s or 0.0
    for _ in analyse_file(make_track(0.1)):  # first call (tables, lazy imports) outside the timings
        pass
    decode_s = time_decode(track)
    frontend_s, n_windows = time_frontend(track)
    rss = {f"{m:g}min": peak_rss_mb(make_track(m)) for m in rss_minutes}
    small, large = rss.values()
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "track_minutes": ratio_minutes,
        "audio_s": duration_s,
        "windows": n_windows,
        "decode_only_s": round(decode_s, 2),
        "frontend_s": round(frontend_s, 2),
        "frontend_over_decode": round(frontend_s / decode_s, 2),
        "decode_x_realtime": round(duration_s / decode_s, 1),
        "frontend_x_realtime": round(duration_s / frontend_s, 1),
        "peak_rss_mb": rss,
        "rss_growth": round(large / small - 1.0, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short tracks, under 3 minutes")
    parser.add_argument("--out", type=Path, default=Path("bench/frontend.json"))
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    save_and_print(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
