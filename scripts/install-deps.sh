#!/usr/bin/env bash
# Installs everything azc needs to build and test, from Debian and PyPI.
# Idempotent: packages already present are skipped, so a second run is cheap.
#   --runtime-only  only what the runtime needs (no LLVM/MLIR/protobuf)
#   --no-python     skip the pip packages used for reference outputs
# Debian's python3-torch exports the real PyTorch models the tests import;
# the PyPI torch wheel is avoided (gigabytes of CUDA libraries).
set -euo pipefail

runtime_only=0
python=1
for arg in "$@"; do
  case "$arg" in
    --runtime-only) runtime_only=1 ;;
    --no-python) python=0 ;;
    *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake ninja-build git ccache libgtest-dev libgmock-dev
          libflatbuffers-dev flatbuffers-compiler libicu-dev nlohmann-json3-dev)
if [ "$runtime_only" = 0 ]; then
  packages+=(llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools clang-19 lld-19
             libclang-rt-19-dev
             libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
             libcli11-dev
             python3-torch libopenblas0-pthread)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$python" = 1 ]; then
  py=${PYTHON:-python3}
  # Pinned: the conformance suite includes the onnx package's own node tests
  # and its expectations name that version; onnxruntime gives the references.
  onnx_version=1.23.2 ort_version=1.32.0
  if ! "$py" -c "import onnx, onnxruntime, numpy, sys; sys.exit(
      (onnx.__version__, onnxruntime.__version__) != ('$onnx_version', '$ort_version'))" \
      2>/dev/null; then
    echo "install-deps: installing onnx, onnxruntime, numpy (reference outputs only)"
    "$py" -m pip install -q "onnx==$onnx_version" "onnxruntime==$ort_version" numpy
  fi
  "$py" -c 'import lit' 2>/dev/null || "$py" -m pip install -q lit
  # PyTorch transformers (pure Python) next to Debian's torch: the reference
  # the checkpoint tests compare against. 4.44 is the last release that runs
  # on Debian's torch 1.13.
  if [ "$runtime_only" = 0 ] &&
     ! /usr/bin/python3 -c 'import transformers' 2>/dev/null; then
    echo "install-deps: installing transformers for Debian's python3 (reference only)"
    /usr/bin/python3 -m pip install -q --break-system-packages "transformers==4.44.2"
  fi
fi
