#!/usr/bin/env python3
"""Scores a sentence encoder's outputs against a reference's on the same
tokenized inputs: the accuracy measures of the MiniLM quantization study.

As a library: a runner is any callable that takes a feed dict
({"input_ids", "attention_mask", "token_type_ids"}: int64 [batch, seq])
and returns last_hidden_state ([batch, seq, hidden], float). `evaluate`
runs a reference and a candidate (runners, or outputs already computed)
over the batches of an .npz from make_data.py and returns `score`'s
metrics plus the candidate's mean latency per batch:

  cos_mean, cos_min   cosine similarity of the sentence embeddings (the
                      mask-aware mean of last_hidden_state over the real
                      tokens, the model's standard pooling; the final L2
                      normalization does not change a cosine)
  max_abs             max |candidate - reference| of last_hidden_state over
                      the real (unmasked) tokens
  max_abs_all         the same over every position, padding included
  mean_abs            mean |difference| over the real tokens
  top1                share of sentences whose candidate embedding is
                      nearer (by cosine) to its own reference embedding
                      than to any other sentence's (a retrieval check)

Runners provided: OrtRunner (an .onnx with onnxruntime), AzrRunner (an
engine with azr-run, one process per batch; azr-run's own median latency
is reported, not the process's), and saved outputs (a stacked .npy of
[count, seq, hidden], or a folder with one file per batch: NNNNN.npy or
NNNNN/last_hidden_state.npy, as `azr-run --output-dir DIR/NNNNN` writes).

Command line:
  compare.py score --data evaluation.npz --reference REF --candidate CAND
                   [--batch 1] [--threads 1] [--bin build/bin] [--json OUT]
  compare.py inputs --data evaluation.npz --out DIR [--batch 1]
REF and CAND: an .onnx, an engine (anything else that is a file, run with
BIN/azr-run), a stacked .npy, or a folder of outputs per batch. `inputs`
writes DIR/NNNNN/{input_ids,attention_mask,token_type_ids}.npy per batch,
for any command-line runner to read.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def load_inputs(path):
    """The three int64 input arrays [count, seq] of an .npz (make_data.py)."""
    with np.load(path) as data:
        return {name: data[name].astype(np.int64) for name in INPUTS}


def batches(inputs, batch=1):
    count = inputs["input_ids"].shape[0]
    return [{name: np.ascontiguousarray(array[i:i + batch]) for name, array in inputs.items()}
            for i in range(0, count, batch)]


def mean_pool(hidden, mask):
    """Mask-aware mean over the sequence: [n, seq, d], [n, seq] -> [n, d]."""
    mask = mask.astype(np.float64)[:, :, None]
    return (hidden.astype(np.float64) * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)


def cosine(a, b):
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(norms, 1e-30)


def score(reference, candidate, mask):
    """Metrics of candidate against reference, both last_hidden_state
    [n, seq, d] (or lists of per-batch arrays), with mask [n, seq]."""
    reference = np.concatenate(reference) if isinstance(reference, list) else reference
    candidate = np.concatenate(candidate) if isinstance(candidate, list) else candidate
    if reference.shape != candidate.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, candidate {candidate.shape}")
    if not np.all(np.isfinite(candidate)):
        raise ValueError("candidate has non-finite values")
    ref_emb, cand_emb = mean_pool(reference, mask), mean_pool(candidate, mask)
    cos = cosine(ref_emb, cand_emb)
    unit = lambda e: e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-30)
    nearest = (unit(cand_emb) @ unit(ref_emb).T).argmax(1)
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    real = mask.astype(bool)
    return {
        "count": int(reference.shape[0]),
        "cos_mean": float(cos.mean()),
        "cos_min": float(cos.min()),
        "cos_argmin": int(cos.argmin()),
        "max_abs": float(diff[real].max()),
        "max_abs_all": float(diff.max()),
        "mean_abs": float(diff[real].mean()),
        "top1": float((nearest == np.arange(len(nearest))).mean()),
        "reference_max_abs": float(np.abs(reference[real]).max()),
    }


def run(runner, feeds, warmup=1):
    """Outputs of runner on every batch, and its latency per batch (s).
    A runner that sets `last_latency_s` after a call reports its own time."""
    for feed in feeds[:warmup]:
        runner(feed)
    outputs, latencies = [], []
    for feed in feeds:
        start = time.perf_counter()
        out = runner(feed)
        elapsed = time.perf_counter() - start
        outputs.append(np.asarray(out, dtype=np.float32))
        latencies.append(getattr(runner, "last_latency_s", None) or elapsed)
    return outputs, latencies


def evaluate(reference, candidate, inputs, batch=1, warmup=1):
    """Scores candidate against reference on inputs (a dict of [count, seq]
    arrays, or an .npz path). Each of reference and candidate is a runner,
    or its outputs (a list of per-batch arrays, or one stacked array).
    Returns score's metrics and, for a runner candidate, latency_ms_mean
    and latency_ms_median per batch. The reference's outputs are returned
    too, under "reference_outputs", for reuse with other candidates."""
    if isinstance(inputs, str):
        inputs = load_inputs(inputs)
    feeds = batches(inputs, batch)
    results = {}
    if callable(reference):
        reference, _ = run(reference, feeds, warmup)
    if callable(candidate):
        candidate, latencies = run(candidate, feeds, warmup)
        results["latency_ms_mean"] = 1e3 * float(np.mean(latencies))
        results["latency_ms_median"] = 1e3 * float(np.median(latencies))
    results.update(score(reference, candidate, inputs["attention_mask"]))
    results["reference_outputs"] = reference
    return results


class OrtRunner:
    """An .onnx run with onnxruntime on the CPU."""

    def __init__(self, path, threads=1):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]

    def __call__(self, feed):
        return self.session.run(["last_hidden_state"],
                                {name: feed[name] for name in self.names})[0]


class AzrRunner:
    """An engine run with azr-run, one process per call: the feeds are
    written as .npy, last_hidden_state is read back from --output-dir.
    last_latency_s is azr-run's median over --iterations runs."""

    def __init__(self, engine, bin_dir="build/bin", threads=1, iterations=1, work=None):
        self.engine, self.threads, self.iterations = engine, threads, iterations
        self.exe = os.path.join(bin_dir, "azr-run")
        self.work = work or tempfile.mkdtemp(prefix="azr-compare-")
        self.last_latency_s = None

    def __call__(self, feed):
        args = [self.exe, self.engine, "--output-dir", self.work, "--threads", str(self.threads),
                "--iterations", str(self.iterations)]
        for name, array in feed.items():
            path = os.path.join(self.work, name + ".npy")
            np.save(path, array)
            args += ["--input", f"{name}={path}"]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        found = re.search(r"median ([0-9.]+) ms", out)
        self.last_latency_s = float(found.group(1)) / 1e3 if found else None
        return np.load(os.path.join(self.work, "last_hidden_state.npy"))


def load_outputs(path, batches_count):
    """Saved outputs: a stacked .npy, or a folder of per-batch files."""
    if os.path.isdir(path):
        outputs = []
        for i in range(batches_count):
            for name in (f"{i:05d}.npy", os.path.join(f"{i:05d}", "last_hidden_state.npy")):
                if os.path.exists(os.path.join(path, name)):
                    outputs.append(np.load(os.path.join(path, name)))
                    break
            else:
                raise FileNotFoundError(f"{path}: no output for batch {i}")
        return outputs
    return np.load(path)


def make_runner(path, args, batches_count):
    if os.path.isdir(path) or path.endswith(".npy"):
        return load_outputs(path, batches_count)
    if path.endswith(".onnx"):
        return OrtRunner(path, args.threads)
    return AzrRunner(path, args.bin, args.threads, args.iterations)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("score")
    p.add_argument("--data", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--candidate", required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iterations", type=int, default=1, help="azr-run iterations per batch")
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--json")
    p = sub.add_parser("inputs")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()

    inputs = load_inputs(args.data)
    feeds = batches(inputs, args.batch)
    if args.command == "inputs":
        for i, feed in enumerate(feeds):
            folder = os.path.join(args.out, f"{i:05d}")
            os.makedirs(folder, exist_ok=True)
            for name, array in feed.items():
                np.save(os.path.join(folder, name + ".npy"), array)
        print(f"{args.out}: {len(feeds)} batches of {args.batch}")
        return 0

    reference = make_runner(args.reference, args, len(feeds))
    candidate = make_runner(args.candidate, args, len(feeds))
    results = evaluate(reference, candidate, inputs, args.batch)
    del results["reference_outputs"]
    for key, value in results.items():
        print(f"{key:>18}: {value:.6g}" if isinstance(value, float) else f"{key:>18}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
