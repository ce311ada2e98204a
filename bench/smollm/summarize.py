#!/usr/bin/env python3
"""Print study.sh's results as a Markdown table.

    summarize.py WORKDIR NAME...

Reads WORKDIR/NAME.eval.json (azc eval --json against the f32 engine),
WORKDIR/NAME.azeng (its size), WORKDIR/NAME.build_seconds and, if present,
WORKDIR/transformers.json.
"""
import json
import os
import sys


def main():
    work, names = sys.argv[1], sys.argv[2:]
    rows = []
    ref_ppl = None
    for name in names:
        base = os.path.join(work, name)
        secs = None
        if os.path.exists(base + ".build_seconds"):
            secs = int(open(base + ".build_seconds").read().strip())
        if os.path.exists(base + ".skipped") or not os.path.exists(base + ".eval.json"):
            rows.append(f"| {name} | skipped (build over the time limit or failed"
                        f"{f', {secs} s' if secs is not None else ''}) | | | | | | |")
            continue
        with open(base + ".eval.json") as f:
            ev = json.load(f)
        logits = next(o for o in ev["outputs"] if o["name"] == "logits")
        ppl = ev["perplexity"]
        ref_ppl = ev["reference_perplexity"]
        size = os.path.getsize(base + ".azeng") / 2**20
        rows.append(f"| {name} | {ppl:.4f} | {100 * (ppl / ref_ppl - 1):+.2f}% "
                    f"| {logits['kl_divergence']:.4f} | {logits['cosine_mean']:.6f} "
                    f"| {logits['cosine_min']:.6f} | {size:.1f} "
                    f"| {secs if secs is not None else '-'} |")
    print("| engine | perplexity | vs f32 | KL (logits) | cos mean | cos min "
          "| size MiB | build s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    tpath = os.path.join(work, "transformers.json")
    if os.path.exists(tpath):
        with open(tpath) as f:
            tr = json.load(f)
        if "perplexity" in tr:
            print(f"\ntransformers (f32, PyTorch) perplexity on the same windows: "
                  f"{tr['perplexity']:.4f}" +
                  (f" (azc f32: {ref_ppl:.4f})" if ref_ppl is not None else ""))
        chk = tr.get("engine_check")
        if chk:
            print(f"azc f32 vs transformers, sample {chk['sample']}: logits max |diff| "
                  f"{chk['logits_max_abs_diff']:.2e} (max |logit| "
                  f"{chk['logits_max_abs']:.1f}), present KV max |diff| "
                  f"{chk['present_kv_max_abs_diff']:.2e}, argmax agreement "
                  f"{chk['argmax_agreement']:.4f}")


if __name__ == "__main__":
    main()
