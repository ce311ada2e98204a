#!/usr/bin/env bash
# Configures and builds azc into build/ (binaries in build/bin/).
#   BUILD_DIR=...            build folder (default: build)
#   AZC_BUILD_COMPILER=OFF   build the runtime alone
# clang-19 and lld are used when present: on MLIR-heavy files clang is
# 25-50% faster than g++ and uses less memory; ccache makes rebuilds cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
compiler_on=${AZC_BUILD_COMPILER:-ON}
args=(-G Ninja -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
      -DAZC_BUILD_COMPILER="$compiler_on")
if command -v clang++-19 >/dev/null; then
  args+=(-DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19)
  if command -v ld.lld-19 >/dev/null || [ -x /usr/lib/llvm-19/bin/ld.lld ]; then
    args+=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld)
  fi
fi
[ -f "$build_dir/CMakeCache.txt" ] || cmake "${args[@]}" >/dev/null
cmake --build "$build_dir" -- -j"$(nproc)"
