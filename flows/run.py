"""One tagging run, whatever runs it: discover, plan, tag in batches, record the run.

The Prefect flows (``flows.tag_flows``) and a plain local run (``emotag tag`` without a
Prefect API) both call :func:`run_tagging`; they differ only in how a batch is submitted
and where the log goes. No Prefect import here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog import Catalog
from catalog.storage import redacted
from flows.library import DEFAULT_EXTENSIONS, discover, expand_inputs
from flows.outcomes import BatchReport, write_outcomes
from flows.plan import make_plan, model_version_of
from flows.progress import RunProgress
from flows.worker_pool import VideoJob, prestart_pool, process_batch, shutdown_pools
from tagger.frontend import FrontEndConfig
from tagger.model import DEFAULT_MODEL_PATH, litert_file
from tagger.pipeline import TagConfig
from tagger.windows import WindowConfig

__all__ = [
    "BATCHES_IN_FLIGHT",
    "BatchSpec",
    "TagOptions",
    "TagRequest",
    "run_locally",
    "run_tagging",
    "summary_markdown",
    "tag_one_batch",
]


BATCHES_IN_FLIGHT = 2
"""Batches run at once: while one is written to the catalogue the workers tag the next."""


@dataclass(frozen=True)
class TagOptions:
    """How a run tags, the same for every flow and the CLI.

    ``batch_size`` videos per submitted batch, ``max_workers`` worker processes,
    ``window_s``/``hop_s`` window geometry (seconds), ``min_age_s``: files found by a
    walk or a glob that changed more recently than this (seconds) wait for a later run,
    ``decode_timeout_s``: base of each decode's time limit (seconds)."""

    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    batch_size: int = 16
    max_workers: int = 1
    window_s: float = 3.0
    hop_s: float = 1.0
    min_age_s: float = 0.0
    decode_timeout_s: float = 30.0

    def tag_config(self) -> TagConfig:
        return TagConfig(
            frontend=FrontEndConfig(window=WindowConfig(window_s=self.window_s, hop_s=self.hop_s)),
            timeout_base_s=self.decode_timeout_s,
        )


@dataclass(frozen=True)
class TagRequest:
    """What a run is asked to do: tag ``inputs`` (folders, files, globs) with the model
    at ``model_path`` (the shipped one when None) into the catalogue at ``catalog_root``.
    ``force`` re-tags units already done; ``retry_failed`` retries content that failed
    before; ``mark_missing`` marks catalogue paths under the folders that are gone.
    ``storage_options`` go to every catalogue read and write (object storage), over
    those of ``EMOTAG_STORAGE_OPTIONS``."""

    flow_name: str
    inputs: tuple[str, ...]
    catalog_root: str
    model_path: str | None = None
    options: TagOptions = field(default_factory=TagOptions)
    force: bool = False
    retry_failed: bool = True
    mark_missing: bool = False
    storage_options: dict[str, str] | None = None


@dataclass(frozen=True)
class BatchSpec:
    """One batch as submitted: the videos and everything needed to tag and record them."""

    jobs: list[VideoJob]
    catalog_root: str
    model_path: str | None
    config: TagConfig
    workers: int
    run_id: str
    replace: bool
    storage_options: dict[str, str] | None = None


def tag_one_batch(spec: BatchSpec) -> BatchReport:
    """Tag one batch of videos and write everything it produced to the catalogue."""
    outcomes = process_batch(spec.jobs, model_path=spec.model_path, config=spec.config, workers=spec.workers)
    catalog = Catalog(spec.catalog_root, storage_options=spec.storage_options)
    return write_outcomes(catalog, outcomes, run_id=spec.run_id, replace=spec.replace)


Submit = Callable[[BatchSpec], "Future[BatchReport] | Any"]
"""Submits a batch and returns something with ``.result()`` (a Prefect or concurrent future)."""


def run_tagging(
    request: TagRequest,
    *,
    submit: Submit,
    run_id: str,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    workers: int | None = None,
) -> dict[str, Any]:
    """Plan, tag in batches (each through ``submit``), record the run; the summary.

    ``workers`` overrides the worker processes per batch (1 on a Dask cluster, whose
    workers are the parallelism). A ``runs`` row is written as ``running`` first and
    ends ``completed`` or, whatever stops the run, ``failed``.
    """
    options = request.options
    catalog_root, model_path, flow_name = request.catalog_root, request.model_path, request.flow_name
    started = datetime.now(UTC)
    clock = time.perf_counter()
    catalog = Catalog(catalog_root, storage_options=request.storage_options)
    catalog.ensure()  # fails here, before any work, when the catalogue is unusable
    version = model_version_of(model_path)
    # The LiteRT file the workers run, exported here once if the model has none yet, so
    # that no worker imports TensorFlow; a model that cannot load fails the run here.
    litert_file(model_path or DEFAULT_MODEL_PATH)
    params = {
        "inputs": list(request.inputs),
        "model_path": model_path,
        "force": request.force,
        **{k: v for k, v in asdict(options).items() if k != "extensions"},
        **({"storage_options": redacted(request.storage_options)} if request.storage_options else {}),
    }
    run_row: dict[str, Any] = {
        "run_id": run_id,
        "flow": flow_name,
        "params": json.dumps(params),
        "model_version": version,
        "code_version": _code_version(),
        "status": "running",
        "started_at": started,
    }
    catalog.write_run(run_row)
    try:
        catalog.purge_orphans()

        named = expand_inputs(request.inputs)
        roots = named.roots
        too_new: list[str] = []
        candidates = discover(
            roots,
            files=named.files,
            matched=named.matched,
            extensions=options.extensions,
            min_age_s=options.min_age_s,
            too_new=too_new,
        )
        plan = make_plan(
            catalog, candidates, model_version=version, force=request.force, retry_failed=request.retry_failed
        )
        logger.info(
            "%s: %d files, %d to tag, %d already done, %d moved/renamed",
            flow_name,
            len(candidates),
            len(plan.todo),
            plan.n_skipped,
            plan.n_moved,
        )
        n_workers = options.max_workers if workers is None else workers
        if plan.todo:
            prestart_pool(workers=n_workers, model_path=model_path)  # loads while we record
        plan.record_seen(catalog)

        config = options.tag_config()
        size = options.batch_size
        # Largest files first: the long videos start early and the short ones fill the
        # gaps, so no worker waits alone on one long video at the end.
        todo = sorted(plan.todo, key=lambda job: -job.size_bytes)
        batches = [todo[i : i + size] for i in range(0, len(todo), size)]
        futures = [
            submit(
                BatchSpec(
                    jobs=batch,
                    catalog_root=catalog_root,
                    model_path=model_path,
                    config=config,
                    workers=n_workers,
                    run_id=run_id,
                    replace=request.force,
                    storage_options=request.storage_options,
                )
            )
            for batch in batches
        ]
        total = BatchReport()
        try:
            with RunProgress(total=len(plan.todo), logger=logger, label=flow_name) as progress:
                for batch, future in zip(batches, futures, strict=True):
                    report = future.result()
                    total.add(report)
                    progress.advance(len(batch), report.audio_s)
            plan.record_copies(catalog)
        finally:
            shutdown_pools()
        n_missing = (
            sum(catalog.mark_missing(root=r, seen_paths=plan.seen_paths) for r in roots)
            if request.mark_missing
            else 0
        )
        wall_s = time.perf_counter() - clock
        summary: dict[str, Any] = {
            "run_id": run_id,
            "model_version": version,
            "n_seen": len(candidates),
            "n_tagged": total.n_tagged,
            "n_no_audio": total.n_no_audio,
            "n_failed": total.n_failed,
            "n_skipped": plan.n_skipped,
            "n_moved": plan.n_moved,
            "n_missing": n_missing,
            "n_units": total.n_units,
            "audio_s": round(total.audio_s, 1),
            "wall_s": round(wall_s, 1),
            "x_realtime": round(total.audio_s / wall_s, 1) if wall_s > 0 else None,
            "failures": total.failures,
            "label_counts": total.label_counts,
            "n_too_new": len(too_new),
            "min_age_s": options.min_age_s,
            "drift": _drift(catalog, version, run_id, total.label_counts),
        }
        catalog.write_run(
            {
                **run_row,
                "status": "completed",
                "finished_at": datetime.now(UTC),
                "n_seen": len(candidates),
                "n_tagged": total.n_tagged,
                "n_skipped": plan.n_skipped,
                "n_failed": total.n_failed,
            }
        )
        drift = summary["drift"]
        if isinstance(drift, dict) and drift["warning"]:
            logger.warning("label distribution drift: %s", drift)
        return summary
    except BaseException:
        # Whatever stops the run after it was recorded as running (a batch that failed
        # even after its retries, an error while summing up): the run row says failed,
        # then the run fails with the cause.
        with contextlib.suppress(Exception):
            catalog.write_run({**run_row, "status": "failed", "finished_at": datetime.now(UTC)})
        raise


def run_locally(request: TagRequest) -> dict[str, Any]:
    """Run ``request`` in this process without Prefect (no API, no engine): batches one
    after another, the log to :mod:`logging`, a fresh uuid4 as ``run_id``. The ``runs``
    table records the run as it does under Prefect."""
    logger = logging.getLogger("emotag.run")
    # Two batches in flight: one is written to the catalogue while the next is tagged.
    with ThreadPoolExecutor(max_workers=BATCHES_IN_FLIGHT, thread_name_prefix="batch") as executor:
        return run_tagging(
            request,
            submit=lambda spec: executor.submit(tag_one_batch, spec),
            run_id=str(uuid.uuid4()),
            logger=logger,
        )


def _drift(catalog: Catalog, version: str, run_id: str, counts: dict[str, int]) -> dict[str, Any] | None:
    """Jensen–Shannon divergence (bits, 0..1) between this run's emotion-label
    distribution and that of everything else in the catalogue for the same model.
    Warns above 0.1 when both sides have at least 50 labelled windows."""
    from catalog import query
    from catalog.schema import EMOTIONS

    mine = {k: v for k, v in counts.items() if k in EMOTIONS}
    if sum(mine.values()) == 0:
        return None
    rows = query(
        catalog,
        "SELECT label, count(*) AS n FROM windows WHERE model_version = ? AND run_id <> ? GROUP BY label",
        params=[version, run_id],
    ).to_pylist()
    before = {r["label"]: r["n"] for r in rows if r["label"] in EMOTIONS}
    if sum(before.values()) == 0:
        return None
    p = [mine.get(e, 0) / sum(mine.values()) for e in EMOTIONS]
    q = [before.get(e, 0) / sum(before.values()) for e in EMOTIONS]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(a * math.log2(a / b) for a, b in zip(x, m, strict=True) if a > 0)

    divergence = 0.5 * kl(p) + 0.5 * kl(q)
    enough = sum(mine.values()) >= 50 and sum(before.values()) >= 50
    return {"js_divergence_bits": round(divergence, 4), "warning": enough and divergence > 0.1}


def summary_markdown(flow_name: str, summary: dict[str, Any]) -> str:
    """The run report as Markdown (counts, failures with reasons, labels, drift)."""
    lines = [
        f"# {flow_name} run {summary['run_id']}",
        "",
        f"Model `{summary['model_version']}` · {summary['audio_s']} s of audio in "
        f"{summary['wall_s']} s ({summary['x_realtime']}× realtime)",
        "",
        "| seen | tagged | no audio | failed | skipped | moved | missing |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        "| "
        + " | ".join(
            str(summary[k])
            for k in (
                "n_seen",
                "n_tagged",
                "n_no_audio",
                "n_failed",
                "n_skipped",
                "n_moved",
                "n_missing",
            )
        )
        + " |",
        "",
        "## Failures",
        *([f"- `{path}`: {reason}" for path, reason in summary["failures"]] or ["none"]),
        "",
        "## Window labels",
        *[f"- {label}: {n}" for label, n in sorted(summary["label_counts"].items())],
        "",
        f"Drift: {summary['drift']}",
    ]
    return "\n".join(lines)


def _code_version() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
            check=False,
        )
        return result.stdout.strip() or "unknown"
    except OSError:
        return "unknown"
