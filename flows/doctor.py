"""Environment checks for ``emotag doctor``: ffmpeg, ffprobe, model, catalogue."""

from __future__ import annotations

import os
from typing import Any

from tagger.errors import EmotagError

__all__ = ["diagnose"]


def diagnose(
    *, catalog_root: str, model_path: str | None, storage_options: dict[str, str] | None = None
) -> dict[str, Any]:
    """One entry per check: ``ok`` and a one-line ``detail``."""
    from tagger import ffmpeg_bin

    checks: dict[str, dict[str, Any]] = {}
    for name in ("ffmpeg", "ffprobe"):
        try:
            exe = ffmpeg_bin.resolve(name)  # type: ignore[arg-type]
            checks[name] = {
                "ok": True,
                "detail": f"{ffmpeg_bin.version_of(exe)} [{exe.source}: {exe.path}]",
                "path": exe.path,
                "source": exe.source,
            }
        except (EmotagError, OSError) as exc:
            checks[name] = {"ok": False, "detail": str(exc)}
    try:
        from tagger.model import load_model

        classifier = load_model(model_path)
        runtime = getattr(classifier.forward, "path", None)
        checks["model"] = {
            "ok": True,
            "detail": f"{classifier.version} (input {classifier.input_name} "
            f"{classifier.input_shape}, abstain below {classifier.abstain_threshold:.2f}; "
            f"runs {runtime if runtime is not None else 'the Keras model'})",
        }
    except EmotagError as exc:
        checks["model"] = {"ok": False, "detail": str(exc)}
    if os.path.isdir(catalog_root) or "://" in catalog_root:
        try:
            from catalog import Catalog

            catalog = Catalog(catalog_root, storage_options=storage_options)
            checks["catalog"] = {
                "ok": True,
                "detail": f"{catalog.root}: {catalog.count('units')} units, "
                f"{catalog.count('videos')} video rows, version {catalog.version()}",
            }
            catalog.check_writable()
        except (EmotagError, OSError) as exc:
            checks["catalog"] = {"ok": False, "detail": str(exc)}
    else:
        checks["catalog"] = {
            "ok": True,
            "detail": f"{catalog_root} does not exist yet (created on first run)",
        }
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
