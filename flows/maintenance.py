"""Prefect flows ``maintain-catalog`` (weekly) and ``train-model`` (on demand)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from catalog import Catalog, query
from flows.tag_flows import DEFAULT_CATALOG

__all__ = ["maintain_catalog", "promote_if_better", "train_model"]


@task(name="catalog-checks")
def catalog_checks(catalog_root: str) -> dict[str, Any]:
    """Invariants an analyst relies on: probabilities sum to 1, every committed unit has
    its windows and one profile, no duplicate windows."""
    catalog = Catalog(catalog_root)
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
    catalog_root: str = DEFAULT_CATALOG, retention_hours: int = 168, export_to: str | None = None
) -> dict[str, Any]:
    """Purge orphaned rows of interrupted writes, compact small files, vacuum files older
    than ``retention_hours``, run consistency checks, optionally export plain Parquet."""
    logger = get_run_logger()
    catalog = Catalog(catalog_root)
    catalog.ensure()
    report: dict[str, Any] = {"orphans_purged": catalog.purge_orphans()}
    report["compact"] = {name: m.get("numFilesRemoved", 0) for name, m in catalog.compact().items()}
    report["vacuumed_files"] = catalog.vacuum(retention_hours=retention_hours)
    report["checks"] = catalog_checks(catalog_root)
    if export_to:
        report["exported_rows"] = catalog.export_parquet(export_to)
    if not report["checks"]["ok"]:
        logger.error("catalogue checks failed: %s", report["checks"])
    logger.info("maintenance: %s", report)
    return report


def promote_if_better(candidate: Path, target: Path) -> tuple[bool, str]:
    """Copy ``candidate`` (+ card) over ``target`` when its speaker-independent CV clip
    accuracy beats the target's (or there is no target). Returns (promoted, reason)."""
    from tagger.model import card_path_for, load_model, read_card

    new = read_card(card_path_for(candidate))
    new_score = float(new["cv_metrics"]["clip_accuracy"])
    if target.is_file():
        old = read_card(card_path_for(target))
        old_score = float(old["cv_metrics"]["clip_accuracy"])
        if new_score <= old_score:
            return False, f"kept {old['version']}: CV accuracy {old_score:.3f} >= candidate's {new_score:.3f}"
    load_model(candidate)  # refuses an unsafe or inconsistent model before it is promoted
    target.parent.mkdir(parents=True, exist_ok=True)
    for source, dest in ((candidate, target), (card_path_for(candidate), card_path_for(target))):
        partial = dest.with_name(dest.name + ".partial")
        shutil.copyfile(source, partial)
        partial.replace(dest)
    return True, f"promoted {new['version']} (CV accuracy {new_score:.3f})"


@flow(name="train-model")
def train_model(
    manifest: str,
    out_dir: str,
    folds: str | None = None,
    seed: int = 0,
    promote_to: str | None = None,
) -> dict[str, Any]:
    """Train and cross-validate from ``manifest``; promote the result to ``promote_to``
    (default: the shipped default model path) only if it scores better."""
    from tagger.model import DEFAULT_MODEL_PATH
    from tagger.train import train

    logger = get_run_logger()
    result = train(manifest, out_dir=out_dir, folds=folds, seed=seed, log=logger.info)
    target = Path(promote_to) if promote_to else DEFAULT_MODEL_PATH
    promoted, reason = promote_if_better(Path(result.model_path), target)
    logger.info(reason)
    return {"model_path": str(result.model_path), "promoted": promoted, "reason": reason}
