#!/usr/bin/env python3
"""Perplexity of SmolLM2-135M on real text with each KV-cache layout and
storage type: the copied cache (past_*/present_*), and paged caches in f32,
fp16, bf16, int8 and fp8.

    kv_cache_study.py MODEL_DIR WORK [--bin build/bin] [--book John1:1-John5:47]
                      [--window 128] [--stride 64]

MODEL_DIR is the checkpoint folder from gguf_to_safetensors.py (study.sh
step 1). The text is the book span from Debian's bible-kjv, one verse per
line (make_samples.py's reading). Each engine is scored with
`azc eval ENGINE --perplexity TEXT --window W --stride S --reference
copied.azeng`: each window is one prefill, and a paged engine's prefill
attends to keys and values read back from its cache, so the storage type's
rounding is in every score.
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_samples import book_text  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("work")
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--book", default="John1:1-John5:47")
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--stride", type=int, default=64)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    text = os.path.join(args.work, "text.txt")
    with open(text, "w", encoding="utf-8") as f:
        f.write(book_text(args.book))
    azc = os.path.join(args.bin, "azc")
    common = ["--max_batch_size", "1", "--max_input_len", str(args.window)]
    copied = os.path.join(args.work, "copied.azeng")
    subprocess.run([azc, "build", args.model, "-o", copied, *common,
                    "--shape-range", f"past=0..{args.window}"],
                   check=True, stdout=subprocess.DEVNULL)
    rows = [("copied", copied)]
    for dtype in ["f32", "fp16", "bf16", "int8", "fp8"]:
        engine = os.path.join(args.work, f"paged-{dtype}.azeng")
        subprocess.run([azc, "build", args.model, "-o", engine, *common,
                        "--max_output_len", "1", "--paged_kv_cache",
                        "--kv_cache_dtype", dtype],
                       check=True, stdout=subprocess.DEVNULL)
        rows.append((f"paged {dtype}", engine))
    print(f"SmolLM2-135M on {args.book}: windows of {args.window}, stride {args.stride}")
    print(f"{'KV cache':<12} {'perplexity':>11} {'vs copied':>10}")
    for name, engine in rows:
        out = subprocess.run([azc, "eval", engine, "--perplexity", text,
                              "--window", str(args.window), "--stride", str(args.stride),
                              "--reference", copied],
                             check=True, capture_output=True, text=True).stdout
        m = re.search(r"perplexity over (\d+) next tokens: ([0-9.]+) \(reference "
                      r"([0-9.]+), ([+-][0-9.]+)%\)", out)
        print(f"{name:<12} {float(m.group(2)):11.4f} {m.group(4):>9}%  "
              f"({m.group(1)} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
