"""Cache the RAVDESS windows (features, log-mel, speech flags) for fast experiments.

Usage: python experiments/cache_clips.py [OUT.npz]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tagger.training import extract_clips, read_manifest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "ravdess"

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ravdess_clips.npz")
    start = time.time()
    clips = extract_clips(read_manifest(CORPUS / "manifest.tsv"))
    clips.save(out)
    print(f"{clips.n_clips} clips, {len(clips.clip)} windows, {time.time() - start:.0f} s -> {out}")
