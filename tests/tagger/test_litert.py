"""The LiteRT export the workers run: same probabilities as the Keras model, no
TensorFlow in the worker, export on first use for a model without one, tamper-evident."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tagger.errors import ModelError
from tagger.frontend import analyse_signal
from tagger.model import DEFAULT_MODEL_PATH, card_path_for, litert_file, load_model
from tagger.testing.models import build_tiny_model
from tagger.testing.signals import pink_noise, speech_like
from tests.fixtures.media import CORPUS

REPO = Path(__file__).resolve().parents[2]


def _real_windows() -> list[np.ndarray]:
    """A few hundred windows of speech-like signals at several levels, and of corpus
    speech when the corpus is present."""
    levels = (0.02, 0.05, 0.1, 0.3, 0.6, 0.9)
    signals = [speech_like(40.0, seed=s, f0_hz=90.0 + 30 * s) * gain for s, gain in enumerate(levels)]
    signals.append(speech_like(40.0, seed=7) * 0.2 + pink_noise(40.0, amplitude=0.05, seed=7))
    manifest = CORPUS / "manifest.tsv"
    if manifest.is_file():
        rows = manifest.read_text().splitlines()[1:60:6]
        signals += [sf.read(CORPUS / row.split("\t")[0], dtype="float32")[0] for row in rows]
    return signals


def _tail_steps(model: object, signals: list[np.ndarray]) -> np.ndarray:
    """A tail model's step logits over the trunk's maps of ``signals`` (one segment each)."""
    from tagger.audioset.gate import SceneConfig, load_scene_net, segment_input
    from tagger.frontend import scene_mel_rows

    net, out = load_scene_net(), []
    for signal in signals:
        rows = scene_mel_rows(signal)[: SceneConfig().segment_frames + 2 * SceneConfig().context_frames]
        _, feature_map = net.trunk_with_map(segment_input(rows, SceneConfig()))
        out.append(np.asarray(model.forward(feature_map))[0])  # type: ignore[attr-defined]
    return np.concatenate(out)


def test_litert_matches_keras_on_hundreds_of_real_windows() -> None:
    keras_model = load_model(DEFAULT_MODEL_PATH, runtime="keras")
    litert_model = load_model(DEFAULT_MODEL_PATH, runtime="litert")
    if keras_model.input_name == "scene_map":  # the tail runs per segment: compare its step logits
        steps_keras = _tail_steps(keras_model, _real_windows())
        steps_litert = _tail_steps(litert_model, _real_windows())
        assert steps_keras.shape[0] >= 200
        p_keras, p_litert = keras_model.predict_inputs(steps_keras), litert_model.predict_inputs(steps_litert)
        assert np.abs(p_keras - p_litert).max() <= 1e-4
        assert keras_model.tail_path == litert_model.tail_path  # the front end runs the LiteRT file
        return
    inputs = []
    for signal in _real_windows():
        batch = analyse_signal(signal)
        assert batch is not None
        inputs.append(keras_model.inputs(batch))
    x = np.concatenate(inputs)
    assert x.shape[0] >= 200
    p_keras, p_litert = keras_model.predict_inputs(x), litert_model.predict_inputs(x)
    assert np.abs(p_keras - p_litert).max() <= 1e-4
    assert np.allclose(p_litert.sum(axis=1), 1.0, atol=1e-5)


def test_a_worker_runs_without_tensorflow_or_keras(make_media: object) -> None:
    video = make_media("mp4_aac")  # type: ignore[operator]
    code = (
        "import sys\n"
        "from flows.worker_pool import VideoJob, init_worker, process_video\n"
        "from tagger.pipeline import TagConfig\n"
        "init_worker(None)\n"
        f"job = VideoJob({str(video)!r}, 'v', 1, 0.0)\n"
        "outcome = process_video(job, model_path=None, config=TagConfig())\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'tf_keras'}\n"
        "print(outcome.status, outcome.tracks[0].n_windows, ','.join(sorted(loaded)) or 'none')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    status, n_windows, loaded = done.stdout.split()
    assert (status, loaded) == ("ok", "none") and int(n_windows) > 0


def test_a_model_without_an_export_is_exported_once_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMOTAG_CACHE_DIR", str(tmp_path / "cache"))
    model_path = build_tiny_model(tmp_path / "model", name="plain", litert=False)
    assert "runtime" not in json.loads(card_path_for(model_path).read_text())
    exported = litert_file(model_path)
    assert exported.parent == tmp_path / "cache" / "litert" and exported.is_file()
    first_mtime = exported.stat().st_mtime_ns
    assert litert_file(model_path) == exported and exported.stat().st_mtime_ns == first_mtime
    signal = speech_like(6.0, seed=3)
    batch = analyse_signal(signal)
    assert batch is not None
    p_litert = load_model(model_path).predict(batch)
    p_keras = load_model(model_path, runtime="keras").predict(batch)
    assert np.abs(p_litert - p_keras).max() <= 1e-4


def test_a_tampered_litert_file_is_refused(tmp_path: Path) -> None:
    model_path = build_tiny_model(tmp_path / "model", name="tampered")
    tflite = model_path.with_suffix(".tflite")
    data = bytearray(tflite.read_bytes())
    data[-1] ^= 0xFF
    tflite.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="LiteRT file"):
        load_model(model_path)
