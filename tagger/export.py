"""Export a trained Keras model to the LiteRT file the workers run (needs TensorFlow).

The shipped and trained models carry their ``.tflite`` beside the ``.keras`` file, its
sha256 in the card (``runtime.litert``). A model without one (``--model other.keras``
from elsewhere) is exported once, on first use, into a cache folder keyed by the Keras
file's sha256: ``$EMOTAG_CACHE_DIR/litert`` or ``~/.cache/emotag/litert``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from tagger.errors import ModelError
from tagger.quiet import import_tensorflow, native_stderr_silenced

__all__ = ["cache_dir", "export_litert", "litert_card_entry"]

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where models exported on first use are kept."""
    root = os.environ.get("EMOTAG_CACHE_DIR") or os.path.join(Path.home(), ".cache", "emotag")
    return Path(root) / "litert"


def export_litert(model: Any, out_path: str | os.PathLike[str]) -> Path:
    """Convert the Keras ``model`` (loaded in safe mode, or just trained) to a LiteRT file
    at ``out_path``, written atomically (a temporary file, then a rename)."""
    tf = import_tensorflow()
    out = Path(out_path)
    try:
        # The converter prints the SavedModel it goes through on stdout: keep it out of
        # the CLI's output (and of --json).
        with contextlib.redirect_stdout(io.StringIO()), native_stderr_silenced():
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            flatbuffer = converter.convert()
    except Exception as exc:  # the converter raises a zoo of types
        raise ModelError(f"cannot export the model to LiteRT: {exc}") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", delete=False) as handle:
        handle.write(flatbuffer)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, out)
    logger.info("exported %s (%d bytes)", out, len(flatbuffer))
    return out


def litert_card_entry(path: Path, *, sha256: str) -> dict[str, str]:
    """The card's ``runtime.litert`` entry for the exported file at ``path``."""
    return {"file": path.name, "sha256": sha256}
