#!/bin/sh
# Builds all-MiniLM-L6-v2 with each of azc's quantization modes and scores
# every engine against the fp32 ONNX model on the evaluation verses, as
# ort_baseline.py scores onnxruntime's quantizers (run_baseline.sh first).
#   bench/minilm/azc_study.sh [WORK] [BIN]
set -eu
work=${1:-build/minilm}
bin=${2:-build/bin}
here=$(dirname "$0")
python=${ORT_PYTHON:-python3}
# GPTQ calibrates on the 64 calibration verses, one folder of inputs each.
"$python" "$here/compare.py" inputs --data "$work/data/calibration.npz" \
  --out "$work/calib_samples" >/dev/null
for mode in none int4 int4-sym int8_wo w4a8 int4_gptq int4_gptq-sym int4_awq; do
  case $mode in
    none) flags="" ;;
    int4-sym) flags="--quantization int4 --symmetric" ;;
    int4_gptq) flags="--quantization int4_gptq --calib-data $work/calib_samples" ;;
    int4_gptq-sym) flags="--quantization int4_gptq --symmetric --calib-data $work/calib_samples" ;;
    int4_awq) flags="--quantization int4_awq --calib-data $work/calib_samples" ;;
    *) flags="--quantization $mode" ;;
  esac
  engine="$work/azc-$mode.azeng"
  # shellcheck disable=SC2086
  "$bin/azc" build "$work/minilm.onnx" -o "$engine" --dims batch=1 --dims sequence=64 $flags >/dev/null 2>&1
  echo "== azc $mode ($(du -k "$engine" | cut -f1) KiB)"
  "$python" "$here/compare.py" score --data "$work/data/evaluation.npz" \
    --reference "$work/minilm.onnx" --candidate "$engine" --bin "$bin" \
    --iterations 5 --json "$work/azc-$mode.json"
done
