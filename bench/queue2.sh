#!/bin/bash
cd /work/wt-model
export PYTHONPATH=$PWD TF_CPP_MIN_LOG_LEVEL=2 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY="taskset -c 1 nice -n 5 /work/main/.venv/bin/python"
R=/work/shared/corpora
while kill -0 31416 2>/dev/null; do sleep 5; done
echo "G $(date)"
$PY -m benchmarks.heldout --manifest $R/ravdess/manifest.tsv --folds $R/ravdess/folds.tsv --fold 1 --out bench/heldout-base --cache bench/cache/ravdess-fold1-train.npz > bench/logs/heldout-base-f1.log 2>&1
echo "H $(date)"
$PY -m benchmarks.heldout --manifest $R/ravdess/manifest.tsv --folds $R/ravdess/folds.tsv --fold 1 --out bench/heldout-rel --cache bench/cache/ravdess-fold1-train.npz --kind melscal_rel_cnn --gain-db -30 20 --noise-copies 3 --noise-probability 0.75 > bench/logs/heldout-rel-f1.log 2>&1
echo "I $(date)"
$PY -m benchmarks.model_level --model bench/heldout-base/heldout-fold1.keras --model bench/heldout-rel/heldout-fold1.keras --manifest bench/heldout-base/heldout-fold1.tsv --json bench/logs/level-f1.json > bench/logs/level-f1.log 2>&1
echo "done $(date)"
