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
    from flows.tag_flows import tag_paths

    library = folder / "library"
    catalog_root = str((folder / "catalog").resolve())
    videos = build_demo_library(library)
    summary = tag_paths(paths=[str(library.resolve())], catalog_root=catalog_root, model_path=model_path)
    catalog = Catalog(catalog_root)
    rows: list[dict[str, Any]] = []
    for video in videos:
        found = find_video(catalog_root, str(video.path.resolve()))
        timeline = (
            load_timeline(catalog_root, found["video_id"], model_version=summary["model_version"])
            if found
            else None
        )
        track = timeline["tracks"][0] if timeline and timeline["tracks"] else None
        profile = track["profile"] if track else None
        got = profile["dominant_label"] if profile else (found["status"] if found else "missing")
        if len(set(video.emotions)) > 1:
            # A scene of several emotions: compare the order of emotion segments.
            expected = " > ".join(_runs(list(video.emotions)))
            labels = [seg["label"] for seg in track["segments"]] if track else []
            got = " > ".join(_runs([x for x in labels if x not in ("no_speech", "uncertain")]))
        else:
            expected = video.emotions[0] if video.emotions else "no_audio"
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
    print(f"{'video':16s} {'clips (truth)':30s} {'tagged (dominant, or segment order)':36s}")
    for r in rows:
        truth = ", ".join(r["clips"]) or "(no audio track)"
        mark = "ok" if r["expected"] == r["dominant"] else "--"
        print(f"{r['video']:16s} {truth:30s} {r['dominant']:36s} {mark}")
    speed = (
        f"{summary['n_tagged']} tagged now at {summary['x_realtime']}x realtime"
        if summary["n_tagged"]
        else "already tagged: nothing to do"
    )
    print(f"\n{hits}/{len(rows)} videos tagged as expected (model {summary['model_version']}; {speed})")
    print(_speaker_note(model_path))
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


def _speaker_note(model_path: str | None) -> str:
    """Whether the demo's speakers are ones the model was trained on (from its card)."""
    from tagger.demo import demo_actors
    from tagger.model import DEFAULT_MODEL_PATH, card_path_for, read_card

    card = read_card(card_path_for(model_path or DEFAULT_MODEL_PATH))
    actors = demo_actors()
    trained = actors & {int(a) for a in card.get("training", {}).get("actors", [])}
    who = f"RAVDESS actors {', '.join(str(a) for a in sorted(actors))}"
    if trained:
        return (
            f"The demo clips are by {who}, speakers this model was trained on; its speaker-\n"
            "independent accuracy is in its model card.\n"
        )
    return (
        f"The demo clips are by {who}, test speakers this model never heard in training;\n"
        "its figures over all test speakers are in its model card.\n"
    )


def _runs(labels: list[str]) -> list[str]:
    """Consecutive duplicates collapsed: [a, a, b, a] -> [a, b, a]."""
    return [x for i, x in enumerate(labels) if i == 0 or labels[i - 1] != x]
