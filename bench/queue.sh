#!/bin/bash
# Sequential jobs on one core (issue #14). Logs in bench/logs/.
cd /work/wt-model
export PYTHONPATH=$PWD TF_CPP_MIN_LOG_LEVEL=2 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY="taskset -c 1 nice -n 5 /work/main/.venv/bin/python"
R=/work/shared/corpora
while kill -0 21689 2>/dev/null; do sleep 5; done
echo "A $(date)"
$PY -m benchmarks.model_level --model bench/heldout-base/heldout-fold0.keras --manifest bench/heldout-base/heldout-fold0.tsv --json bench/logs/level-base.json > bench/logs/level-base.log 2>&1
echo "B $(date)"
$PY -m benchmarks.heldout --manifest $R/ravdess/manifest.tsv --folds $R/ravdess/folds.tsv --fold 0 --out bench/heldout-rel --cache bench/cache/ravdess-fold0-train.npz --kind melscal_rel_cnn --gain-db -30 20 --noise-copies 3 --noise-probability 0.75 > bench/logs/heldout-rel.log 2>&1
echo "C $(date)"
$PY -m benchmarks.model_level --model bench/heldout-base/heldout-fold0.keras --model bench/heldout-rel/heldout-fold0.keras --manifest bench/heldout-base/heldout-fold0.tsv --json bench/logs/level-rel.json > bench/logs/level-rel.log 2>&1
echo "D $(date)"
$PY -m benchmarks.corpora --corpus $R/ravdess --corpus $R/nemo --model tagger/models/default.keras --json bench/logs/corpora-shipped.json > bench/logs/corpora-shipped.log 2>&1
echo "E $(date)"
$PY -m benchmarks.corpora --corpus $R/ravdess --corpus $R/nemo --kind melscal_rel_cnn --gain-db -30 20 --noise-copies 3 --noise-probability 0.75 --noise-dir $R/noise --epochs 30 --members 1 --experiments loco --json bench/logs/corpora-loco.json > bench/logs/corpora-loco.log 2>&1
echo "F $(date)"
$PY -m benchmarks.corpora --corpus $R/nemo --corpus $R/ravdess --kind melscal_rel_cnn --gain-db -30 20 --noise-copies 3 --noise-probability 0.75 --noise-dir $R/noise --epochs 30 --members 1 --experiments within joint --json bench/logs/corpora-cv.json > bench/logs/corpora-cv.log 2>&1
echo "done $(date)"
