"""How every benchmark hands its figures over: JSON for ``run_all`` and a plain listing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["save_and_print"]


def save_and_print(results: dict[str, Any], out: Path) -> None:
    """Write ``results`` to ``out`` (JSON, parent folders made) and list them, one figure a
    line, nested mappings indented under their key."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    width = max((len(k) for k in results), default=0)
    for key, value in results.items():
        if isinstance(value, dict):
            print(key)
            for inner, figure in value.items():
                print(f"  {inner:40s}  {figure}")
        else:
            print(f"{key:{width}s}  {value}")
