"""Prefect flows ``maintain-catalog`` (weekly) and ``train-model`` (on demand)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from catalog import Catalog, query
from flows.tag_flows import DEFAULT_CATALOG
from tagger.errors import ModelError
from tagger.model import DEFAULT_MODEL_PATH, card_path_for, load_model, read_card, verify_model_file
from tagger.training import TrainOptions, train

__all__ = ["maintain_catalog", "promote_if_better", "train_model"]


@task(name="catalog-checks")
def catalog_checks(catalog_root: str, storage_options: dict[str, str] | None = None) -> dict[str, Any]:
    """Invariants an analyst relies on: probabilities sum to 1, every committed unit has
    its windows and one profile, no duplicate windows."""
    catalog = Catalog(catalog_root, storage_options=storage_options)
    sums = query(
        catalog,
        "SELECT coalesce(max(abs(p_neutral + p_calm + p_happy + p_sad + p_angry + p_fearful"
        " + p_disgust + p_surprised - 1)), 0) AS err FROM windows",
    ).to_pylist()[0]["err"]
    incomplete = query(
        catalog,
        "SELECT count(*) AS n FROM units u WHERE u.n_windows <> (SELECT count(*) FROM "
        "windows w WHERE w.write_id = u.write_id) OR 1 <> (SELECT count(*) FROM profiles p "
        "WHERE p.write_id = u.write_id)",
    ).to_pylist()[0]["n"]
    duplicates = query(
        catalog,
        "SELECT count(*) AS n FROM (SELECT video_id, track_index, model_version, start_s "
        "FROM windows GROUP BY ALL HAVING count(*) > 1)",
    ).to_pylist()[0]["n"]
    return {
        "max_probability_sum_error": sums,
        "incomplete_units": incomplete,
        "duplicate_windows": duplicates,
        "ok": sums < 1e-3 and incomplete == 0 and duplicates == 0,
    }


@flow(name="maintain-catalog")
def maintain_catalog(
    catalog_root: str = DEFAULT_CATALOG,
    retention_hours: int = 168,
    export_to: str | None = None,
    storage_options: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Purge orphaned rows of interrupted writes, compact small files, vacuum files older
    than ``retention_hours``, run consistency checks, optionally export plain Parquet.
    ``storage_options``: as for :func:`flows.tag_flows.tag_library`."""
    logger = get_run_logger()
    catalog = Catalog(catalog_root, storage_options=storage_options)
    catalog.ensure()
    report: dict[str, Any] = {"orphans_purged": catalog.purge_orphans()}
    report["compact"] = {name: m.get("numFilesRemoved", 0) for name, m in catalog.compact().items()}
    report["vacuumed_files"] = catalog.vacuum(retention_hours=retention_hours)
    report["checks"] = catalog_checks(catalog_root, storage_options)
    if export_to:
        report["exported_rows"] = catalog.export_parquet(export_to)
    if not report["checks"]["ok"]:
        logger.error("catalogue checks failed: %s", report["checks"])
    logger.info("maintenance: %s", report)
    return report


def promote_if_better(candidate: Path, target: Path) -> tuple[bool, str]:
    """Copy ``candidate`` (+ card) over ``target`` when its speaker-independent CV clip
    accuracy beats the target's (or there is no target). Returns (promoted, reason).

    Guarantee: ``target`` never loads under a version that is not its own, whatever the
    point at which the process dies. :func:`~tagger.model.load_model` checks the model
    file's sha256 against its card, and the swap runs in this order:

    1. the candidate is loaded (safe mode, sha256 checked) before anything is touched;
    2. model and card are copied beside the target as ``*.partial`` files, flushed to
       disk, and the copied model is checked against the copied card;
    3. ``os.replace`` (atomic within one folder) moves the model over the target, then
       the card; the target is then loaded again and its version checked.

    A crash before step 3 leaves the old model and card untouched. A crash between the
    two replaces leaves the new model beside the old card: loading it fails with a
    :class:`~tagger.errors.ModelError` (sha256 mismatch) instead of tagging under the old
    version, and the next call finishes the interrupted swap from the card's
    ``.partial`` file before it compares scores.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _finish_interrupted_promotion(target)
    new = read_card(card_path_for(candidate))
    new_score = float(new["cv_metrics"]["clip_accuracy"])
    if target.is_file():
        old = read_card(card_path_for(target))
        old_score = float(old["cv_metrics"]["clip_accuracy"])
        if new_score <= old_score:
            return False, f"kept {old['version']}: CV accuracy {old_score:.3f} >= candidate's {new_score:.3f}"
    load_model(candidate)  # refuses an unsafe, inconsistent or altered model before it is promoted
    model_partial, card_partial = _partial(target), _partial(card_path_for(target))
    _copy_durably(candidate, model_partial)
    _copy_durably(card_path_for(candidate), card_partial)
    verify_model_file(model_partial, read_card(card_partial))
    os.replace(model_partial, target)
    os.replace(card_partial, card_path_for(target))
    _fsync_folder(target.parent)
    promoted = load_model(target)
    if promoted.version != new["version"]:
        raise ModelError(f"promoted {target} loads as {promoted.version}, not {new['version']}")
    return True, f"promoted {new['version']} (CV accuracy {new_score:.3f})"


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _finish_interrupted_promotion(target: Path) -> None:
    """Complete a swap that died between its two replaces: the card left in ``.partial``
    describes the model now at ``target``, so it goes in place; a stale one is removed."""
    card_partial = _partial(card_path_for(target))
    if not card_partial.is_file():
        return
    try:
        if target.is_file():
            verify_model_file(target, read_card(card_partial))
            os.replace(card_partial, card_path_for(target))
            _fsync_folder(target.parent)
            return
    except ModelError:
        pass  # the partial card belongs to a copy that never replaced the model
    card_partial.unlink()


def _copy_durably(source: Path, dest: Path) -> None:
    shutil.copyfile(source, dest)
    with dest.open("rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@flow(name="train-model")
def train_model(options: TrainOptions, promote_to: str | None = None) -> dict[str, Any]:
    """Train and cross-validate with ``options`` (the same options as ``emotag train`` and
    ``python -m tagger.training``); promote the result to ``promote_to`` (default: the
    shipped default model path) only if it scores better."""
    logger = get_run_logger()
    result = train(options, log=logger.info)
    target = Path(promote_to) if promote_to else DEFAULT_MODEL_PATH
    promoted, reason = promote_if_better(Path(result.model_path), target)
    logger.info(reason)
    return {**result.summary(), "promoted": promoted, "reason": reason}
