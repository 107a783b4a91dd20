"""Catalogue benchmark: write 1 M window rows in units of ~1000, then time queries
before and after compaction. Prints figures measured in this one run.

    python -m benchmarks.catalog [--rows 1000000] [--unit-rows 1000] [--units-per-write 20]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from deltalake import DeltaTable

from benchmarks.report import save_and_print
from catalog import Catalog, UnitRows, query
from catalog.schema import TABLES
from catalog.testing import make_unit


def timed(action: Any, repeat: int = 5) -> float:
    """Median seconds of ``repeat`` runs of ``action()``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def file_count(catalog: Catalog, name: str) -> int:
    return len(DeltaTable(catalog.table_uri(name)).file_uris())


def run(*, rows: int, unit_rows_n: int, units_per_write: int, root: Path) -> dict[str, Any]:
    catalog = Catalog(root)
    catalog.ensure()

    def unit_at(index: int) -> UnitRows:
        return make_unit(index, n_windows=unit_rows_n, model_version="bench-000000000000")

    n_units = rows // unit_rows_n
    write_s = 0.0
    for first in range(0, n_units, units_per_write):
        units = [
            make_unit(i, n_windows=unit_rows_n, model_version="bench-000000000000")
            for i in range(first, min(n_units, first + units_per_write))
        ]
        started = time.perf_counter()
        catalog.write_units(units, run_id="bench")
        write_s += time.perf_counter() - started
    single = [
        make_unit(n_units + i, n_windows=unit_rows_n, model_version="bench-000000000000") for i in range(10)
    ]
    started = time.perf_counter()
    for unit in single:
        catalog.write_units([unit], run_id="bench-single")
    single_s = (time.perf_counter() - started) / len(single)
    video = make_unit(n_units // 2, n_windows=1).video_id
    timeline = (
        f"SELECT start_s, end_s, label, confidence FROM windows WHERE video_id = '{video}' ORDER BY start_s"
    )
    aggregate = "SELECT label, count(*) AS n, avg(confidence) AS c FROM windows GROUP BY label"
    result: dict[str, Any] = {
        "window_rows": catalog.count("windows"),
        "units": catalog.count("units"),
        "write_rows_per_s": round(n_units * unit_rows_n / write_s),
        "units_per_write": units_per_write,
        "single_unit_write_s": round(single_s, 3),
        "files_before": {name: file_count(catalog, name) for name in TABLES},
        "timeline_query_s_before": round(timed(lambda: query(catalog, timeline)), 4),
        "aggregate_query_s_before": round(timed(lambda: query(catalog, aggregate)), 4),
    }
    started = time.perf_counter()
    catalog.compact()
    catalog.vacuum(retention_hours=0)
    result["compact_and_vacuum_s"] = round(time.perf_counter() - started, 2)
    result["files_after"] = {name: file_count(catalog, name) for name in TABLES}
    result["timeline_query_s_after"] = round(timed(lambda: query(catalog, timeline)), 4)
    result["aggregate_query_s_after"] = round(timed(lambda: query(catalog, aggregate)), 4)
    assert query(catalog, timeline).num_rows == unit_rows_n
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--unit-rows", type=int, default=1000)
    parser.add_argument("--units-per-write", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("bench/catalog.json"))
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="emotag-bench-catalog-"))
    try:
        results = run(
            rows=args.rows, unit_rows_n=args.unit_rows, units_per_write=args.units_per_write, root=root
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    save_and_print(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
