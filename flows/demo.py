"""``emotag demo``: build the demo library, tag it through the real flow, summarise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalog import Catalog
from flows.timeline import find_video, load_timeline, render_timeline
from tagger.demo import build_demo_library

__all__ = ["run_demo"]


def run_demo(folder: Path, *, model_path: str | None = None, as_json: bool = False) -> int:
    """Tag ``folder/library`` into ``folder/catalog``; print dominant emotions vs truth."""
    from flows.tagging import backfill

    library = folder / "library"
    catalog_root = str((folder / "catalog").resolve())
    videos = build_demo_library(library)
    summary = backfill(paths=[str(library.resolve())], catalog_root=catalog_root, model_path=model_path)
    catalog = Catalog(catalog_root)
    rows: list[dict[str, Any]] = []
    for video in videos:
        found = find_video(catalog_root, str(video.path.resolve()))
        timeline = (
            load_timeline(catalog_root, found["video_id"], model_version=summary["model_version"])
            if found
            else None
        )
        profile = timeline["tracks"][0]["profile"] if timeline and timeline["tracks"] else None
        expected = max(set(video.emotions), key=video.emotions.count) if video.emotions else "no_audio"
        got = profile["dominant_label"] if profile else (found["status"] if found else "missing")
        rows.append(
            {
                "video": video.path.name,
                "expected": expected,
                "clips": list(video.emotions),
                "dominant": got,
                "status": found["status"] if found else "missing",
            }
        )
    hits = sum(r["expected"] == r["dominant"] for r in rows)
    if as_json:
        print(
            json.dumps({"catalog": catalog_root, "summary": summary, "videos": rows}, default=str, indent=2)
        )
        return 0
    print(f"\nDemo library: {library.resolve()}  ({len(videos)} videos)")
    n_windows, n_units = catalog.count("windows"), catalog.count("units")
    print(f"Catalogue:    {catalog_root}  ({n_windows} windows, {n_units} units)\n")
    print(f"{'video':18s} {'clips (truth)':34s} {'dominant emotion':18s}")
    for r in rows:
        truth = ", ".join(r["clips"]) or "(no audio track)"
        mark = "ok" if r["expected"] == r["dominant"] else "  "
        print(f"{r['video']:18s} {truth:34s} {r['dominant']:18s} {mark}")
    print(
        f"\n{hits}/{len(rows)} videos: dominant emotion as expected "
        f"(model {summary['model_version']}, {summary['x_realtime']}x realtime)\n"
    )
    mixed = find_video(catalog_root, str((library / "mood_swing.mp4").resolve()))
    if mixed:
        print(
            render_timeline(
                mixed,
                load_timeline(catalog_root, mixed["video_id"], model_version=summary["model_version"]),
            )
        )
    print("\nTry:")
    print(
        f"  .venv/bin/emotag query --catalog {catalog_root} "
        '"SELECT dominant_label, count(*) AS videos FROM profiles GROUP BY 1"'
    )
    print(f"  .venv/bin/emotag show --catalog {catalog_root} mood_swing.mp4 --plot timeline.png")
    return 0
