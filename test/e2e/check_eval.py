#!/usr/bin/env python3
"""Checks `azc eval` against the same measures computed here with numpy.

  check_eval.py ENGINE REFERENCE --data DIR --bin DIR --work DIR

Runs both engines with azr-run on every sample of DIR (subfolders of
INPUT.npy files), computes per float output the cosine similarity per
sample (mean, min), the largest absolute error, the relative RMS error,
the KL divergence of softmax(reference) from softmax(engine) over the last
dim for outputs named like logits, and with input_ids the next-token
perplexity of both; then runs `azc eval --json` and requires every figure
to agree to 1e-6 relative (both sum in double; only the summation order
differs). Exits 1 on any disagreement.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np


def run_engine(bin_dir, engine, sample, out):
    os.makedirs(out, exist_ok=True)
    inputs = []
    for f in sorted(os.listdir(sample)):
        if f.endswith(".npy"):
            inputs += ["--input", f"{f[:-4]}={os.path.join(sample, f)}"]
    subprocess.run([os.path.join(bin_dir, "azr-run"), engine, "--output-dir", out] + inputs,
                   check=True, stdout=subprocess.DEVNULL)
    return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def next_token_loss(ids, logits):
    logp = log_softmax(logits)[:, :-1, :]
    nxt = ids[:, 1:]
    return -np.take_along_axis(logp, nxt[..., None], axis=-1).sum(), nxt.size


def main():
    p = argparse.ArgumentParser()
    p.add_argument("engine")
    p.add_argument("reference")
    p.add_argument("--data", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    samples = sorted(os.path.join(a.data, d) for d in os.listdir(a.data)
                     if os.path.isdir(os.path.join(a.data, d)))
    stats = {}
    loss = {"engine": 0.0, "reference": 0.0}
    tokens = 0
    for n, sample in enumerate(samples):
        got = run_engine(a.bin, a.engine, sample, os.path.join(a.work, f"e{n}"))
        want = run_engine(a.bin, a.reference, sample, os.path.join(a.work, f"r{n}"))
        for name in sorted(got):
            g, w = got[name].astype(np.float64), want[name].astype(np.float64)
            s = stats.setdefault(name, {"cos": [], "max": 0.0, "err2": 0.0, "ref2": 0.0, "kl": []})
            s["cos"].append(float(g.ravel() @ w.ravel() / np.sqrt((g * g).sum() * (w * w).sum())))
            s["max"] = max(s["max"], float(np.abs(g - w).max()))
            s["err2"] += float(((g - w) ** 2).sum())
            s["ref2"] += float((w * w).sum())
            if "logits" in name.lower():
                lp, lq = log_softmax(w), log_softmax(g)
                s["kl"] += list((np.exp(lp) * (lp - lq)).sum(axis=-1).ravel())
                ids_path = os.path.join(sample, "input_ids.npy")
                if os.path.exists(ids_path):
                    ids = np.load(ids_path)
                    le, count = next_token_loss(ids, got[name])
                    lr, _ = next_token_loss(ids, want[name])
                    loss["engine"] += le
                    loss["reference"] += lr
                    tokens += count
    report_path = os.path.join(a.work, "eval.json")
    subprocess.run([os.path.join(a.bin, "azc"), "eval", a.engine, "--reference", a.reference,
                    "--data", a.data, "--json", report_path], check=True)
    with open(report_path) as f:
        report = json.load(f)
    expected = {}
    for name, s in stats.items():
        expected[name] = {"cosine_mean": float(np.mean(s["cos"])), "cosine_min": float(np.min(s["cos"])),
                          "max_abs_error": s["max"],
                          "relative_rms_error": float(np.sqrt(s["err2"] / s["ref2"]))}
        if s["kl"]:
            expected[name]["kl_divergence"] = float(np.mean(s["kl"]))
    failed = False

    def check(what, got, want):
        nonlocal failed
        ok = abs(got - want) <= 1e-6 * max(abs(want), 1e-12) + 1e-12
        print(f"{what}: azc eval {got:.9g}, numpy {want:.9g} {'ok' if ok else 'MISMATCH'}")
        failed |= not ok

    by_name = {o["name"]: o for o in report["outputs"]}
    for name, figures in expected.items():
        for key, want in figures.items():
            check(f"{name} {key}", by_name[name][key], want)
    if tokens:
        check("perplexity", report["perplexity"], float(np.exp(loss["engine"] / tokens)))
        check("reference perplexity", report["reference_perplexity"],
              float(np.exp(loss["reference"] / tokens)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
