#!/usr/bin/env bash
# RN50 CLIP training throughput on a GPU: cliptail's train_run vs open_clip_train, batch 256, AMP.
#
#   bash benchmarks/gpu_check.sh                          # on a machine with an NVIDIA GPU
#   GPU_CHECK_CPU_SMOKE=1 bash benchmarks/gpu_check.sh    # CPU check of the same code (batch 4)
#
# Runs benchmarks/gpu_throughput.py (see its docstring): cliptail on random 224x224 data in its
# npy store, the same with batches in memory, and open_clip_train --dataset-type synthetic
# --precision amp, same model, batch, epochs and data-loader workers; prints images/s of each and
# the ratio cliptail / open_clip_train (goal >= 0.9). About 2-4 minutes on one GPU; stopped after
# GPU_CHECK_TIMEOUT seconds (default 540). Extra arguments go to gpu_throughput.py.
# Python: $PYTHON, else .venv/bin/python when it exists, else python3 (needs torch, open_clip_torch
# with open_clip_train, pandas, pyarrow).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${PYTHON:-}" ]]; then
    py="$PYTHON"
elif [[ -x .venv/bin/python ]]; then
    py=.venv/bin/python
else
    py=python3
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

if [[ "${GPU_CHECK_CPU_SMOKE:-0}" == 1 ]]; then
    echo "gpu_check: CPU smoke check (GPU_CHECK_CPU_SMOKE=1): batch 4, 2 steps, no GPU numbers"
    exec timeout "${GPU_CHECK_TIMEOUT:-540}" "$py" benchmarks/gpu_throughput.py --smoke "$@"
fi

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: no NVIDIA GPU here (nvidia-smi missing or finds no device); nothing measured." >&2
    echo "gpu_check: run it on a GPU machine, or GPU_CHECK_CPU_SMOKE=1 for the CPU check." >&2
    exit 2
fi
if ! "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: nvidia-smi sees a GPU but torch.cuda.is_available() is False ($py); nothing measured." >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
exec timeout "${GPU_CHECK_TIMEOUT:-540}" "$py" benchmarks/gpu_throughput.py "$@"
