#!/bin/sh
# Builds all-MiniLM-L6-v2 with each of azc's quantization modes and scores
# every engine against the fp32 ONNX model on the evaluation verses, as
# ort_baseline.py scores onnxruntime's quantizers (run_baseline.sh first).
#   bench/minilm/azc_study.sh [WORK] [BIN]
# MODES="int8 nf4" picks some of the variants below.
set -eu
work=${1:-build/minilm}
bin=${2:-build/bin}
here=$(dirname "$0")
python=${ORT_PYTHON:-python3}
# GPTQ calibrates on the 64 calibration verses, one folder of inputs each.
"$python" "$here/compare.py" inputs --data "$work/data/calibration.npz" \
  --out "$work/calib_samples" >/dev/null
all="none fp16 bf16 int4 int4-sym int8_wo w4a8 int4_gptq int4_gptq-sym int4_awq nf4
  int8 int8-outliers6 int8-outliers3 int8-percentile:99.99 int8-mse int8-entropy int8_sq int8_sq-a0.65 int8_sq-a0.8 int8_sq-a0.9 fp8"
for mode in ${MODES:-$all}; do
  calib="--calib-data $work/calib_samples"
  case $mode in
    none) flags="" ;;
    int4-sym) flags="--quantization int4 --symmetric" ;;
    int4_gptq) flags="--quantization int4_gptq --calib-data $work/calib_samples" ;;
    int4_gptq-sym) flags="--quantization int4_gptq --symmetric --calib-data $work/calib_samples" ;;
    int4_awq) flags="--quantization int4_awq $calib" ;;
    int8) flags="--quantization int8 $calib" ;;
    int8-outliers*) flags="--quantization int8 --int8-outlier-threshold ${mode#int8-outliers} $calib" ;;
    int8-*) flags="--quantization int8 --calib-method ${mode#int8-} $calib" ;;
    int8_sq) flags="--quantization int8_sq $calib" ;;
    int8_sq-a*) flags="--quantization int8_sq --smoothquant-alpha ${mode#int8_sq-a} $calib" ;;
    fp8) flags="--quantization fp8 $calib" ;;
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
