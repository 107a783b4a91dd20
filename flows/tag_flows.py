"""Prefect flows ``tag-library`` (nightly) and ``tag-paths`` (on demand: new content,
another model, or ``force``).

Thin orchestration: discovery and planning (flows/library.py, flows/plan.py), one
task per *batch* of videos running the tagger in worker processes (flows/worker_pool.py),
catalogue writes through ``catalog``. One bad video is a ``failed`` row, never a
failed run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from catalog import Catalog, CatalogError
from flows.library import DEFAULT_EXTENSIONS, discover, expand_inputs
from flows.outcomes import BatchReport, write_outcomes
from flows.plan import make_plan, model_version_of
from flows.progress import RunProgress
from flows.worker_pool import VideoJob, process_batch, shutdown_pools
from tagger.frontend import FrontEndConfig
from tagger.pipeline import TagConfig
from tagger.windows import WindowConfig

__all__ = ["run_tagging", "tag_batch", "tag_library", "tag_paths", "with_dask"]

DEFAULT_CATALOG = os.environ.get("EMOTAG_CATALOG", "emotag-catalog")


def _task_runner() -> Any:
    """Batches run one after another here (each uses a process pool), or on a Dask
    cluster when ``EMOTAG_DASK_ADDRESS`` names its scheduler (``tcp://host:8786``)."""
    address = os.environ.get("EMOTAG_DASK_ADDRESS")
    if address:
        from prefect_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(address=address)
    return ThreadPoolTaskRunner(max_workers=1)


def with_dask(flow_fn: Any, address: str) -> Any:
    """``flow_fn`` with its batches sent to the Dask scheduler at ``address``."""
    from prefect_dask.task_runners import DaskTaskRunner

    return flow_fn.with_options(task_runner=DaskTaskRunner(address=address))


def _on_dask() -> bool:
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return context is not None and type(context.task_runner).__name__ == "DaskTaskRunner"


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry I/O trouble (catalogue storage, conflicts); never retry bad media."""
    try:
        state.result()
    except (CatalogError, OSError):
        return True
    except Exception:
        return False
    return False


@task(name="tag-batch", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_transient)
def tag_batch(
    jobs: list[VideoJob],
    *,
    catalog_root: str,
    model_path: str | None,
    config: TagConfig,
    workers: int,
    run_id: str,
    replace: bool,
) -> BatchReport:
    """Tag one batch of videos and write everything it produced to the catalogue."""
    outcomes = process_batch(jobs, model_path=model_path, config=config, workers=workers)
    report = write_outcomes(Catalog(catalog_root), outcomes, run_id=run_id, replace=replace)
    get_run_logger().info(
        "batch: %d tagged, %d no audio, %d failed, %.0f s audio",
        report.n_tagged,
        report.n_no_audio,
        report.n_failed,
        report.audio_s,
    )
    return report


def run_tagging(
    *,
    flow_name: str,
    inputs: list[str],
    catalog_root: str,
    model_path: str | None,
    extensions: list[str],
    force: bool,
    retry_failed: bool,
    batch_size: int,
    max_workers: int,
    window_s: float,
    hop_s: float,
    min_age_s: float,
    mark_missing: bool,
    decode_timeout_s: float = 30.0,
) -> dict[str, Any]:
    """The body shared by both flows: plan, tag in batches, record the run."""
    logger = get_run_logger()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    run_id = str(flow_run.get_id() or uuid.uuid4())
    catalog = Catalog(catalog_root)
    catalog.ensure()  # fails here, before any work, when the catalogue is unusable
    version = model_version_of(model_path)
    params = {
        "inputs": inputs,
        "model_path": model_path,
        "force": force,
        "batch_size": batch_size,
        "max_workers": max_workers,
        "window_s": window_s,
        "hop_s": hop_s,
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

        named = expand_inputs(inputs)
        roots = named.roots
        too_new: list[str] = []
        candidates = discover(
            roots,
            files=named.files,
            matched=named.matched,
            extensions=extensions,
            min_age_s=min_age_s,
            too_new=too_new,
        )
        plan = make_plan(catalog, candidates, model_version=version, force=force, retry_failed=retry_failed)
        logger.info(
            "%s: %d files, %d to tag, %d already done, %d moved/renamed",
            flow_name,
            len(candidates),
            len(plan.todo),
            plan.n_skipped,
            plan.n_moved,
        )
        plan.record_seen(catalog)

        config = TagConfig(
            frontend=FrontEndConfig(window=WindowConfig(window_s=window_s, hop_s=hop_s)),
            timeout_base_s=decode_timeout_s,
        )
        # On Dask the cluster's workers are the parallelism (and may not fork children).
        workers = 1 if _on_dask() else max_workers
        batches = [plan.todo[i : i + batch_size] for i in range(0, len(plan.todo), batch_size)]
        futures = [
            tag_batch.submit(
                batch,
                catalog_root=catalog_root,
                model_path=model_path,
                config=config,
                workers=workers,
                run_id=run_id,
                replace=force,
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
            if mark_missing
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
            "min_age_s": min_age_s,
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
        _artifact(flow_name, summary)
        return summary
    except BaseException:
        # Whatever stops the run after it was recorded as running (a batch that failed
        # even after its retries, an error while summing up): the run row says failed,
        # then the run fails with the cause.
        with contextlib.suppress(Exception):
            catalog.write_run({**run_row, "status": "failed", "finished_at": datetime.now(UTC)})
        raise


@flow(name="tag-library", task_runner=_task_runner())  # type: ignore[arg-type]
def tag_library(
    roots: list[str],
    catalog_root: str = DEFAULT_CATALOG,
    model_path: str | None = None,
    extensions: list[str] = list(DEFAULT_EXTENSIONS),  # noqa: B006 - Prefect parameters are copied
    batch_size: int = 16,
    max_workers: int = 1,
    window_s: float = 3.0,
    hop_s: float = 1.0,
    min_age_s: float = 60.0,
    decode_timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Nightly: tag what is new or changed under ``roots``, mark what disappeared."""
    return run_tagging(
        flow_name="tag-library",
        inputs=roots,
        catalog_root=catalog_root,
        model_path=model_path,
        extensions=extensions,
        force=False,
        retry_failed=False,
        batch_size=batch_size,
        max_workers=max_workers,
        window_s=window_s,
        hop_s=hop_s,
        min_age_s=min_age_s,
        mark_missing=True,
        decode_timeout_s=decode_timeout_s,
    )


@flow(name="tag-paths", task_runner=_task_runner())  # type: ignore[arg-type]
def tag_paths(
    paths: list[str],
    catalog_root: str = DEFAULT_CATALOG,
    model_path: str | None = None,
    force: bool = False,
    retry_failed: bool = True,
    extensions: list[str] = list(DEFAULT_EXTENSIONS),  # noqa: B006
    batch_size: int = 16,
    max_workers: int = 1,
    window_s: float = 3.0,
    hop_s: float = 1.0,
    decode_timeout_s: float = 30.0,
    min_age_s: float = 0.0,
) -> dict[str, Any]:
    """On demand: tag files, folders or globs, with another model or ``force``. Files
    found in folders or by globs that changed in the last ``min_age_s`` seconds (still
    being copied) are left for a later run; files named one by one are always taken."""
    return run_tagging(
        flow_name="tag-paths",
        inputs=paths,
        catalog_root=catalog_root,
        model_path=model_path,
        extensions=extensions,
        force=force,
        retry_failed=retry_failed,
        batch_size=batch_size,
        max_workers=max_workers,
        window_s=window_s,
        hop_s=hop_s,
        min_age_s=min_age_s,
        mark_missing=False,
        decode_timeout_s=decode_timeout_s,
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


def _artifact(flow_name: str, summary: dict[str, Any]) -> None:
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
    try:
        create_markdown_artifact("\n".join(lines), key=f"{flow_name}-report", description="run report")
    except Exception:  # pragma: no cover - artifacts are a convenience, never a failure
        get_run_logger().warning("could not create the run artifact")


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
