"""Prefect flows ``tag-library`` (nightly) and ``tag-paths`` (on demand: new content,
another model, or ``force``).

Thin orchestration: discovery and planning (flows/library.py, flows/plan.py), one
task per *batch* of videos running the tagger in worker processes (flows/worker_pool.py),
catalogue writes through ``catalog``. One bad video is a ``failed`` row, never a
failed run.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from catalog import CatalogError
from flows.outcomes import BatchReport
from flows.run import (
    BATCHES_IN_FLIGHT,
    BatchSpec,
    TagOptions,
    TagRequest,
    run_tagging,
    summary_markdown,
    tag_one_batch,
)

__all__ = ["NIGHTLY", "ON_DEMAND", "tag_batch", "tag_library", "tag_paths", "with_dask"]

DEFAULT_CATALOG = os.environ.get("EMOTAG_CATALOG", "emotag-catalog")
NIGHTLY = TagOptions(min_age_s=60.0)
"""Nightly defaults: files changed in the last minute are still being copied."""
ON_DEMAND = TagOptions()
"""On-demand defaults: everything named is taken (the CLI asks for a minimum age)."""


def _task_runner() -> Any:
    """Batches run two at a time here, sharing the run's process pool (one is written
    while the next is tagged), or on a Dask cluster when ``EMOTAG_DASK_ADDRESS`` names
    its scheduler (``tcp://host:8786``)."""
    address = os.environ.get("EMOTAG_DASK_ADDRESS")
    if address:
        from prefect_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(address=address)
    return ThreadPoolTaskRunner(max_workers=BATCHES_IN_FLIGHT)


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
def tag_batch(spec: BatchSpec) -> BatchReport:
    """Tag one batch of videos and write everything it produced to the catalogue."""
    report = tag_one_batch(spec)
    get_run_logger().info(
        "batch: %d tagged, %d no audio, %d failed, %.0f s audio",
        report.n_tagged,
        report.n_no_audio,
        report.n_failed,
        report.audio_s,
    )
    return report


def _run_under_prefect(request: TagRequest) -> dict[str, Any]:
    """:func:`flows.run.run_tagging` with batches as Prefect tasks, the flow run's id and
    logger, and the run report as a Markdown artifact."""
    logger = get_run_logger()
    summary = run_tagging(
        request,
        submit=tag_batch.submit,
        run_id=str(flow_run.get_id() or uuid.uuid4()),
        logger=logger,  # type: ignore[arg-type]
        # On Dask the cluster's workers are the parallelism (and may not fork children).
        workers=1 if _on_dask() else None,
    )
    try:
        create_markdown_artifact(
            summary_markdown(request.flow_name, summary),
            key=f"{request.flow_name}-report",
            description="run report",
        )
    except Exception:  # pragma: no cover - artifacts are a convenience, never a failure
        logger.warning("could not create the run artifact")
    return summary


@flow(name="tag-library", task_runner=_task_runner())  # type: ignore[arg-type]
def tag_library(
    roots: list[str],
    catalog_root: str = DEFAULT_CATALOG,
    model_path: str | None = None,
    options: TagOptions = NIGHTLY,
    storage_options: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Nightly: tag what is new or changed under ``roots``, mark what disappeared; content
    that failed before is not retried. ``storage_options`` (object storage, over
    ``EMOTAG_STORAGE_OPTIONS``; keep secrets in the workers' environment, not here:
    Prefect stores flow parameters) reach every catalogue read and write."""
    return _run_under_prefect(
        TagRequest(
            flow_name="tag-library",
            inputs=tuple(roots),
            catalog_root=catalog_root,
            model_path=model_path,
            options=options,
            retry_failed=False,
            mark_missing=True,
            storage_options=storage_options,
        )
    )


@flow(name="tag-paths", task_runner=_task_runner())  # type: ignore[arg-type]
def tag_paths(
    paths: list[str],
    catalog_root: str = DEFAULT_CATALOG,
    model_path: str | None = None,
    force: bool = False,
    options: TagOptions = ON_DEMAND,
    storage_options: dict[str, str] | None = None,
) -> dict[str, Any]:
    """On demand: tag files, folders or globs: new content, with another model, or all of
    it again with ``force``. Content that failed before is retried. ``storage_options``:
    as for :func:`tag_library`."""
    return _run_under_prefect(
        TagRequest(
            flow_name="tag-paths",
            inputs=tuple(paths),
            catalog_root=catalog_root,
            model_path=model_path,
            options=options,
            force=force,
            storage_options=storage_options,
        )
    )
