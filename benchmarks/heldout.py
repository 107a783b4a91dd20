"""Does a model hold its cross-validation figure on actors it never saw?

Trains the shipped recipe (:class:`tagger.training.TrainConfig` defaults) on every actor
outside fold ``--fold``, writes it with a card, then runs the real ``emotag evaluate`` on
a manifest of the held-out actors' clips and prints its report::

    python -m benchmarks.heldout --manifest ../shared/corpora/ravdess/manifest.tsv \\
        --folds ../shared/corpora/ravdess/folds.tsv --fold 0

The card reuses the shipped model's calibration (temperature and abstain threshold):
temperature scaling never changes the arg-max, so accuracy is unaffected by it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tagger.model import DEFAULT_MODEL_PATH, card_path_for, file_sha256, model_config_for, read_card


def main(argv: Sequence[str] | None = None) -> int:
    from tagger.training import TrainConfig, extract_clips, fit_members, read_folds, read_manifest
    from tagger.training.augment import training_noise
    from tagger.training.card import save_ensemble
    from tagger.training.dataset import ClipSet, model_inputs

    parser = argparse.ArgumentParser(prog="python -m benchmarks.heldout", description=__doc__)
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--folds", required=True, type=Path)
    parser.add_argument("--fold", type=int, default=0, help="the held-out fold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/heldout"))
    parser.add_argument("--cache", type=Path, help=".npz cache of the training clips' windows")
    parser.add_argument("--kind", default=None, help="model kind (default: the shipped recipe's)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--members", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--gain-db", type=float, nargs=2, help="gain range of the noisy copies (dB)")
    parser.add_argument("--noise-copies", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--noise-probability", type=float, default=None, help="default: the recipe's")
    args = parser.parse_args(argv)

    frame = read_manifest(args.manifest)
    fold_of = read_folds(args.folds)
    held_out = frame["actor"].map(fold_of) == args.fold
    actors = sorted({int(a) for a in frame.loc[held_out, "actor"]})
    print(f"held out: fold {args.fold}, actors {actors}, {int(held_out.sum())} clips")
    started = time.time()
    if args.cache is not None and args.cache.is_file():
        clips = ClipSet.load(args.cache)
    else:
        clips = extract_clips(frame[~held_out])
        if args.cache is not None:
            clips.save(args.cache)
    config = TrainConfig()
    if args.kind is not None:
        config = replace(config, model=model_config_for(args.kind))
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    if args.members is not None:
        config = replace(config, n_members=args.members)
    if args.gain_db is not None:
        config = replace(config, gain_db=(float(args.gain_db[0]), float(args.gain_db[1])))
    if args.noise_copies is not None:
        config = replace(config, noise_copies=args.noise_copies)
    if args.noise_probability is not None:
        config = replace(config, noise_probability=args.noise_probability)
    print(f"recipe: {config}", flush=True)
    x = model_inputs(clips, config.model_config().input_name)
    x_noisy = training_noise(clips, config, seed=args.seed, cache=args.cache)
    members = fit_members(x, clips.window_labels(), config=config, seed=args.seed, x_noisy=x_noisy)
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / f"heldout-fold{args.fold}.keras"
    save_ensemble(members, model_path)
    digest = file_sha256(model_path)
    card = read_card(card_path_for(DEFAULT_MODEL_PATH))
    card.update(
        name=f"heldout-fold{args.fold}",
        version=f"heldout-fold{args.fold}-{digest[:12]}",
        sha256=digest,
        training={"actors": sorted({int(a) for a in clips.actors}), "note": "benchmarks.heldout"},
    )
    mconfig = config.model_config()
    card["input"] = {"name": mconfig.input_name, "shape": list(mconfig.input_shape)}
    card_path_for(model_path).write_text(json.dumps(card, indent=2), encoding="utf-8")
    print(f"trained on {clips.n_clips} clips of the other actors in {time.time() - started:.0f} s")

    manifest_path = args.out / f"heldout-fold{args.fold}.tsv"
    frame[held_out][["path", "emotion", "actor"]].to_csv(manifest_path, sep="\t", index=False)
    command = [sys.executable, "-m", "flows.cli", "evaluate", str(manifest_path), "--model", str(model_path)]
    print("$ emotag " + " ".join(command[3:]), flush=True)
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
