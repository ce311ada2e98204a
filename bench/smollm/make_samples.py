#!/usr/bin/env python3
"""Write fixed-length token windows of King James Bible text as sample
folders for `azc eval` and `azc build --calib-data`.

    make_samples.py MODEL_DIR OUTDIR [--book Genesis] [--windows 32] [--length 128]

MODEL_DIR is the checkpoint folder (its tokenizer.json and config.json are
read). The text comes from Debian's bible-kjv (`bible -f`). The book is
tokenized as a whole, one verse per line with the verse references
removed, and cut into consecutive non-overlapping windows of LENGTH tokens
from its start, so the output is deterministic.

Each window becomes OUTDIR/NNN/ with
  input_ids.npy, position_ids.npy  int64 [1, LENGTH]
  past_key_L.npy, past_value_L.npy  float32 [1, kv_heads, 0, head_dim]
for every layer L: the prefill form of the engine's KV-cache interface.
"""
import argparse
import json
import os
import re
import shutil
import subprocess

import numpy as np
from tokenizers import Tokenizer

# bible-kjv's book abbreviations for the spans used here.
BOOKS = {
    "Genesis": "Gen1:1-Gen50:26",
    "Exodus": "Exo1:1-Exo40:38",
    "Matthew": "Mat1:1-Mat28:20",
    "John": "John1:1-John21:25",
    "Romans": "Rom1:1-Rom16:27",
}

REF = re.compile(r"^(?:[1-3]?[A-Za-z]+)\d+:\d+ ")


def book_text(book):
    spec = BOOKS.get(book, book)
    out = subprocess.run(["bible", "-f", spec], check=True, capture_output=True,
                         text=True, env={**os.environ, "COLUMNS": "100000"}).stdout
    verses = []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        if REF.match(line):
            verses.append(REF.sub("", line, count=1))
        elif verses:
            verses[-1] += " " + line  # a wrapped verse
    if not verses:
        raise SystemExit(f"no verses for {spec!r}")
    return "\n".join(verses) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("outdir")
    ap.add_argument("--book", default="Genesis")
    ap.add_argument("--windows", type=int, default=32)
    ap.add_argument("--length", type=int, default=128)
    args = ap.parse_args()

    with open(os.path.join(args.model_dir, "config.json")) as f:
        cfg = json.load(f)
    layers = cfg["num_hidden_layers"]
    kv_heads = cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])

    tok = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    text = book_text(args.book)
    ids = tok.encode(text, add_special_tokens=False).ids
    need = args.windows * args.length
    if len(ids) < need:
        raise SystemExit(f"{args.book}: {len(ids)} tokens, fewer than {need}")

    if os.path.isdir(args.outdir):
        shutil.rmtree(args.outdir)
    empty = np.zeros((1, kv_heads, 0, head_dim), dtype=np.float32)
    for w in range(args.windows):
        d = os.path.join(args.outdir, f"{w:03d}")
        os.makedirs(d)
        window = np.asarray(ids[w * args.length:(w + 1) * args.length], dtype=np.int64)
        np.save(os.path.join(d, "input_ids.npy"), window.reshape(1, -1))
        np.save(os.path.join(d, "position_ids.npy"),
                np.arange(window.size, dtype=np.int64).reshape(1, -1))
        for layer in range(layers):
            np.save(os.path.join(d, f"past_key_{layer}.npy"), empty)
            np.save(os.path.join(d, f"past_value_{layer}.npy"), empty)
    print(f"{args.book}: {len(text.splitlines())} verses, {len(ids)} tokens; "
          f"wrote {args.windows} windows of {args.length} to {args.outdir}")


if __name__ == "__main__":
    main()
