#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer into build/fuzz and runs
# each for SECONDS (default 10), starting from a seed corpus of the test
# fixtures. A crash leaves its input in build/fuzz/ and fails the script.
# AZC_FUZZ_SEED fixes libFuzzer's random seed (the test script uses 1, so
# that a failing run can be repeated); unset, each run explores anew.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
seed_flag=()
if [ -n "${AZC_FUZZ_SEED:-}" ]; then
  seed_flag=(-seed="$AZC_FUZZ_SEED")
fi

if [ ! -f build/fuzz/CMakeCache.txt ]; then
  cmake -G Ninja -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address" \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address -fuse-ld=lld" \
    -DAZC_BUILD_FUZZERS=ON -DAZC_BUILD_TESTS=OFF >/dev/null
fi
cmake --build build/fuzz --target onnx_import_fuzzer engine_load_fuzzer \
  safetensors_fuzzer sample_source_fuzzer

corpus=build/fuzz/corpus
mkdir -p "$corpus/onnx" "$corpus/engine" "$corpus/safetensors" "$corpus/samples"
# Sample-file seeds: a format byte (0 .npz, 1 .safetensors, 2 .jsonl), then
# a small valid file of that form.
python3 - "$corpus/samples" <<'PYTHON'
import io, json, os, sys
import numpy as np
out = sys.argv[1]
x = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
ids = np.arange(6, dtype=np.int64).reshape(3, 1, 2)
buffer = io.BytesIO()
np.savez(buffer, x=x, input_ids=ids)
open(os.path.join(out, "npz"), "wb").write(b"\0" + buffer.getvalue())
data = x.tobytes() + ids.tobytes()
header = json.dumps({
    "x": {"dtype": "F32", "shape": list(x.shape), "data_offsets": [0, x.nbytes]},
    "input_ids": {"dtype": "I64", "shape": list(ids.shape),
                  "data_offsets": [x.nbytes, len(data)]}}).encode()
open(os.path.join(out, "safetensors"), "wb").write(
    b"\1" + len(header).to_bytes(8, "little") + header + data)
open(os.path.join(out, "jsonl"), "wb").write(
    b"\2" + b"[1, 2, 3]\n{\"input_ids\": [4, 5, 6]}\n")
PYTHON
python3 test/fixtures/make_onnx_fixtures.py "$corpus/onnx" >/dev/null
python3 test/fixtures/make_control_flow_fixtures.py "$corpus/onnx" >/dev/null
rm -f "$corpus/onnx/"*.bin # external data files are not models
# Safetensors seeds: the error-test checkpoints' files, good and broken.
python3 test/fixtures/make_bad_checkpoints.py "$corpus/checkpoints"
for file in "$corpus"/checkpoints/*/model.safetensors; do
  cp "$file" "$corpus/safetensors/$(basename "$(dirname "$file")").safetensors"
done
# Engine seeds: real engines' metadata, in the fuzzer's input form (the
# constants size as 8 bytes, then the metadata section).
if [ -x build/bin/azc ]; then
  for model in mlp conv_relu opset11_ops layernorm; do
    build/bin/azc build "$corpus/onnx/$model.onnx" -o "$corpus/$model.azeng" \
      --max_batch_size 2 >/dev/null
  done
  # A dynamic engine with a dim that is a sum of symbols.
  build/bin/azc build "$corpus/onnx/derived_dims.onnx" -o "$corpus/derived.azeng" \
    --max_batch_size 2 --shape-range seq=1..4 --shape-range past=0..3 >/dev/null
  # A decoder with a paged KV cache (its KvCacheLayout and token budget).
  build/bin/azc build "$corpus/checkpoints/good" -o "$corpus/paged.azeng" \
    --max_batch_size 2 --max_input_len 4 --max_output_len 4 --paged_kv_cache \
    --kv_cache_dtype int8 --max_num_tokens 6 >/dev/null
  python3 - "$corpus" <<'PYTHON'
import struct, sys, glob, os
corpus = sys.argv[1]
for path in glob.glob(os.path.join(corpus, "*.azeng")):
    data = open(path, "rb").read()
    _, _, _, meta_off, meta_size, _, const_size = struct.unpack_from("<8sIIQQQQ", data)
    seed = struct.pack("<Q", const_size) + data[meta_off:meta_off + meta_size]
    open(os.path.join(corpus, "engine", os.path.basename(path) + ".seed"), "wb").write(seed)
    os.remove(path)
PYTHON
fi

cd build/fuzz
run() { # NAME ARGS...: runs a fuzzer, shows its report if it finds anything
  local name=$1
  shift
  if ! "$@" >"$name.log" 2>&1; then
    tail -60 "$name.log"
    echo "fuzz.sh: $name found a problem; the input is in build/fuzz/ (crash-*, timeout-*, oom-*)" >&2
    exit 1
  fi
  grep -E "^Done|stat::number_of_executed_units" "$name.log" | head -1
}
# MLIR comes as an uninstrumented shared library, while the instrumented
# code here inlines LLVM's bump allocator, which poisons the rest of each
# new slab: the library's later allocations from that slab then look like
# writes to poisoned memory. Manual poisoning is switched off; ASan's own
# checks stay.
ASAN_OPTIONS=detect_leaks=1:allow_user_poisoning=0 run onnx_import_fuzzer ./bin/onnx_import_fuzzer \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=30 \
  -print_final_stats=1 "${seed_flag[@]}" corpus/onnx
# Huge allocations must fail with a status, as they do outside ASan.
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 run engine_load_fuzzer \
  ./bin/engine_load_fuzzer -max_total_time="$seconds" -max_len=16384 \
  -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 "${seed_flag[@]}" corpus/engine
ASAN_OPTIONS=detect_leaks=1 run safetensors_fuzzer ./bin/safetensors_fuzzer \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=30 \
  -print_final_stats=1 "${seed_flag[@]}" corpus/safetensors
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 run sample_source_fuzzer \
  ./bin/sample_source_fuzzer -max_total_time="$seconds" -max_len=65536 \
  -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 "${seed_flag[@]}" corpus/samples
