#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: GoogleTest units
# (ctest), the lit tests (IR, importer, engines against onnxruntime), the
# ONNX backend test suite against its committed expectations, the
# libFuzzer targets for a few seconds each, and the runtime built and tested
# alone with the compiler switched off.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/build.sh

echo "== unit tests (ctest)"
ctest --test-dir build --output-on-failure -j"$(nproc)"

echo "== lit tests"
python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv build/test/lit

echo "== ONNX backend test suite (against test/conformance/expectations.txt)"
python3 test/conformance/run_node_tests.py --bin build/bin --work build/conformance \
  --expectations test/conformance/expectations.txt

echo "== fuzzers (${AZC_FUZZ_SECONDS:-5} s each)"
AZC_FUZZ_SEED=${AZC_FUZZ_SEED:-1} ./scripts/fuzz.sh "${AZC_FUZZ_SECONDS:-5}"

echo "== runtime alone (AZC_BUILD_COMPILER=OFF)"
BUILD_DIR=build/runtime-only AZC_BUILD_COMPILER=OFF ./scripts/build.sh
ctest --test-dir build/runtime-only --output-on-failure -j"$(nproc)"

echo "all tests passed"
