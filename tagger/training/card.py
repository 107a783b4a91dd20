"""What training ships: the ensemble ``.keras`` file, its JSON model card (version = name +
sha256 of the file) and the human-readable ``MODEL_CARD.md``, with the data licence.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tagger.constants import EMOTIONS
from tagger.frontend import FrontEndConfig
from tagger.model import ModelConfig, file_sha256
from tagger.training.config import TrainConfig, TrainOptions
from tagger.training.metrics import top_confusions

__all__ = [
    "DATASETS",
    "LICENCE",
    "datasets_entry",
    "model_card",
    "model_card_markdown",
    "recipe_dict",
    "save_ensemble",
]


LICENCE = {
    "dataset": "RAVDESS speech, actors 01–20 (1,200 clips; 16 kHz mono FLAC)",
    "licence": "CC BY-NC-SA 4.0",
    "citation": (
        "Livingstone S. R., Russo F. A. (2018). The Ryerson Audio-Visual Database of "
        "Emotional Speech and Song (RAVDESS). PLoS ONE 13(5): e0196391. "
        "https://doi.org/10.1371/journal.pone.0196391"
    ),
    "note": (
        "Trained on CC BY-NC-SA 4.0 data: non-commercial use only, attribution required, "
        "derivatives under the same licence."
    ),
}


DATASETS: dict[str, dict[str, str]] = {
    "ravdess": {
        "dataset": "RAVDESS speech, actors 01–20 (1,200 clips, English, 8 classes)",
        "licence": "CC BY-NC-SA 4.0",
        "citation": LICENCE["citation"],
    },
    "nemo": {
        "dataset": (
            "nEMO, Polish acted speech, 9 speakers (2,175-clip subset, 6 classes: no calm, no disgust)"
        ),
        "licence": "CC BY-NC-SA 4.0",
        "citation": (
            "Christop, I. (2024). nEMO: Dataset of Emotional Speech in Polish. Proceedings of "
            "LREC-COLING 2024. https://aclanthology.org/2024.lrec-main.1059/"
        ),
    },
    "ased": {
        "dataset": (
            "ASED v1, Amharic speech, 65 speakers (2,474 clips kept when at least 5 of 8 "
            "listeners agreed; 5 classes: neutral, happy, sad, angry, fearful)"
        ),
        "licence": "no licence stated; freely available for research (research and non-commercial use only)",
        "citation": (
            "Retta, Almekhlafi, Sutcliffe, Mhamed, Ali, Feng (2023). A New Amharic Speech Emotion "
            "Dataset and Classification Benchmark. ACM TALLIP 22(1). https://doi.org/10.1145/3529759"
        ),
    },
    "emovo": {
        "dataset": "EMOVO, Italian acted speech, 6 actors (588 clips, 7 classes: no calm)",
        "licence": (
            "distributed by its authors for research, no formal licence (research and "
            "non-commercial use only)"
        ),
        "citation": (
            "Costantini, Iaderola, Paoloni, Todisco (2014). EMOVO Corpus: an Italian Emotional "
            "Speech Database. LREC 2014, pp. 3501-3504"
        ),
    },
    "kotts": {
        "dataset": (
            "Korean emotional read speech, the public 5 % of the emotiontts open database, 15 "
            "speakers (300 clips, 4 classes: neutral, happy, sad, angry)"
        ),
        "licence": "CC BY-NC-SA 4.0 (research use only, per its notice)",
        "citation": (
            "emotiontts open database (github.com/emotiontts/emotiontts_open_db), SELVAS AI and "
            "KAIST, Korean government research programme No. 10080667"
        ),
    },
    "noise": {
        "dataset": (
            "background noise mixed under training copies: Speech Commands v0.02 background "
            "noises (CC BY 4.0) and UrbanSound8K fold 1 (CC BY-NC 3.0)"
        ),
        "licence": "CC BY 4.0 / CC BY-NC 3.0",
        "citation": (
            "Warden, P. (2018). Speech Commands, arXiv:1804.03209; Salamon, J., Jacoby, C., "
            "Bello, J. P. (2014). A Dataset and Taxonomy for Urban Sound Research, ACM MM"
        ),
    },
    "music": {
        "dataset": (
            "three songs mixed under training copies (JamendoLyrics MultiLang): 'Fantasma' by "
            "Los Rombos (CC BY-SA), 'Miedo' by Yuanan (CC BY-NC-SA), 'te amo' by Fabios la "
            "nueva expresion de la cancion (CC BY-NC-SA); 'de bonne humeur' by Le Nez Tordu is "
            "held out"
        ),
        "licence": "CC BY-SA / CC BY-NC-SA",
        "citation": "Durand, Stoller, Ewert (2023), ICASSP; songs from jamendo.com",
    },
}
"""What training may read, keyed by corpus folder name, with licence and citation."""


def datasets_entry(corpora: list[str], recipe: TrainConfig) -> dict[str, Any]:
    """The card's and report's data fields for training on ``corpora`` (folder names) with
    ``recipe``'s noise and music: one ``dataset``/``licence``/``citation`` line each (the
    single-corpus form), the per-set ``datasets`` list and the non-commercial ``note``."""
    names = list(corpora)
    if recipe.noise_dir is not None:
        names.append("noise")
    if recipe.music_dir is not None:
        names.append("music")
    known = [
        DATASETS.get(n, {"dataset": n, "licence": "see the corpus README", "citation": ""}) for n in names
    ]
    return {
        "dataset": "; ".join(d["dataset"] for d in known),
        "licence": "; ".join(dict.fromkeys(d["licence"] for d in known)),
        "citation": " | ".join(d["citation"] for d in known if d["citation"]),
        "note": LICENCE["note"],
        "datasets": known,
    }


def save_ensemble(members: list[Any], path: Path) -> Any:
    """Save one member, or the mean of several as one functional model (no Lambda).

    Members are re-wrapped uncompiled first: a compiled model stores its loss, and a
    custom loss (:func:`~tagger.training.fit.masked_crossentropy`) would make the file
    unloadable with ``safe_mode``."""
    from tagger.quiet import import_keras

    keras = import_keras()

    bare = [keras.Model(m.inputs[0], m.outputs[0], name=m.name if len(members) == 1 else f"member_{i}")
            for i, m in enumerate(members)]  # fmt: skip
    if len(bare) == 1:
        model = bare[0]
    else:
        inputs = keras.Input(shape=members[0].input_shape[1:], name=members[0].inputs[0].name)
        outputs = keras.layers.Average(name="probs_mean")([m(inputs) for m in bare])
        model = keras.Model(inputs, outputs, name="ensemble")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


def model_card(
    model_path: Path,
    *,
    name: str,
    model_config: ModelConfig,
    recipe: TrainConfig,
    training: dict[str, Any],
    cv_metrics: dict[str, Any],
    calibration: dict[str, Any],
    windows_per_s: float | None,
) -> dict[str, Any]:
    """The JSON card of the model file at ``model_path``: ``version`` is
    ``<name>-<first 12 hex of its sha256>`` and ``sha256`` the full digest, which
    :func:`tagger.model.load_model` checks the file against. ``training``: manifest,
    clip/window counts, actors and seed, completed here with the licence and recipe."""
    digest = file_sha256(model_path)
    front = FrontEndConfig()
    return {
        "name": name,
        "version": f"{name}-{digest[:12]}",
        "sha256": digest,
        "classes": list(EMOTIONS),
        "input": {
            "name": model_config.input_name,
            "shape": list(model_config.input_shape),
            "description": _INPUT_DESCRIPTIONS.get(model_config.input_name, model_config.input_name),
        },
        "architecture": asdict(model_config),
        "window_config": {
            "window_s": front.window.window_s,
            "hop_s": front.window.hop_s,
            "sample_rate": front.window.sample_rate,
            "min_fraction": front.window.min_fraction,
        },
        "feature_config": asdict(front.features),
        "clip_prediction": "mean of window probabilities over speech windows (all if none)",
        "training": {
            **datasets_entry(list(training.get("corpora", ["ravdess"])), recipe),
            **training,
            "recipe": recipe_dict(recipe),
            "trained_on": "all clips (after CV chose the recipe)",
        },
        "cv_metrics": cv_metrics,
        "calibration": {
            "temperature": calibration["temperature"],
            "abstain_threshold": calibration["abstain_threshold"],
            "ece_before": calibration["ece_before"],
            "ece_after": calibration["ece_after"],
        },
        "windows_per_s_one_core": windows_per_s,
        "size_bytes": model_path.stat().st_size,
    }


def attach_loco(card_path: Path, results: dict[str, Any], *, command: str) -> dict[str, Any]:
    """Add the leave-one-corpus-out figures of ``benchmarks.corpora --experiments holdout``
    (``results``: its JSON, keys ``holdout <corpus>``) to the card at ``card_path`` as
    ``loco`` with the ``command`` that measured them, and render ``MODEL_CARD.md`` beside it
    again; returns the card."""
    card = json.loads(Path(card_path).read_text())
    corpora = {
        key.removeprefix("holdout "): value for key, value in results.items() if key.startswith("holdout ")
    }
    card["loco"] = {"command": command, "corpora": corpora}
    Path(card_path).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (Path(card_path).parent / "MODEL_CARD.md").write_text(model_card_markdown(card), encoding="utf-8")
    return dict(card)


def recipe_dict(recipe: TrainConfig) -> dict[str, Any]:
    """The recipe's knobs as recorded in cards and reports (the architecture apart)."""
    return {k: v for k, v in asdict(recipe).items() if k != "model"}


INTENDED_USE_LINES = (
    "## Intended use",
    "",
    "Coarse, time-coded emotion tags over the speech of a video library, for search and "
    "aggregate profiles (share of time per emotion). Not for decisions about individual "
    "people, not for clinical, hiring, security or lie-detection use.",
    "",
    "## How good it is",
    "",
)
"""The card's intended-use section and the heading that follows it, for every recipe's card."""


def model_card_markdown(card: dict[str, Any]) -> str:
    """Human-readable model card (``MODEL_CARD.md``) rendered from the JSON card: one
    corpus (RAVDESS, the older cards) or several, with their per-corpus figures and the
    scores of the test speakers the model never heard."""
    if card.get("architecture", {}).get("kind") == "mn04_tail":
        from tagger.training.mn04_card import tail_card_markdown

        return tail_card_markdown(card)
    cv = card["cv_metrics"]
    training = card["training"]
    recipe = training["recipe"]
    arch = card["architecture"]
    cal = card["calibration"]
    std = cv["fold_std"]
    speed = card.get("windows_per_s_one_core")
    corpora = list(training.get("corpora", ["ravdess"]))
    return "\n".join(
        [
            f"# Model card: {card['name']}",
            "",
            f"Version `{card['version']}` (`default.keras`, {card['size_bytes'] / 1e6:.2f} MB; "
            "machine-readable card: `default.card.json`).",
            "",
            "## What it does",
            "",
            "Classifies each 3 s window of audio (hop 1 s, 16 kHz mono) into one of eight "
            f"acted emotions: {', '.join(card['classes'])}. Input: {card['input']['description']}, "
            f"shape {tuple(card['input']['shape'])}. Output: calibrated probabilities "
            f"(temperature {cal['temperature']:.2f}). {_decision_text(card.get('decision'))} "
            f"Windows whose label's evidence is below {cal['abstain_threshold']:.1f} are labelled "
            "`uncertain`; windows without speech are labelled `no_speech` by the front end.",
            "",
            f"Architecture: {_ARCHITECTURE_NOTES.get(arch['kind'], arch['kind'])}; "
            + (
                f"the mean of {recipe['n_members']} such networks trained with different seeds"
                if recipe["n_members"] > 1
                else "one such network"
            )
            + ". How the recipe was chosen: `docs/model/experiments.md`.",
            "",
            *INTENDED_USE_LINES,
            *_evaluation_lines(card, cv, std),
            f"- calibration: ECE {100 * cal['ece_before']:.1f}% before, "
            f"{100 * cal['ece_after']:.1f}% after temperature scaling.",
            *([f"- speed: {speed:.0f} windows/s for the model alone on one CPU core."] if speed else []),
            "",
            "Loudness, video-level and cross-corpus behaviour: `docs/model/experiments.md` "
            "(`benchmarks.model_level`, `benchmarks.video_level`, `benchmarks.corpora`).",
            "",
            "What the accuracy means: on new speakers saying short acted sentences in studio "
            "conditions, about that share of clips gets the acted label. On spontaneous, "
            "noisy, music-laden or far-field video audio expect clearly less; treat the tags as "
            "soft evidence and use the probabilities. Full report: `docs/model/report.md`.",
            "",
            "## Limits",
            "",
            *_limit_lines(corpora),
            "- Eight categories only; mixed, subtle or other emotions are forced into them or "
            "end up `uncertain`. Most frequent cross-validation confusions: "
            f"{top_confusions(cv['confusion'])}.",
            "- Trained on 3 s windows: very short utterances and overlapping speakers are not "
            "handled specially.",
            "",
            "## Training data and licence",
            "",
            *[
                f"- {d['dataset']}. Licence: {d['licence']}."
                + (f" Citation: {d['citation']}" if d.get("citation") else "")
                for d in training.get("datasets", [training])
            ],
            "",
            f"{training['note']}",
            "",
            f"Reproduce: `{_reproduce_command(training, recipe, arch['kind'], card=card)}`.",
            "",
            *_scene_gate_lines(),
        ]
    )


def _scene_gate_lines() -> list[str]:
    """The section on the content gate's pretrained network, from its own card
    (``tagger/models/scene.card.json``): what decides which windows get an emotion."""
    from tagger.audioset.gate import DEFAULT_SCENE_PATH

    path = DEFAULT_SCENE_PATH.with_name(DEFAULT_SCENE_PATH.stem + ".card.json")
    if not path.is_file():
        return []
    scene = json.loads(path.read_text())
    decision = scene.get("decision", {})
    rule = (
        [
            f"Speech: {decision['speech']} (speech_threshold {decision['speech_threshold']}, "
            f"rival_factor {decision['rival_factor']}, smooth_windows {decision['smooth_windows']}; "
            f"rival: {scene['rival']}). Music: {decision['music']} ({decision['music_threshold']}).",
            "",
        ]
        if decision
        else []
    )
    return [
        "## Which windows get an emotion: the content gate's network",
        "",
        f"Only windows whose content is `speech` are classified. The content class comes from "
        f"{scene['source']}, run by LiteRT over 10 s segments of each track and pooled per window "
        "(where it is unsure, from the feature gate of `tagger/content.py`; `docs/speech.md`).",
        "",
        *rule,
        f"Licence: {scene['licence']}.",
        "",
        *[f"- `{name}`: sha256 `{digest}`" for name, digest in scene["files"].items()],
        "",
        f"Rebuild: `{scene['reproduce']}`.",
        "",
    ]


def _reproduce_command(
    training: dict[str, Any],
    recipe: dict[str, Any],
    kind: str,
    *,
    card: dict[str, Any],
) -> str:
    """The ``python -m tagger.training`` line that trains this card's model again (its
    name and decision rule too: the version is ``<name>-<hash>``)."""
    manifests = training.get("manifests", [training.get("manifest")])
    flags = [f"--manifest {m}" for m in manifests]
    flags += ["--out tagger/models --filename default --report-dir docs/model", f"--kind {kind}"]
    flags += [f"--epochs {recipe['epochs']}", f"--members {recipe['n_members']}"]
    if recipe.get("cv_members"):
        flags.append(f"--cv-members {recipe['cv_members']}")
    if recipe.get("gain_db"):
        low, high = recipe["gain_db"]
        flags.append(f"--gain-db {low:g} {high:g}")
        if recipe.get("max_clip_db", TrainConfig.max_clip_db) != TrainConfig.max_clip_db:
            flags.append(f"--max-clip-db {recipe['max_clip_db']:g}")
        flags.append(
            f"--noise-copies {recipe['noise_copies']} --noise-probability {recipe['noise_probability']:g}"
        )
    for flag, key in (("--noise-dir", "noise_dir"), ("--music-dir", "music_dir")):
        if recipe.get(key):
            flags.append(f"{flag} {recipe[key]}")
    if recipe.get("speed"):
        flags.append(f"--speed {recipe['speed'][0]:g} {recipe['speed'][1]:g}")
    if recipe.get("eq_db"):
        flags.append(f"--eq-db {recipe['eq_db']:g}")
    if recipe.get("balance_corpora"):
        flags.append("--balance-corpora")
    if training.get("test_fold") is not None:
        flags.append(f"--test-fold {training['test_fold']}")
    name, decision = card["name"], card.get("decision")
    if decision and decision.get("rule", "argmax") != "argmax":
        flags.append(
            f"--decision {decision['rule']} --neutral-weight {float(decision['neutral_weight']):g} "
            f"--calm-weight {float(decision.get('calm_weight', 1.0)):g}"
        )
    if name != TrainOptions.name:
        flags.append(f"--name {name}")
    flags.append(f"--seed {training['seed']}")
    return "python -m tagger.training " + " ".join(flags)


def _evaluation_lines(card: dict[str, Any], cv: dict[str, Any], std: dict[str, Any]) -> list[str]:
    training = card["training"]
    per_corpus = card.get("cv_per_corpus", {})
    test = card.get("test_per_corpus", {})
    lines = [
        f"Speaker-independent {cv.get('n_folds', 5)}-fold cross-validation over "
        f"{', '.join(per_corpus) or 'RAVDESS actors 01–20'} (no speaker in both training and "
        f"test folds{_cv_members_note(training['recipe'])}), clip = mean of its speech windows:",
        "",
        f"- all clips: accuracy {100 * cv['clip_accuracy']:.1f}% (± {100 * std.get('accuracy', 0):.1f} "
        f"across folds), macro-F1 {100 * cv['macro_f1']:.1f}%, UAR {100 * cv['uar']:.1f}%, "
        f"window accuracy {100 * (cv['window_accuracy'] or 0):.1f}%; chance is 12.5%.",
    ]
    for name, score in per_corpus.items():
        lines.append(f"- {name}: {_score_text(score)}")
    if test:
        lines += [
            "",
            f"Test speakers (fold {training.get('test_fold')} of every corpus: kept out of the "
            "cross-validation *and* of this model, so scored once by the shipped model):",
            "",
            *[f"- {name}: {_score_text(score)}" for name, score in test.items()],
        ]
    return [*lines, "", *_neutral_lines(test), *_arousal_lines(test), *_loco_lines(card.get("loco"))]


def _arousal_lines(test: dict[str, Any]) -> list[str]:
    rhos = {name: score["arousal"]["spearman_rho"] for name, score in test.items() if "arousal" in score}
    if not rhos:
        return []
    text = ", ".join(f"{name} {'n/a' if rho is None else f'{rho:.2f}'}" for name, rho in rhos.items())
    return [
        "Arousal (`tagger/affect.py`) orders the emotions of the test speakers as expected "
        "(angry, happy, fearful, surprised above neutral above sad and calm), Spearman's rho "
        f"per corpus: {text}.",
        "",
    ]


def _decision_text(decision: dict[str, Any] | None) -> str:
    if not decision or decision.get("rule", "argmax") == "argmax":
        return "A window's label is its most probable emotion."
    weight, calm = float(decision["neutral_weight"]), float(decision.get("calm_weight", 1.0))
    return (
        "A window's label is decided with calm taken as a kind of neutral (`tagger/decision.py`): "
        f"neutral and calm summed{f', times {weight:g},' if weight != 1 else ''} against each "
        "emotion; if they win, calm only where it is "
        + (f"at least {calm:g} times as likely as neutral" if calm != 1 else "more likely than neutral")
        + ", else neutral. The evidence is the label's probability (the pair's sum for neutral or calm)."
    )


def _neutral_lines(test: dict[str, Any]) -> list[str]:
    rows = [(name, score["neutral"]) for name, score in test.items() if "neutral" in score]
    if not rows:
        return []

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.1f}"

    return [
        "Neutral on the test speakers (8-way recall of neutral; mean 8-way recall over the "
        "corpus's other emotions), by the plain arg-max and by the card's decision rule:",
        "",
        "| corpus | neutral, arg-max | neutral, decided | other emotions, arg-max "
        "| other emotions, decided |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {name} | {cell(n['argmax']['neutral_recall'])} | {cell(n['decided']['neutral_recall'])} "
            f"| {cell(n['argmax']['emotion_recall'])} | {cell(n['decided']['emotion_recall'])} |"
            for name, n in rows
        ],
        "",
    ]


def _loco_lines(loco: dict[str, Any] | None) -> list[str]:
    if not loco:
        return []
    return [
        "Leave one corpus out (the same recipe trained on the other corpora, tested on every "
        f"clip of the one left out over its own classes; `{loco['command']}`"
        + (f"; {loco['note']}" if loco.get("note") else "")
        + "):",
        "",
        "| corpus left out | UAR, own classes | 8-way neutral recall |",
        "|---|---:|---:|",
        *[
            f"| {name} | {100 * r['uar']:.1f} | "
            + ("–" if r.get("neutral_recall_8way") is None else f"{100 * r['neutral_recall_8way']:.1f}")
            + " |"
            for name, r in loco["corpora"].items()
        ],
        f"| mean | {100 * sum(r['uar'] for r in loco['corpora'].values()) / len(loco['corpora']):.1f} | |",
        "",
    ]


def _cv_members_note(recipe: dict[str, Any]) -> str:
    cv_members = recipe.get("cv_members")
    if not cv_members or cv_members == recipe["n_members"]:
        return ""
    return f"; each fold's model {cv_members} network(s), the shipped one averages {recipe['n_members']}"


def _score_text(score: dict[str, Any]) -> str:
    text = (
        f"accuracy {100 * score['clip_accuracy']:.1f}%, UAR {100 * score['uar']:.1f}%, "
        f"macro-F1 {100 * score['macro_f1']:.1f}% over 8 classes ({score['n']} clips)"
    )
    own = score.get("own_classes")
    if own is not None and len(score.get("classes", [])) < 8:
        text += (
            f"; among its {len(score['classes'])} classes accuracy {100 * own['clip_accuracy']:.1f}%, "
            f"UAR {100 * own['uar']:.1f}%"
        )
    return text


_LANGUAGES = {
    "ravdess": "English",
    "nemo": "Polish",
    "ased": "Amharic",
    "emovo": "Italian",
    "kotts": "Korean",
}
_SPONTANEITY = {"ased": "volunteers at home", "kotts": "read scripts"}


def _limit_lines(corpora: list[str]) -> list[str]:
    if corpora == ["ravdess"]:
        return [
            "- Acted, North-American English speech of 20 professional actors (10 female, 10 "
            "male), two fixed sentences; other languages, accents, ages and natural emotion are "
            "out of distribution."
        ]
    languages = ", ".join(_LANGUAGES.get(c, c) for c in corpora)
    settings = "".join(f"; {c}: {how}" for c, how in _SPONTANEITY.items() if c in corpora)
    return [
        f"- Acted or read speech only ({', '.join(corpora)}: {languages}; mostly professional "
        f"actors in studios{settings}); natural and everyday emotion, children and the elderly "
        "are out of distribution. Cross-corpus transfer is weak (see the leave-one-corpus-out "
        "figures in `docs/model/experiments.md`).",
        "- Calm exists only in RAVDESS: it is learnt from 20 English speakers"
        + (", disgust from RAVDESS and EMOVO" if "emovo" in corpora else ", and disgust too")
        + ".",
    ]


_ARCHITECTURE_NOTES = {
    "melscal_cnn": (
        "1-D CNN over 75 steps of 40 ms (3 conv blocks of 48/64/96 channels with batch norm and "
        "max-pooling, mean and max over time, dropout, softmax), trained with AdamW, class "
        "weights and augmentation (noise added to the waveform at 0–30 dB SNR, time shift, "
        "gain, time and band masks)"
    ),
    "melscal_rel_cnn": (
        "the melscal_cnn architecture over level-free input (log-mel relative to each window's "
        "speech level), trained with noise (0–30 dB SNR) and gain (clipping included) applied to "
        "the waveform, time shift, time and band masks"
    ),
    "aggregate_mlp": "MLP over the 161 per-window aggregates",
    "logmel_cnn": "1-D CNN over log-mel frames",
    "frames_cnn": "1-D CNN over all frame features",
}

_INPUT_DESCRIPTIONS = {
    "melscal": "tagger.model.mel_scalar_steps(WindowBatch.frames): 64 log-mel dB, 7 scalars, log f0",
    "melscal_rel": (
        "tagger.model.level_free_mel_scalar_steps(WindowBatch.frames): 64 log-mel dB and rms dB "
        "relative to the window's speech level, 6 level-free scalars, log f0"
    ),
    "logmel": "log-mel dB frames of a window: WindowBatch.frames[:, :, :64]",
    "frames": "all frame features of a window: WindowBatch.frames",
    "features": "per-window aggregates: WindowBatch.features",
}
