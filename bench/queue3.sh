#!/bin/bash
cd /work/wt-model
export PYTHONPATH=$PWD TF_CPP_MIN_LOG_LEVEL=2 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY="taskset -c 1 nice -n 5 /work/main/.venv/bin/python"
R=/work/shared/corpora
while kill -0 $(cat bench/logs/queue2.pid) 2>/dev/null; do sleep 5; done
echo "J $(date)"
$PY -m benchmarks.corpora --corpus $R/nemo --corpus $R/ravdess --kind melscal_cnn --epochs 30 --members 1 --experiments within loco --json bench/logs/corpora-melscal.json > bench/logs/corpora-melscal.log 2>&1
echo "K $(date)"
$PY -m benchmarks.corpora --corpus $R/nemo --kind melscal_rel_cnn --gain-db -30 20 --noise-copies 3 --noise-probability 0.75 --noise-dir $R/noise --epochs 80 --members 1 --experiments within --json bench/logs/corpora-nemo80.json > bench/logs/corpora-nemo80.log 2>&1
echo "done $(date)"
