#!/usr/bin/env python3
"""onnxruntime's own quantizers on all-MiniLM-L6-v2, scored against the
fp32 model on held-out text: the baseline of the MiniLM quantization study.

  ort_baseline.py --model minilm.onnx --calibration calibration.npz
                  --evaluation evaluation.npz --work DIR [--threads 1]
                  [--batch 1] [--json results.json] [--torch-reference REF.npy]
                  [--variants NAME,NAME,...]

Variants (each written to DIR as NAME.onnx):
  fp32              the exported model, as is
  int8-dynamic      quantize_dynamic, QInt8 weights (per tensor), on the
                    model after quant_pre_process (without its symbolic
                    shape inference, which does not complete on this graph)
  int8-dynamic-pc   the same with per-channel weights
  int8-static-qdq   quantize_static, QDQ format, int8 activations and weights
                    (per tensor), MinMax calibration on the calibration set,
                    on the same pre-processed model, every op type it can
  int8-static-qdq-nomask
                    the same, but leaving out the attention-mask bias
                    ((1 - mask) * -3.4e38, its Adds and the Softmaxes): MinMax
                    over that tensor gives a scale of ~1e36, which wipes out
                    the attention scores it is added to
  int8-static-qdq-matmul, int8-static-qdq-matmul-pc
                    static QDQ of the MatMuls only (per-tensor or per-channel
                    weights; activations per tensor)
  nbits4-sym-b32    MatMulNBitsQuantizer: 4-bit round-to-nearest weights,
  nbits4-asym-b32   blocks of 32 along K, symmetric or with zero points,
                    accuracy_level unset (fp32 compute)
  nbits4-sym-b32-acc4, nbits4-asym-b32-acc4
                    the same with accuracy_level 4 (int8 activations)

For each: cosine similarity of the mean-pooled sentence embeddings against
fp32 (mean and min), max |error| of last_hidden_state over real tokens
(and over all positions), mean |error|, top-1 self-retrieval (compare.py),
model file size, and mean latency per batch
(onnxruntime CPU, --threads intra-op threads). --torch-reference
(export_minilm.py --reference-out) adds a row scoring the fp32 ONNX
against PyTorch. Prints a markdown table and writes --json.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

ALL = ["fp32", "int8-dynamic", "int8-dynamic-pc", "int8-static-qdq", "int8-static-qdq-nomask",
       "int8-static-qdq-matmul", "int8-static-qdq-matmul-pc", "nbits4-sym-b32", "nbits4-asym-b32",
       "nbits4-sym-b32-acc4", "nbits4-asym-b32-acc4"]


class NpzReader:
    """A CalibrationDataReader over an .npz, one batch per read."""

    def __init__(self, path, batch=1):
        self.feeds = iter(compare.batches(compare.load_inputs(path), batch))

    def get_next(self):
        return next(self.feeds, None)

    def rewind(self):  # not needed by MinMax in one pass
        pass


def model_size(path):
    """Bytes of the model file and of any external data files it names."""
    total = os.path.getsize(path)
    model = onnx.load(path, load_external_data=False)
    locations = {entry.value for t in model.graph.initializer for entry in t.external_data
                 if entry.key == "location"}
    for location in locations:
        total += os.path.getsize(os.path.join(os.path.dirname(path), location))
    return total


def op_counts(path, ops=("MatMul", "MatMulInteger", "DynamicQuantizeLinear", "QuantizeLinear",
                         "DequantizeLinear", "MatMulNBits")):
    model = onnx.load(path, load_external_data=False)
    counts = {}
    for node in model.graph.node:
        if node.op_type in ops:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def mask_bias_nodes(path):
    """Names of the nodes that make or add the attention-mask bias: the
    node taking the (1 - mask) * finfo(float32).min constant, and every
    node downstream of it up to and including the Softmaxes."""
    from onnx import numpy_helper
    model = onnx.load(path, load_external_data=False)
    huge = {t.name for t in model.graph.initializer
            if numpy_helper.to_array(t).size == 1 and abs(numpy_helper.to_array(t)).max() > 1e30}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].t.dims == []:
            value = numpy_helper.to_array(node.attribute[0].t)
            if value.size == 1 and np.issubdtype(value.dtype, np.floating) and abs(value) > 1e30:
                huge.add(node.output[0])
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    names, todo = set(), [n for t in huge for n in consumers.get(t, [])]
    while todo:
        node = todo.pop()
        if node.name in names:
            continue
        names.add(node.name)
        if node.op_type != "Softmax":
            todo += [n for out in node.output for n in consumers.get(out, [])]
    return sorted(names)


def build(name, args, preprocessed):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    out = os.path.join(args.work, name + ".onnx")
    if name == "fp32":
        return args.model, {}
    if name.startswith("int8-dynamic"):
        per_channel = name.endswith("-pc")
        quantize_dynamic(preprocessed, out, weight_type=QuantType.QInt8, per_channel=per_channel)
        return out, dict(weight_type="QInt8", per_channel=per_channel,
                         op_types="default (MatMul, Gather, ...)")
    if name.startswith("int8-static-qdq"):
        per_channel = name.endswith("-pc")
        op_types = ["MatMul"] if "-matmul" in name else None
        exclude = mask_bias_nodes(preprocessed) if name.endswith("-nomask") else []
        settings = dict(quant_format="QDQ", activation_type="QInt8", weight_type="QInt8",
                        per_channel=per_channel, calibrate_method="MinMax",
                        op_types=op_types or "default (all QDQ-capable)",
                        nodes_to_exclude=exclude, calibration=os.path.basename(args.calibration))
        quantize_static(preprocessed, out, NpzReader(args.calibration, args.batch),
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, per_channel=per_channel,
                        calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=op_types, nodes_to_exclude=exclude)
        return out, settings
    if name.startswith("nbits4-"):
        try:
            from onnxruntime.quantization import matmul_nbits_quantizer as nbits
        except ModuleNotFoundError as e:  # onnxruntime 1.2x+ imports onnx_ir there
            raise SystemExit(f"{e}: python3 -m pip install onnx-ir")
        symmetric = "-sym-" in name
        accuracy = 4 if name.endswith("-acc4") else None
        config = nbits.DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=symmetric,
                                                    accuracy_level=accuracy, bits=4)
        quantizer = nbits.MatMulNBitsQuantizer(onnx.load(args.model), algo_config=config)
        quantizer.process()
        quantizer.model.save_model_to_file(out, use_external_data_format=False)
        return out, dict(bits=4, block_size=32, symmetric=symmetric, accuracy_level=accuracy,
                         algorithm="round to nearest (DefaultWeightOnlyQuantConfig)")
    raise ValueError(f"unknown variant {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the fp32 .onnx (export_minilm.py)")
    parser.add_argument("--calibration", required=True)
    parser.add_argument("--evaluation", required=True)
    parser.add_argument("--work", required=True, help="where quantized models are written")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--json")
    parser.add_argument("--torch-reference")
    parser.add_argument("--variants", default=",".join(ALL))
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    variants = args.variants.split(",")
    for name in variants:
        if name not in ALL:
            parser.error(f"unknown variant {name}; known: {', '.join(ALL)}")

    from onnxruntime.quantization import quant_pre_process
    preprocessed = os.path.join(args.work, "fp32-preprocessed.onnx")
    if any(name.startswith("int8-") for name in variants):
        # Symbolic shape inference stops short on this export ("Incomplete
        # symbolic shape inference"); ONNX shape inference and the graph
        # optimization of the pre-processing still run.
        quant_pre_process(args.model, preprocessed, skip_symbolic_shape=True)

    inputs = compare.load_inputs(args.evaluation)
    reference = compare.OrtRunner(args.model, args.threads)
    rows = []
    if args.torch_reference:
        torch_out = np.load(args.torch_reference)
        result = compare.evaluate(torch_out, reference, inputs, args.batch)
        reference = result.pop("reference_outputs")  # PyTorch's, not needed again
        rows.append(dict(name="fp32 vs PyTorch", size_bytes=model_size(args.model),
                         build_s=0.0, settings={}, ops=op_counts(args.model), **result))
        reference = compare.OrtRunner(args.model, args.threads)
    for name in variants:
        start = time.perf_counter()
        path, settings = build(name, args, preprocessed)
        build_s = time.perf_counter() - start
        result = compare.evaluate(reference, compare.OrtRunner(path, args.threads), inputs,
                                  args.batch)
        reference = result.pop("reference_outputs")  # computed once, reused
        rows.append(dict(name=name, file=os.path.basename(path), size_bytes=model_size(path),
                         build_s=build_s, settings=settings, ops=op_counts(path), **result))
        print(f"{name}: cos mean {result['cos_mean']:.6f} min {result['cos_min']:.6f}, "
              f"max |err| {result['max_abs']:.4g}, {result['latency_ms_mean']:.2f} ms",
              file=sys.stderr)

    count, seq = inputs["input_ids"].shape
    print(f"\nall-MiniLM-L6-v2, {count} held-out verses x {seq} tokens, batch {args.batch}, "
          f"onnxruntime {ort.__version__} CPU, {args.threads} thread(s); errors vs fp32 ONNX "
          f"(the first row: fp32 ONNX vs PyTorch)\n" if args.torch_reference else
          f"\nall-MiniLM-L6-v2, {count} held-out verses x {seq} tokens, batch {args.batch}, "
          f"onnxruntime {ort.__version__} CPU, {args.threads} thread(s); errors vs fp32 ONNX\n")
    print("| variant | cos mean | cos min | max abs err | max abs err (all pos.) "
          "| mean abs err | top-1 | size MiB | ms/batch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['cos_mean']:.6f} | {r['cos_min']:.6f} | {r['max_abs']:.4g} "
              f"| {r['max_abs_all']:.4g} | {r['mean_abs']:.4g} | {r['top1']:.3f} "
              f"| {r['size_bytes'] / 2**20:.1f} "
              f"| {r['latency_ms_mean']:.2f} |")
    if args.json:
        report = dict(
            model=os.path.basename(args.model),
            calibration=os.path.basename(args.calibration),
            evaluation=os.path.basename(args.evaluation),
            count=int(count), sequence=int(seq), batch=args.batch, threads=args.threads,
            onnxruntime=ort.__version__, onnx=onnx.__version__, numpy=np.__version__,
            processor=platform.processor() or platform.machine(),
            reference_max_abs=rows[0]["reference_max_abs"] if rows else None,
            variants=rows)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
