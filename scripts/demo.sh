#!/usr/bin/env bash
# The main job on the bundled example: a small ResNet-style CNN, exported
# from its PyTorch definition (test/fixtures/export_torch_models.py, fixed
# seed), built into an engine for batch 1, described by `azc inspect`, and
# run by `azr-run` on a random image.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/build.sh >/dev/null

out=build/examples
mkdir -p "$out"
/usr/bin/python3 test/fixtures/export_torch_models.py "$out" >/dev/null
python3 -c "import numpy as np; np.save('$out/image.npy', np.random.default_rng(0).standard_normal((1, 3, 16, 16), dtype=np.float32))"

echo "== azc build $out/resnet_cnn.onnx --max_batch_size 1"
build/bin/azc build "$out/resnet_cnn.onnx" -o "$out/resnet_cnn.azeng" --max_batch_size 1
echo
echo "== azc inspect $out/resnet_cnn.azeng"
build/bin/azc inspect "$out/resnet_cnn.azeng"
echo
echo "== azr-run $out/resnet_cnn.azeng --input image=$out/image.npy"
build/bin/azr-run "$out/resnet_cnn.azeng" --input "image=$out/image.npy" \
  --output-dir "$out" --iterations 20
python3 -c "import numpy as np; print('logits:', np.round(np.load('$out/logits.npy'), 4))"
