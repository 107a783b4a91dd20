"""Rebuild the shipped scene network from the pretrained weights (needs TensorFlow)::

    python -m tagger.audioset [--weights ../shared/pretrained/efficientat-mn04/mn04_as.npz]

Writes ``tagger/models/scene.tflite`` (the trunk: the gate's steps, and block 10's feature
map that the emotion model reads), ``scene_head.npz`` (the head's rows
for speech, singing, music and the rival classes) and ``scene.card.json`` (sources, licence, sha256).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tagger.audioset.gate import DEFAULT_SCENE_PATH, SCENE_CLASSES, SceneConfig, write_head
from tagger.audioset.network import build_scene_trunk, load_mn04_weights
from tagger.export import export_litert
from tagger.model import file_sha256

DEFAULT_WEIGHTS = Path("../shared/pretrained/efficientat-mn04/mn04_as.npz")
ATTRIBUTION = (
    "EfficientAT mn04_as (Schmid, Koutini, Widmer 2023, 'Efficient Large-Scale Audio Tagging via "
    "Transformer-to-CNN Knowledge Distillation', ICASSP), MIT licence; trained on AudioSet "
    "(Gemmeke et al. 2017), labels CC BY 4.0"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.audioset", description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_SCENE_PATH)
    args = parser.parse_args(argv)
    weights = load_mn04_weights(args.weights)
    trunk = build_scene_trunk(weights, with_map=True)
    export_litert(trunk, args.out)
    head = args.out.with_name(args.out.stem + "_head.npz")
    write_head(weights, head)
    card = {
        "name": "mn04-scene",
        "source": ATTRIBUTION,
        "licence": "MIT (weights and code: EfficientAT, Copyright (c) 2022 Florian Schmid; "
        "the full notice in LICENSE-EfficientAT beside this card); AudioSet labels CC BY 4.0",
        "weights_sha256": file_sha256(args.weights),
        "input": {"mel_bands": 128, "frames": "any multiple of 32", "frame_s": 0.01},
        "outputs": {
            "steps": "(frames / 32, 384): the last feature map averaged over frequency, for the gate",
            "map": "(8, frames / 16, 32): block 10's feature map, for the emotion model",
        },
        "segments": {
            "segment_frames": SceneConfig().segment_frames,
            "context_frames": SceneConfig().context_frames,
        },
        "classes": list(SCENE_CLASSES),
        "rival": "the largest probability among AudioSet rows 72-136 and 283-465 (animals, natural "
        "sounds, sounds of things)",
        "decision": {
            "speech": "median p(Speech) over the window and its neighbours >= speech_threshold, "
            ">= rival_factor * p(rival), and the voicing detector hears voice",
            "music": "p(Music) or p(Singing) >= music_threshold",
            **{
                k: getattr(SceneConfig(), k)
                for k in ("speech_threshold", "rival_factor", "smooth_windows", "music_threshold")
            },
        },
        "files": {p.name: file_sha256(p) for p in (args.out, head)},
        "reproduce": "python -m tagger.audioset --weights ../shared/pretrained/efficientat-mn04/mn04_as.npz",
    }
    card_path = args.out.with_name(args.out.stem + ".card.json")
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(f"wrote {args.out}, {head}, {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
