#!/usr/bin/env python3
"""Side-by-side benchmarks: azc engines (azr-run) against onnxruntime on the
same models, inputs and thread count, in one run, printed as a table.

  bench/run.py [--bin build/bin] [--threads 2] [--iterations 20] [--work DIR]

For each case: median latency of azc and of onnxruntime and their ratio
(>1 means azc is faster), the GB/s of weights streamed (weight bytes /
latency) as a share of the DRAM read bandwidth measured here in the same
run (bench/membw.cpp), and GFLOP/s. Cases:
  matvec-fp32  x[1,4096] through eight 4096x4096 fp32 MatMuls (512 MiB of
               weights, far above the caches: decode-like, bandwidth-bound)
  bert-base    a BERT-base-shaped encoder (12 x 768, FFN 3072) at batch 1,
               sequence 128, fp32 (compute-bound)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def matvec_model(path, layers=8, n=4096):
    rng = np.random.default_rng(0)
    inits, nodes, name = [], [], "x"
    for i in range(layers):
        w = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("MatMul", [name, f"w{i}"], [f"y{i}"]))
        name = f"y{i}"
    graph = helper.make_graph(nodes, "matvec",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n])],
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, n])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path, save_as_external_data=True, location=os.path.basename(path) + ".bin")
    return {"x": rng.standard_normal((1, n)).astype(np.float32)}, layers * n * n * 4, 2 * layers * n * n


def bert_model(path, seq=128):
    exporter = os.path.join(os.path.dirname(__file__), "export_bert_base.py")
    subprocess.run(["/usr/bin/python3", exporter, path, str(seq)], check=True)
    model = onnx.load(path, load_external_data=False)
    weight_bytes = sum(int(np.prod(t.dims)) * 4 for t in model.graph.initializer
                       if t.data_type == TensorProto.FLOAT)
    rng = np.random.default_rng(0)
    feeds = {"input_ids": rng.integers(0, 30522, (1, seq)).astype(np.int64),
             "attention_mask": np.ones((1, seq), np.int64)}
    # Multiply-adds of the 12 layers: 4 projections + FFN, and attention.
    hidden, ffn, layers = 768, 3072, 12
    flops = layers * (2 * seq * hidden * (4 * hidden + 2 * ffn) + 4 * seq * seq * hidden)
    return feeds, weight_bytes, flops


def time_azc(bin_dir, model, feeds, work, threads, iterations):
    engine = os.path.join(work, os.path.basename(model) + ".azeng")
    subprocess.run([os.path.join(bin_dir, "azc"), "build", model, "-o", engine],
                   check=True, stdout=subprocess.DEVNULL)
    args = [os.path.join(bin_dir, "azr-run"), engine, "--iterations", str(iterations + 2),
            "--threads", str(threads)]
    for name, array in feeds.items():
        path = os.path.join(work, name + ".npy")
        np.save(path, array)
        args += ["--input", f"{name}={path}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1)) / 1e3


def time_ort(model, feeds, threads, iterations):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    for _ in range(2):
        session.run(None, feeds)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measured_peak(bin_dir, threads):
    """fp32 GFLOP/s of `threads` cores, by bench/peak.cpp."""
    out = subprocess.run([os.path.join(bin_dir, "peak"), str(threads)], check=True,
                         capture_output=True, text=True).stdout
    return float(re.search(r"fp32 GFLOP/s ([0-9.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="build/bin")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--work", default="build/bench")
    parser.add_argument("--peak-gflops", type=float, default=0.0,
                        help="fp32 FMA peak of these cores (default: measured "
                             "by bench/peak.cpp in this run)")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    bandwidth = float(subprocess.run([os.path.join(args.bin, "membw"), str(args.threads), "1024"],
                                     check=True, capture_output=True, text=True).stdout)
    print(f"measured DRAM read bandwidth, {args.threads} threads: {bandwidth:.1f} GB/s")
    if not args.peak_gflops:
        args.peak_gflops = measured_peak(args.bin, args.threads)
    print(f"measured fp32 FMA peak, {args.threads} threads: {args.peak_gflops:.0f} GFLOP/s")
    cases = [("matvec-fp32", matvec_model), ("bert-base", bert_model)]
    rows = []
    for name, make in cases:
        model = os.path.join(args.work, name + ".onnx")
        feeds, weight_bytes, flops = make(model)
        azc = time_azc(args.bin, model, feeds, args.work, args.threads, args.iterations)
        peer = time_ort(model, feeds, args.threads, args.iterations)
        rows.append((name, azc, peer, weight_bytes, flops))

    print(f"{'case':<12} {'azc ms':>9} {'ort ms':>9} {'ort/azc':>8} {'azc GB/s':>9} "
          f"{'% DRAM':>7} {'azc GFLOP/s':>12} {'% peak':>7}")
    for name, azc, peer, weight_bytes, flops in rows:
        gbs = weight_bytes / azc / 1e9
        gflops = flops / azc / 1e9
        print(f"{name:<12} {azc * 1e3:9.2f} {peer * 1e3:9.2f} {peer / azc:8.2f} {gbs:9.1f} "
              f"{100 * gbs / bandwidth:6.0f}% {gflops:12.1f} {100 * gflops / args.peak_gflops:6.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
