"""Keep native libraries' start-up chatter off the terminal: TensorFlow's absl/oneDNN
lines (which no environment variable silences before absl is initialised) and LiteRT's
delegate announcement. Python's own warnings and exceptions are untouched."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

__all__ = ["import_keras", "import_tensorflow", "native_stderr_silenced"]


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to /dev/null for the duration;
    a no-op where descriptors cannot be duplicated."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow() -> ModuleType:
    """``tensorflow`` (and Keras), imported once per process without its start-up lines."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        import keras  # noqa: F401 - imported here so its own start-up is silenced too
        import tensorflow
    module: ModuleType = tensorflow
    return module


def import_keras() -> ModuleType:
    """``keras``, with TensorFlow imported first by :func:`import_tensorflow` (a bare
    ``import keras`` as the first import prints TensorFlow's start-up lines)."""
    import_tensorflow()
    import keras

    module: ModuleType = keras
    return module
