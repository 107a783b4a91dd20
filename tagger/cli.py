"""``emotag``: the one command-line entry point.

argparse (standard library) rather than Typer/Click: no extra dependency, fast start-up
(TensorFlow and librosa are imported only by the subcommands that need them).

Exit codes: 0 ok · 1 some inputs failed (each reported) · 2 usage error · 3 environment
problem (ffmpeg/ffprobe/model missing or broken).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotag",
        description="Tag the audio of a video library with time-coded emotions.",
        epilog="Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 3 environment problem.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    doctor = sub.add_parser(
        "doctor",
        help="check ffmpeg/ffprobe and the environment",
        description="Print which ffmpeg and ffprobe were resolved, their versions, and checks.",
        epilog="Example: emotag doctor --json",
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(handler=_cmd_doctor)

    probe = sub.add_parser(
        "probe",
        help="list the audio tracks of media files",
        description="Run ffprobe on each file and list its audio tracks.",
        epilog="Example: emotag probe film.mkv --json",
    )
    probe.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    probe.add_argument("--json", action="store_true", help="print JSON")
    probe.set_defaults(handler=_cmd_probe)

    analyse = sub.add_parser(
        "analyse",
        help="run the audio front end (windows, features, speech) on files",
        description="Decode every audio track, cut windows, compute features and the "
        "speech flag; print a summary per track.",
        epilog="Example: emotag analyse clip.mp4 --json",
    )
    analyse.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    analyse.add_argument("--json", action="store_true", help="print JSON")
    analyse.set_defaults(handler=_cmd_analyse)

    demo = sub.add_parser(
        "demo",
        help="build the demo library and run the pipeline on it",
        description="Build a small demo video library from the shipped speech clips and "
        "run the pipeline on it.",
        epilog="Example: emotag demo --dir /tmp/emotag-demo",
    )
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("EMOTAG_DEMO_DIR", "emotag-demo")),
        help="folder for the demo library (default: ./emotag-demo or $EMOTAG_DEMO_DIR)",
    )
    demo.add_argument("--json", action="store_true", help="print JSON")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _cmd_doctor(args: argparse.Namespace) -> int:
    from tagger import ffmpeg_bin
    from tagger.errors import EmotagError

    report: dict[str, Any] = {"python": sys.version.split()[0], "tools": {}}
    ok = True
    for name in ("ffmpeg", "ffprobe"):
        try:
            exe = ffmpeg_bin.resolve(name)  # type: ignore[arg-type]
            version = ffmpeg_bin.version_of(exe)
            report["tools"][name] = {"path": exe.path, "source": exe.source, "version": version}
        except (EmotagError, OSError) as exc:
            ok = False
            report["tools"][name] = {"error": str(exc)}
    report["ok"] = ok
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"python   {report['python']}")
        for name, info in report["tools"].items():
            if "error" in info:
                print(f"{name:8s} MISSING: {info['error']}")
            else:
                print(
                    f"{name:8s} {info['path']}  (from {info['source']})\n         {info['version']}"
                )
        print("status   " + ("ok" if ok else "PROBLEMS FOUND"))
    return EXIT_OK if ok else EXIT_ENVIRONMENT


def _cmd_probe(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tagger.errors import EmotagError
    from tagger.media import probe

    results: list[dict[str, Any]] = []
    failed = 0
    for path in args.paths:
        try:
            info = probe(path)
            results.append({"path": str(path), "ok": True, **asdict(info)})
        except EmotagError as exc:
            failed += 1
            results.append(
                {"path": str(path), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            )
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        for item in results:
            if not item["ok"]:
                print(f"{item['path']}: FAILED {item['error']}")
                continue
            print(f"{item['path']}: {item['container']}, {item['duration_s']} s, "
                  f"{len(item['audio_streams'])} audio track(s)")  # fmt: skip
            for stream in item["audio_streams"]:
                print(f"  track {stream['track']}: {stream['codec']} {stream['channels']} ch "
                      f"{stream['sample_rate']} Hz lang={stream['language']}")  # fmt: skip
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _analyse_paths(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], int]:
    from tagger.errors import EmotagError
    from tagger.frontend import analyse_file
    from tagger.media import probe

    rows: list[dict[str, Any]] = []
    failed = 0
    for path in paths:
        started = time.perf_counter()
        try:
            info = probe(path)
            if not info.audio_streams:
                rows.append({"path": str(path), "status": "no_audio", "tracks": []})
                continue
            tracks = []
            for stream in info.audio_streams:
                n_windows = n_speech = 0
                end_s = 0.0
                for batch in analyse_file(path, track=stream.track, info=info):
                    n_windows += len(batch)
                    n_speech += int(batch.is_speech.sum())
                    end_s = float(batch.end_s[-1])
                tracks.append({"track": stream.track, "duration_s": round(end_s, 3),
                               "n_windows": n_windows, "n_speech_windows": n_speech})  # fmt: skip
            elapsed = time.perf_counter() - started
            audio_s = sum(t["duration_s"] for t in tracks)
            rows.append({"path": str(path), "status": "ok", "tracks": tracks,
                         "x_realtime": round(audio_s / max(elapsed, 1e-9), 1)})  # fmt: skip
        except EmotagError as exc:
            failed += 1
            rows.append({"path": str(path), "status": "failed",
                         "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
    return rows, failed


def _print_analysis(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        name = Path(row["path"]).name
        if row["status"] == "failed":
            print(f"{name:22s} FAILED  {row['error']}")
        elif row["status"] == "no_audio":
            print(f"{name:22s} no audio track")
        else:
            for track in row["tracks"]:
                share = track["n_speech_windows"] / max(track["n_windows"], 1)
                print(f"{name:22s} track {track['track']}: {track['duration_s']:7.2f} s, "
                      f"{track['n_windows']:4d} windows, speech in {share:5.0%}  "
                      f"({row['x_realtime']}x realtime)")  # fmt: skip


def _cmd_analyse(args: argparse.Namespace) -> int:
    rows, failed = _analyse_paths(args.paths)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_analysis(rows)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from tagger.demo import build_demo_library

    folder: Path = args.dir
    videos = build_demo_library(folder)
    rows, failed = _analyse_paths([video.path for video in videos])
    for row, video in zip(rows, videos, strict=True):
        row["expected_emotions"] = list(video.emotions)
    if args.json:
        print(json.dumps({"library": str(folder.resolve()), "videos": rows}, indent=2))
    else:
        print(f"Demo library: {folder.resolve()} ({len(videos)} videos)\n")
        _print_analysis(rows)
        print("\nFront end only: emotion tagging arrives with the model (issue #4).")
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
