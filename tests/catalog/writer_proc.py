"""A separate writer process for concurrency and kill tests.

python -m tests.catalog.writer_proc ROOT FIRST COUNT [--batch N] [--replace] [--run RUN]
"""

from __future__ import annotations

import argparse
import sys

from catalog import Catalog
from catalog.testing import make_unit


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("first", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--replace", action="store_true")
    parser.add_argument("--run", default="proc")
    args = parser.parse_args()
    catalog = Catalog(args.root)
    indices = list(range(args.first, args.first + args.count))
    for start in range(0, len(indices), args.batch):
        units = [make_unit(i) for i in indices[start : start + args.batch]]
        catalog.write_units(units, run_id=args.run, replace=args.replace)
        print(f"wrote {indices[start]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
