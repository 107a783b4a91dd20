"""``emotag``: the one command-line entry point.

argparse (standard library) rather than Typer/Click: no extra dependency and a fast
start — TensorFlow, librosa and Prefect are imported only by subcommands that need them.
Settings come from flags, then ``EMOTAG_*`` environment variables, then defaults.

Exit codes: 0 ok · 1 some inputs failed (each reported, the rest done) · 2 usage error ·
3 environment problem (ffmpeg, model or catalogue unusable) · 4 query refused or failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_QUERY = 0, 1, 2, 3, 4


def _env(name: str, default: str) -> str:
    return os.environ.get(f"EMOTAG_{name}", default)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if not getattr(args, "verbose", 0):
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    verbosity = getattr(args, "verbose", 0) - (1 if getattr(args, "quiet", False) else 0)
    logging.basicConfig(
        level={-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from tagger.errors import EmotagError

    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except EmotagError as exc:
        print(f"emotag: {type(exc).__name__}: {exc}", file=sys.stderr)
        from catalog import CatalogError

        return EXIT_QUERY if isinstance(exc, CatalogError) and args.command == "query" else EXIT_ENVIRONMENT
    return code


def _common(parser: argparse.ArgumentParser, *, catalog: bool = True, model: bool = False) -> None:
    if catalog:
        parser.add_argument(
            "--catalog",
            default=_env("CATALOG", "emotag-catalog"),
            help="catalogue root (folder or s3://…); env EMOTAG_CATALOG",
        )
        parser.add_argument(
            "--storage-option",
            dest="storage_option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="object-storage option for deltalake, repeatable (e.g. conditional_put=etag), over "
            "env EMOTAG_STORAGE_OPTIONS (JSON object or KEY=VALUE,KEY=VALUE); credentials and endpoint "
            "also come from the standard AWS_* variables",
        )
    if model:
        parser.add_argument(
            "--model",
            default=os.environ.get("EMOTAG_MODEL"),
            help="model .keras file (card beside it); env EMOTAG_MODEL; default: shipped",
        )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors")


def _storage_options(args: argparse.Namespace) -> dict[str, str] | None:
    """The ``--storage-option`` pairs (None when there are none: the environment's apply)."""
    from catalog.storage import pairs_to_options

    return pairs_to_options(args.storage_option) or None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotag",
        description="Tag the audio of a video library with time-coded emotions.",
        epilog="Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 3 environment problem, "
        "4 query refused or failed.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, helptext: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=helptext, description=helptext, epilog=f"Example: {example}")

    for name, helptext, example in (
        (
            "tag",
            "tag files, folders or globs (new and changed content only)",
            "emotag tag ~/Videos --workers 2",
        ),
        (
            "backfill",
            "re-tag files/folders/globs, e.g. with a new model or --force",
            "emotag backfill 'archive/**/*.mkv' --model new.keras --force",
        ),
    ):
        p = command(name, helptext, example)
        p.add_argument("paths", nargs="+", metavar="PATH")
        _common(p, model=True)
        p.add_argument("--workers", type=int, default=int(_env("WORKERS", "1")), help="worker processes")
        p.add_argument("--batch-size", type=int, default=16, help="videos per Prefect task")
        p.add_argument(
            "--min-age",
            type=float,
            default=float(_env("MIN_AGE", "60")),
            metavar="SECONDS",
            help="leave files in folders/globs changed less than this ago (still being copied) "
            "for a later run; files named one by one are always taken (default 60, env EMOTAG_MIN_AGE)",
        )
        p.add_argument(
            "--prefect",
            action="store_true",
            help="run as the Prefect flow tag-paths (the default when PREFECT_API_URL is set); "
            "otherwise a plain local run, recorded in the runs table all the same",
        )
        if name == "backfill":
            p.add_argument("--force", action="store_true", help="re-tag even units already done")
        p.set_defaults(handler=_cmd_tag)

    p = command(
        "query",
        "run read-only SQL over the catalogue (DuckDB)",
        'emotag query "SELECT dominant_label, count(*) FROM profiles GROUP BY 1"',
    )
    p.add_argument("sql")
    _common(p)
    p.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    p.add_argument("--out", type=Path, help="write the result here (required for parquet)")
    p.add_argument("--as-of", help="catalogue version number or ISO timestamp (time travel)")
    p.set_defaults(handler=_cmd_query)

    p = command("show", "the emotion timeline of one video", "emotag show argument.mp4 --plot timeline.png")
    p.add_argument("video", help="video_id (or a unique prefix) or a path as recorded")
    _common(p)
    p.add_argument("--model-version", help="default: the most recent one for this video")
    p.add_argument("--plot", type=Path, help="write a timeline PNG here")
    p.set_defaults(handler=_cmd_show)

    p = command(
        "report",
        "write the library report: one self-contained HTML file of charts and tables with their SQL",
        "emotag report --catalog emotag-demo/catalog --out report.html",
    )
    _common(p)
    p.add_argument("--out", type=Path, default=Path("emotag-report.html"), help="HTML file to write")
    p.add_argument(
        "--top", type=_positive_int, default=10, metavar="N", help="videos per emotion, runs, failures"
    )
    p.add_argument(
        "--min-speech",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="speech a video needs to be ranked by emotion (default 60)",
    )
    p.set_defaults(handler=_cmd_report)

    p = command(
        "train",
        "train + cross-validate a model from a manifest (same flags as python -m tagger.training)",
        "emotag train --manifest ../shared/corpora/ravdess/manifest.tsv --out models/new",
    )
    from tagger.training.config import add_train_arguments

    add_train_arguments(p)
    _common(p, catalog=False)
    p.set_defaults(handler=_cmd_train)

    p = command(
        "evaluate",
        "accuracy, macro-F1 and per-class report of a model on one or more manifests",
        "emotag evaluate clips/manifest.tsv --json; emotag evaluate --fold 2 corpora/*/manifest.tsv",
    )
    p.add_argument("manifest", type=Path, nargs="+", help="each scored on its own (one report per corpus)")
    p.add_argument(
        "--fold",
        type=int,
        default=None,
        help="only the speakers the folds.tsv beside each manifest puts in this fold (e.g. 2: test speakers)",
    )
    _common(p, catalog=False, model=True)
    p.set_defaults(handler=_cmd_evaluate)

    p = command("demo", "build the demo library, tag it, and show what came out", "emotag demo")
    p.add_argument(
        "--dir",
        type=Path,
        default=Path(_env("DEMO_DIR", "emotag-demo")),
        help="demo folder: library/ and catalog/ inside (env EMOTAG_DEMO_DIR)",
    )
    _common(p, catalog=False, model=True)
    p.set_defaults(handler=_cmd_demo)

    p = command("doctor", "check ffmpeg, ffprobe, the model and the catalogue", "emotag doctor --json")
    _common(p, model=True)
    p.set_defaults(handler=_cmd_doctor)

    p = command("probe", "list the audio tracks of media files", "emotag probe film.mkv --json")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _common(p, catalog=False)
    p.set_defaults(handler=_cmd_probe)
    return parser


# ---------------------------------------------------------------- commands
def _cmd_tag(args: argparse.Namespace) -> int:
    from flows.run import TagOptions, TagRequest, run_locally

    request = TagRequest(
        flow_name="tag-paths",
        inputs=tuple(args.paths),
        catalog_root=args.catalog,
        model_path=args.model,
        force=bool(getattr(args, "force", False)),
        options=TagOptions(batch_size=args.batch_size, max_workers=args.workers, min_age_s=args.min_age),
        storage_options=_storage_options(args),
    )
    if args.prefect or os.environ.get("PREFECT_API_URL"):
        from flows.tag_flows import tag_paths

        summary = tag_paths(
            paths=list(request.inputs),
            catalog_root=request.catalog_root,
            model_path=request.model_path,
            force=request.force,
            options=request.options,
            storage_options=request.storage_options,
        )
    else:
        summary = run_locally(request)
    if args.json:
        print(json.dumps(summary, default=str, indent=2))
    elif not args.quiet:
        _print_summary(summary)
    return EXIT_SOME_FAILED if summary["n_failed"] else EXIT_OK


def _print_summary(summary: dict[str, Any]) -> None:
    print(
        f"model {summary['model_version']}: {summary['n_seen']} files, {summary['n_tagged']} tagged, "
        f"{summary['n_no_audio']} without audio, {summary['n_failed']} failed, "
        f"{summary['n_skipped']} already done ({summary['audio_s']} s audio, "
        f"{summary['x_realtime']}x realtime)"
    )
    for path, reason in summary["failures"]:
        print(f"  FAILED {path}: {reason}")
    if summary.get("n_too_new"):
        print(
            f"  {summary['n_too_new']} file(s) changed in the last {summary['min_age_s']:g} s were left "
            "for the next run (still being copied?); --min-age 0 takes them now"
        )


def _cmd_query(args: argparse.Namespace) -> int:
    from catalog import Catalog, query

    as_of: int | str | None = args.as_of
    if isinstance(as_of, str) and as_of.isdigit():
        as_of = int(as_of)
    catalog = Catalog(args.catalog, storage_options=_storage_options(args))
    result = query(catalog, args.sql, as_of=as_of)
    if args.format == "parquet":
        import pyarrow.parquet as pq

        if args.out is None:
            print("emotag: --format parquet needs --out FILE", file=sys.stderr)
            return EXIT_USAGE
        pq.write_table(result, args.out)
        return EXIT_OK
    frame = result.to_pandas()
    if args.json or args.format == "json":
        text = frame.to_json(orient="records", date_format="iso", indent=2)
    elif args.format == "csv":
        text = frame.to_csv(index=False)
    else:
        text = frame.to_string(index=False) if len(frame) else "(no rows)"
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    from flows.timeline import find_video, load_timeline, plot_timeline, render_timeline

    catalog_root, storage_options = args.catalog, _storage_options(args)
    video = find_video(catalog_root, args.video, storage_options=storage_options)
    if video is None:
        print(f"emotag: no video matches {args.video!r} in {catalog_root}", file=sys.stderr)
        return EXIT_USAGE
    timeline = load_timeline(
        catalog_root, video["video_id"], model_version=args.model_version, storage_options=storage_options
    )
    if args.plot:
        plot_timeline(timeline, args.plot)
    if args.json:
        print(json.dumps({"video": video, **timeline}, default=str, indent=2))
    else:
        print(render_timeline(video, timeline))
        if args.plot:
            print(f"\nplot written to {args.plot}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from catalog import Catalog
    from catalog.report import write_report

    catalog = Catalog(args.catalog, storage_options=_storage_options(args))
    written = write_report(catalog, args.out, top=args.top, min_speech_s=args.min_speech)
    if args.json:
        print(json.dumps({"out": str(written)}))
    elif not args.quiet:
        print(written)
    return EXIT_OK


def _cmd_train(args: argparse.Namespace) -> int:
    from tagger.training import run_from_args

    return run_from_args(args)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from tagger.evaluate import evaluate_manifest, format_report

    results = [evaluate_manifest(path, model_path=args.model, fold=args.fold) for path in args.manifest]
    if args.json:  # one manifest: its object, as before; several: a list of them
        print(json.dumps(results[0] if len(results) == 1 else results, default=str, indent=2))
    else:
        print("\n\n".join(format_report(result) for result in results))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo import run_demo

    return run_demo(args.dir, model_path=args.model, as_json=args.json)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from flows.doctor import diagnose

    report = diagnose(
        catalog_root=args.catalog, model_path=args.model, storage_options=_storage_options(args)
    )
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for name, item in report["checks"].items():
            status = "ok" if item["ok"] else "PROBLEM"
            print(f"{name:9s} {status:8s} {item['detail']}")
        print("status    " + ("ok" if report["ok"] else "PROBLEMS FOUND"))
    return EXIT_OK if report["ok"] else EXIT_ENVIRONMENT


def _cmd_probe(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tagger.errors import EmotagError
    from tagger.media import probe

    results: list[dict[str, Any]] = []
    for path in args.paths:
        try:
            results.append({"path": str(path), "ok": True, **asdict(probe(path))})
        except EmotagError as exc:
            results.append({"path": str(path), "ok": False, "error": f"{type(exc).__name__}: {exc}"})
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        for item in results:
            if not item["ok"]:
                print(f"{item['path']}: FAILED {item['error']}")
                continue
            print(
                f"{item['path']}: {item['container']}, {item['duration_s']} s, "
                f"{len(item['audio_streams'])} audio track(s)"
            )
            for s in item["audio_streams"]:
                print(
                    f"  track {s['track']}: {s['codec']} {s['channels']} ch {s['sample_rate']} Hz "
                    f"lang={s['language']}"
                )
    return EXIT_SOME_FAILED if any(not r["ok"] for r in results) else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
