#!/usr/bin/env bash
# The main job on the bundled example: a small ResNet-style CNN, exported
# from its PyTorch definition (test/fixtures/export_torch_models.py, fixed
# seed), imported into azg IR with its size and FLOPs, then optimized for
# batch 1 to show what fuses.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/build.sh >/dev/null

mkdir -p build/examples
/usr/bin/python3 test/fixtures/export_torch_models.py build/examples >/dev/null
model=build/examples/resnet_cnn.onnx

echo "== azc import $model"
build/bin/azc import "$model"
echo
echo "== azc import --optimize --dims batch=1 $model"
build/bin/azc import --optimize --dims batch=1 "$model"
