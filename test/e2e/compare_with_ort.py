#!/usr/bin/env python3
"""Builds an ONNX model with azc, runs it with azr-run, and compares every
output with onnxruntime's on the same random inputs.

  compare_with_ort.py MODEL --bin DIR --work DIR [--dims NAME=N ...]
      [--int-range NAME=LOW:HIGH ...] [--rtol R] [--atol A] [--seed S]
      [-- extra azc build flags]

Symbolic input dims are fixed by --dims (passed to azc build as well).
With --at NAME=N,NAME=N (repeatable), the engine is built once — give the
ranges as build flags after `--`, e.g. `-- --shape-range batch=1..4` — and
run and compared at each of those sizes, as a dynamic engine is used.
With --random-weights, every float initializer is first replaced by seeded
random values (normal, scaled by 1/sqrt(fan-in); BatchNormalization
variances uniform in [0.5, 1.5]) in a copy of the model: the "light" test
models make their weights with ConstantOfShape (constant fills), under
which every network gives a uniform output and a comparison would prove
little.
With --reference OTHER.onnx, onnxruntime runs that model instead (same
inputs and outputs): a model quantized by onnxruntime's own tools, say,
against an engine that azc quantized. With --min-cosine C, each float
output passes when the cosine similarity of the flattened outputs is at
least C (and reports the relative RMS error too), for engines whose
quantization error no elementwise tolerance describes well.
With --ort-optimization LEVEL (disable_all, basic, extended or all, the
default), onnxruntime optimizes its graph at that level: at basic and
above it fuses QDQ patterns into integer kernels (QLinearMatMul,
MatMulIntegerToFloat, MatMulNBits), at disable_all it runs every node as
written. --ort-config KEY=VALUE (repeatable) adds a session config entry.
Float inputs are standard normal; integer inputs uniform in [LOW, HIGH)
(default [0, 2)). Exits 1 when any output differs beyond
|azc - ort| <= atol + rtol * |ort|, printing the worst element.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

NP_TYPES = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.FLOAT16: np.float16,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.BOOL: np.bool_,
}


def randomize_weights(model, rng):
    from onnx import numpy_helper
    # The "light" models make their weights with ConstantOfShape nodes:
    # turn those into initializers first.
    shapes = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    kept = []
    for node in model.graph.node:
        value = next((a.t for a in node.attribute if a.name == "value"), None)
        if (node.op_type == "ConstantOfShape" and node.input[0] in shapes
                and (value is None or value.data_type == onnx.TensorProto.FLOAT)):
            shape = [int(d) for d in shapes[node.input[0]]]
            model.graph.initializer.append(numpy_helper.from_array(
                np.zeros(shape, np.float32), node.output[0]))
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    variances = {n.input[4] for n in model.graph.node
                 if n.op_type == "BatchNormalization" and len(n.input) > 4}
    for i, tensor in enumerate(model.graph.initializer):
        array = numpy_helper.to_array(tensor)
        if not np.issubdtype(array.dtype, np.floating) or array.size <= 1:
            continue
        if tensor.name in variances:
            new = rng.uniform(0.5, 1.5, array.shape)
        else:
            fan_in = int(np.prod(array.shape[1:])) if array.ndim > 1 else array.size
            new = rng.standard_normal(array.shape) / np.sqrt(max(fan_in, 1))
        model.graph.initializer[i].CopyFrom(
            numpy_helper.from_array(new.astype(array.dtype), tensor.name))


def sum_of_dims(name, dims):
    """The size of a dim named as a sum ("past + seq + 1"), or None."""
    import re
    terms = re.findall(r"([+-]?)\s*([A-Za-z_][\w.]*|\d+)\s*", name)
    if not terms or "".join(s + t for s, t in terms) != name.replace(" ", ""):
        return None
    total = 0
    for sign, term in terms:
        value = int(term) if term.isdigit() else dims.get(term)
        if value is None:
            return None
        total += -int(value) if sign == "-" else int(value)
    return total


def npy_name(output_name):
    """The file azr-run writes an output to."""
    return output_name.replace("/", "_").replace(":", "_") + ".npy"


def compare_at(args, model, initializers, int_ranges, dims, rng, engine, work,
               session):
    """Runs `engine` on random inputs sized by `dims` and compares every
    output with onnxruntime's; True when any differs."""
    feeds = {}
    run_args = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor_type = value.type.tensor_type
        shape = []
        for d in tensor_type.shape.dim:
            if d.HasField("dim_value"):
                shape.append(d.dim_value)
            elif d.dim_param in dims:
                shape.append(int(dims[d.dim_param]))
            elif sum_of_dims(d.dim_param, dims) is not None:
                shape.append(sum_of_dims(d.dim_param, dims))
            else:
                sys.exit(f"input {value.name}: give --dims {d.dim_param or '?'}=N")
        dtype = NP_TYPES[tensor_type.elem_type]
        if np.issubdtype(dtype, np.floating):
            array = rng.standard_normal(shape).astype(dtype)
        else:
            low, high = int_ranges.get(value.name, (0, 2))
            array = rng.integers(low, high, size=shape).astype(dtype)
        feeds[value.name] = array
        path = os.path.join(work, f"input{len(run_args) // 2}.npy")
        np.save(path, array)
        run_args += ["--input", f"{value.name}={path}"]

    out_dir = os.path.join(work, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    subprocess.run([os.path.join(args.bin, "azr-run"), engine, "--output-dir",
                    out_dir] + run_args, check=True, stdout=subprocess.DEVNULL)

    # A sequence output (a list from onnxruntime) is one engine output per
    # element, NAME[i].
    expected, failed = [], False
    for info, value in zip(session.get_outputs(), session.run(None, feeds)):
        if isinstance(value, list):
            extra = f"{info.name}[{len(value)}]"
            if os.path.exists(os.path.join(out_dir, npy_name(extra))):
                print(f"{info.name}: azc gives more than {len(value)} elements")
                failed = True
            expected += [(f"{info.name}[{i}]", v) for i, v in enumerate(value)]
        else:
            expected.append((info.name, value))
    for output_name, want in expected:
        got = np.load(os.path.join(out_dir, npy_name(output_name)))
        if got.shape != want.shape or got.dtype != want.dtype:
            print(f"{output_name}: azc gives {got.dtype}{list(got.shape)}, "
                  f"onnxruntime {want.dtype}{list(want.shape)}")
            failed = True
            continue
        if not np.issubdtype(want.dtype, np.floating):
            mismatches = int(np.sum(got != want))
            print(f"{output_name}: {mismatches} of {want.size} elements differ (exact compare)")
            failed |= mismatches > 0
            continue
        if args.min_cosine is not None:
            g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
            cosine = float(g @ w / max(np.linalg.norm(g) * np.linalg.norm(w), 1e-300))
            rel_rms = float(np.linalg.norm(g - w) / max(np.linalg.norm(w), 1e-300))
            ok = cosine >= args.min_cosine
            print(f"{output_name}: cosine {cosine:.6f}, relative RMS error {rel_rms:.3g} "
                  f"(min cosine {args.min_cosine:g}) {'ok' if ok else 'MISMATCH'}")
            failed |= not ok
            continue
        error = np.abs(got.astype(np.float64) - want.astype(np.float64))
        bound = args.atol + args.rtol * np.abs(want.astype(np.float64))
        worst = np.unravel_index(np.argmax(error - bound), error.shape) if error.size else ()
        ok = bool(np.all(error <= bound))
        max_error = float(error.max()) if error.size else 0.0
        print(f"{output_name}: max |azc - ort| = {max_error:.3g} "
              f"(atol {args.atol:g}, rtol {args.rtol:g}) {'ok' if ok else 'MISMATCH'}")
        if not ok:
            print(f"  worst at {tuple(int(i) for i in worst)}: azc {got[worst]!r}, ort {want[worst]!r}")
            failed = True
    return failed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--bin", required=True, help="folder with azc and azr-run")
    parser.add_argument("--work", required=True)
    parser.add_argument("--dims", action="append", default=[])
    parser.add_argument("--int-range", action="append", default=[])
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-weights", action="store_true")
    parser.add_argument("--reference", help="the model onnxruntime runs (default: MODEL)")
    parser.add_argument("--min-cosine", type=float,
                        help="compare float outputs by cosine similarity")
    parser.add_argument("--ort-optimization", default="all",
                        choices=["disable_all", "basic", "extended", "all"])
    parser.add_argument("--ort-config", action="append", default=[],
                        help="onnxruntime session config entry KEY=VALUE")
    parser.add_argument("--at", action="append", default=[],
                        help="run the one engine at these sizes: NAME=N,NAME=N")
    args, args.build_flags = parser.parse_known_args()
    args.build_flags = [f for f in args.build_flags if f != "--"]

    dims = dict(d.split("=") for d in args.dims)
    int_ranges = {}
    for spec in args.int_range:
        name, bounds = spec.split("=")
        low, high = bounds.split(":")
        int_ranges[name] = (int(low), int(high))

    model = onnx.load(args.model)
    initializers = {t.name for t in model.graph.initializer}
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.work, exist_ok=True)
    if args.random_weights:
        randomize_weights(model, rng)
        args.model = os.path.join(args.work, "randomized.onnx")
        onnx.save(model, args.model)
    engine = os.path.join(args.work, "model.azeng")
    build = [os.path.join(args.bin, "azc"), "build", args.model, "-o", engine]
    for d in args.dims:
        build += ["--dims", d]
    subprocess.run(build + args.build_flags, check=True, stdout=subprocess.DEVNULL)
    options = ort.SessionOptions()
    options.graph_optimization_level = {
        "disable_all": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[args.ort_optimization]
    for entry in args.ort_config:
        key, value = entry.split("=", 1)
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(args.reference or args.model, options,
                                   providers=["CPUExecutionProvider"])

    points = [dict(dims)]
    if args.at:
        points = [dict(dims, **dict(d.split("=") for d in spec.split(",")))
                  for spec in args.at]
    failed = False
    for n, point in enumerate(points):
        work = os.path.join(args.work, f"at{n}") if args.at else args.work
        os.makedirs(work, exist_ok=True)
        if args.at:
            print("at " + ", ".join(f"{k}={v}" for k, v in point.items()))
        failed |= compare_at(args, model, initializers, int_ranges, point,
                             rng, engine, work, session)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
