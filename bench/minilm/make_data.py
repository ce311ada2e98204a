#!/usr/bin/python3
"""Tokenized real text for the MiniLM study: verses of the King James Bible
(Debian's bible-kjv-text), split into a calibration set and a disjoint
held-out evaluation set.

  make_data.py --model-dir DIR --out-dir OUT [--calibration 64]
               [--evaluation 256] [--sequence 64] [--seed 0] [--text FILE]

The verses come from `bible -f 'Gen1:1-Rev22:21'` (apt-get install
bible-kjv bible-kjv-text), or from FILE holding the same output (one verse
a line, "Ge1:1 In the beginning ..."). A seeded permutation of all verses
gives the calibration verses first, then the evaluation verses, so the sets
never share a verse and a given seed always picks the same ones. Each verse
is tokenized with the model's own tokenizer (DIR, as unpacked by
fetch_minilm.sh), truncated and padded to --sequence tokens.

Writes OUT/calibration.npz and OUT/evaluation.npz, each with input_ids,
attention_mask and token_type_ids (int64, [count, sequence]), and the
verses' references and text (ref, text) for reading.
"""
import argparse
import hashlib
import os
import subprocess

import numpy as np
from transformers import AutoTokenizer


def read_verses(path):
    if path:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    else:
        lines = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True,
                               capture_output=True, text=True).stdout.splitlines()
    verses = []
    for line in lines:
        ref, _, text = line.strip().partition(" ")
        if text.strip():
            verses.append((ref, text.strip()))
    return verses


def tokenize(tokenizer, verses, sequence):
    encoded = tokenizer([text for _, text in verses], padding="max_length", truncation=True,
                        max_length=sequence, return_tensors="np")
    arrays = {name: encoded[name].astype(np.int64)
              for name in ("input_ids", "attention_mask", "token_type_ids")}
    arrays["ref"] = np.array([ref for ref, _ in verses])
    arrays["text"] = np.array([text for _, text in verses])
    return arrays


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--calibration", type=int, default=64)
    parser.add_argument("--evaluation", type=int, default=256)
    parser.add_argument("--sequence", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text", help="the output of `bible -f 'Gen1:1-Rev22:21'`, saved")
    args = parser.parse_args()

    verses = read_verses(args.text)
    if len(verses) < args.calibration + args.evaluation:
        raise SystemExit(f"only {len(verses)} verses")
    order = np.random.RandomState(args.seed).permutation(len(verses))
    picks = {"calibration": order[:args.calibration],
             "evaluation": order[args.calibration:args.calibration + args.evaluation]}
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, index in picks.items():
        arrays = tokenize(tokenizer, [verses[i] for i in index], args.sequence)
        lengths = arrays["attention_mask"].sum(1)
        whole = [len(ids) for ids in tokenizer([verses[i][1] for i in index])["input_ids"]]
        truncated = sum(n > args.sequence for n in whole)
        path = os.path.join(args.out_dir, name + ".npz")
        np.savez(path, **arrays)
        digest = hashlib.sha256(arrays["input_ids"].tobytes()).hexdigest()[:16]
        print(f"{path}: {len(index)} verses of {len(verses)}, tokens per verse "
              f"min {lengths.min()} mean {lengths.mean():.1f} max {lengths.max()}, "
              f"{truncated} truncated (longest {max(whole)}), "
              f"input_ids sha256 {digest}")


if __name__ == "__main__":
    main()
