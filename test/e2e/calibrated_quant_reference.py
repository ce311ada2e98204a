#!/usr/bin/env python3
"""GPTQ and AWQ in numpy on the quantization fixtures' MLP, against azc's
engines.

  calibrated_quant_reference.py OUT_DIR --engine ENGINE --bin DIR
      [--algorithm gptq|awq] [--no-act-order] [--damp 0.01]
      [--calib-samples N] [--atol A] [--max-error-ratio R]

Reads OUT_DIR/mlp.onnx and the samples of make_quantization_fixtures.py.
Runs the float MLP in numpy over mlp_calib to get each MatMul's input
rows, accumulates H = sum x x^T, and quantizes each weight with GPTQ as
described in passes/WeightQuantizer.h: scales and zero points are those of
onnxruntime's own 4-bit asymmetric block quantizer (blocks of 32) on the
original weight, rows are taken by decreasing H[k][k] (act order), H is
damped by damp * mean(diag H), and each row's rounding error, divided by
the diagonal of the upper Cholesky factor of H^-1, is subtracted from the
later rows. AWQ (--algorithm awq, passes/WeightQuantizer.h): for alpha in
0, 0.05, ..., 1, scale row k of the weight by s_k = m_k^alpha (m the mean
|input|, s normalized to max(s) min(s) = 1), round to nearest, and keep the
alpha of least sum_n e_n^T H e_n; the input is divided by s. Then runs the
MLP with the dequantized weights on mlp_eval and compares with azc's
int4_gptq or int4_awq engine on the same samples: the same codes
leave only summation-order differences. Also compares the output error of
GPTQ and of plain rounding against the float model (--max-error-ratio).
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.capi._pybind_state import quantize_matmul_4bits

BLOCK = 32


def load(out, name="mlp"):
    model = onnx.load(os.path.join(out, name + ".onnx"))
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def proj_forward(w, x, collect=None):
    """The fixture's proj model: LayerNormalization, then q and k
    projections of its output; AWQ's input scale multiplies the normalized
    input (shared by both)."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    h = (x - mu) / np.sqrt(var + 1e-5) * w["ln.scale"] + w["ln.bias"]
    if collect is not None:
        collect["qk"].append(h.reshape(-1, 64).astype(np.float64))
    if "qk.input_scale" in w:
        h = h * w["qk.input_scale"]
    return {"q": h @ w["q.weight"], "k": h @ w["k.weight"]}


def check_proj(a):
    """Group AWQ on proj.onnx: one scale for q and k, searched on their
    summed error, against the engine's two outputs."""
    w = load(a.out, "proj")
    collect = {"qk": []}
    for x in samples(os.path.join(a.out, "mlp_calib")):
        proj_forward(w, x.astype(np.float64), collect)
    x = np.concatenate(collect["qk"])
    h, m = x.T @ x, np.abs(x).mean(axis=0)
    best = None
    for step in range(21):
        s = m ** (step / 20)
        s = s / np.sqrt(s.min() * s.max())
        deq = {n: dequantize((w[n + ".weight"].astype(np.float64) * s[:, None]).astype(np.float32))
               for n in ("q", "k")}
        err = 0.0
        for n in ("q", "k"):
            e = deq[n].astype(np.float64) / s[:, None] - w[n + ".weight"]
            err += float(np.einsum("kn,kj,jn->", e, h, e))
        if best is None or err < best[0]:
            best = (err, deq, (1.0 / s).astype(np.float32))
    quantized = dict(w, **{"q.weight": best[1]["q"], "k.weight": best[1]["k"],
                           "qk.input_scale": best[2]})
    worst = 0.0
    eval_dir = os.path.join(a.out, "mlp_eval")
    for i, x in enumerate(samples(eval_dir)):
        out = os.path.join(a.out, "proj_check", f"{i:03d}")
        os.makedirs(out, exist_ok=True)
        subprocess.run([os.path.join(a.bin, "azr-run"), a.engine, "--input",
                        f"x={os.path.join(eval_dir, f'{i:03d}', 'x.npy')}", "--output-dir", out],
                       check=True, stdout=subprocess.DEVNULL)
        want = proj_forward(quantized, x.astype(np.float64))
        for n in ("q", "k"):
            got = np.load(os.path.join(out, n + ".npy")).astype(np.float64)
            worst = max(worst, float(np.abs(got - want[n]).max()))
    ok = worst <= a.atol
    print(f"proj: max |azc - numpy group AWQ| = {worst:.3g} (atol {a.atol:g}) "
          f"{'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def forward(w, x, collect=None):
    """The fixture's MLP (see make_quantization_fixtures.build_mlp); a
    weight may come with a per-input scale (AWQ) as NAME.input_scale."""
    h = x
    for i, name in enumerate(("fc1", "fc2", "fc3")):
        if collect is not None:
            collect[name].append(h.reshape(-1, h.shape[-1]).astype(np.float64))
        inp = h * w[name + ".input_scale"] if name + ".input_scale" in w else h
        h = inp @ w[name + ".weight"] + w[name + ".bias"]
        if i < 2:
            h = np.maximum(h, 0)
    return h + x


def samples(folder):
    return [np.load(os.path.join(folder, d, "x.npy")) for d in sorted(os.listdir(folder))]


def rtn_params(weight):
    k, n = weight.shape
    blocks = (k + BLOCK - 1) // BLOCK
    packed = np.zeros((n, blocks, BLOCK // 2), np.uint8)
    zp = np.zeros((n, (blocks + 1) // 2), np.uint8)
    scales = np.zeros((n, blocks), np.float32)
    quantize_matmul_4bits(packed, np.ascontiguousarray(weight), scales, zp, BLOCK, n, k, False)
    zps = np.zeros((n, blocks), np.float32)
    zps[:, 0::2] = zp & 15
    zps[:, 1::2] = (zp >> 4)[:, : blocks // 2]
    codes = np.zeros((n, blocks * BLOCK), np.float32)
    flat = packed.reshape(n, -1)
    codes[:, 0::2] = flat & 15
    codes[:, 1::2] = flat >> 4
    return scales, zps, codes[:, :k]


def round_half_away(v):
    return np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))


def gptq(weight, hessian, damp, act_order):
    k, n = weight.shape
    scales, zps, _ = rtn_params(weight)
    h = hessian.copy()
    diag = np.diag(hessian).copy()
    mean = diag.mean()
    dead = diag == 0
    h[dead, dead] = 1
    h += damp * (mean if mean > 0 else 1.0) * np.eye(k)
    order = np.argsort(-diag, kind="stable") if act_order else np.arange(k)
    u = np.linalg.cholesky(np.linalg.inv(h[np.ix_(order, order)])).T
    rows = weight.astype(np.float64).copy()
    dequantized = np.zeros_like(weight, dtype=np.float32)
    for i, kk in enumerate(order):
        s, z = scales[:, kk // BLOCK], zps[:, kk // BLOCK]
        inverse = np.where(s != 0, np.float32(1) / np.where(s != 0, s, 1), 0).astype(np.float32)
        code = np.clip(round_half_away(rows[kk].astype(np.float32) * inverse + z), 0, 15)
        q = ((code - z) * s).astype(np.float32)
        dequantized[kk] = q
        err = (rows[kk] - q.astype(np.float64)) / u[i, i]
        for j in range(i + 1, k):
            rows[order[j]] -= u[i, j] * err
    return dequantized


def dequantize(weight):
    """Round-to-nearest weight as onnxruntime's quantizer gives it, [K, N]."""
    scales, zps, codes = rtn_params(weight)
    blocks = np.arange(weight.shape[0]) // BLOCK
    return ((codes - zps[:, blocks]) * scales[:, blocks]).T.astype(np.float32)


def awq(weight, hessian, abs_mean, steps=20):
    m = abs_mean.copy()
    seen = m > 0
    m[~seen] = m[seen].min() if seen.any() else 1.0
    best = None
    for step in range(steps + 1):
        s = m ** (step / steps)
        s = s / np.sqrt(s.min() * s.max())
        deq = dequantize((weight.astype(np.float64) * s[:, None]).astype(np.float32))
        e = deq.astype(np.float64) / s[:, None] - weight
        err = float(np.einsum("kn,kj,jn->", e, hessian, e))
        if best is None or err < best[0]:
            best = (err, deq, (1.0 / s).astype(np.float32))
    return best[1], best[2]


def check_report(path, w, collect):
    """The build report of `--quantization int4 --calib-data mlp_calib`:
    each weight's relative RMS error and relative output error on the
    calibration inputs, recomputed from onnxruntime's rounding, to 1e-6."""
    import json
    with open(path) as f:
        report = json.load(f)
    failed = False
    for layer in report["layers"]:
        name = layer["weight"].rsplit(".", 1)[0]
        weight = w[name + ".weight"].astype(np.float64)
        e = dequantize(w[name + ".weight"]).astype(np.float64) - weight
        x = np.concatenate(collect[name])
        h = x.T @ x
        want = {"weight_relative_rms_error": np.sqrt((e * e).sum() / (weight * weight).sum()),
                "output_relative_error": np.sqrt(np.einsum("kn,kj,jn->", e, h, e) /
                                                 np.einsum("kn,kj,jn->", weight, h, weight))}
        for key, value in want.items():
            ok = abs(layer[key] - value) <= 1e-6 * value
            print(f"{layer['weight']} {key}: report {layer[key]:.9g}, numpy {value:.9g} "
                  f"{'ok' if ok else 'MISMATCH'}")
            failed |= not ok
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--engine")
    p.add_argument("--bin", required=True)
    p.add_argument("--algorithm", choices=("gptq", "awq", "awq-proj"), default="gptq")
    p.add_argument("--no-act-order", action="store_true")
    p.add_argument("--damp", type=float, default=0.01)
    p.add_argument("--calib-samples", type=int, default=0, help="use the first N (0: all)")
    p.add_argument("--atol", type=float, default=3e-5)
    p.add_argument("--report", help="check this int4 (round to nearest) build report instead")
    p.add_argument("--max-error-ratio", type=float, default=1.0,
                   help="require GPTQ's output error <= this x round-to-nearest's")
    a = p.parse_args()
    if a.algorithm == "awq-proj":
        sys.exit(check_proj(a))
    w = load(a.out)
    collect = {name: [] for name in ("fc1", "fc2", "fc3")}
    calibration = samples(os.path.join(a.out, "mlp_calib"))
    for x in calibration[: a.calib_samples or len(calibration)]:
        forward(w, x, collect)
    if a.report:
        sys.exit(check_report(a.report, w, collect))
    quantized, rounded = dict(w), dict(w)
    for name, rows in collect.items():
        x = np.concatenate(rows)
        weight = w[name + ".weight"]
        if a.algorithm == "gptq":
            quantized[name + ".weight"] = gptq(weight, x.T @ x, a.damp, not a.no_act_order)
        else:
            quantized[name + ".weight"], quantized[name + ".input_scale"] = awq(
                weight, x.T @ x, np.abs(x).mean(axis=0))
        rounded[name + ".weight"] = dequantize(weight)
    eval_dir = os.path.join(a.out, "mlp_eval")
    worst, err = 0.0, {"quantized": 0.0, "rtn": 0.0, "ref": 0.0}
    for i, x in enumerate(samples(eval_dir)):
        out = os.path.join(a.out, a.algorithm + "_check", f"{i:03d}")
        os.makedirs(out, exist_ok=True)
        subprocess.run([os.path.join(a.bin, "azr-run"), a.engine, "--input",
                        f"x={os.path.join(eval_dir, f'{i:03d}', 'x.npy')}", "--output-dir", out],
                       check=True, stdout=subprocess.DEVNULL)
        got = np.load(os.path.join(out, "y.npy")).astype(np.float64)
        want = forward(quantized, x.astype(np.float64))
        exact = forward(w, x.astype(np.float64))
        worst = max(worst, float(np.abs(got - want).max()))
        err["quantized"] += float(((want - exact) ** 2).sum())
        err["rtn"] += float(((forward(rounded, x.astype(np.float64)) - exact) ** 2).sum())
        err["ref"] += float((exact ** 2).sum())
    ratio = np.sqrt(err["quantized"] / err["rtn"])
    better = ratio <= a.max_error_ratio
    print(f"relative RMS error vs float: {a.algorithm} {np.sqrt(err['quantized'] / err['ref']):.4f}, "
          f"round to nearest {np.sqrt(err['rtn'] / err['ref']):.4f}: ratio {ratio:.3f} "
          f"(at most {a.max_error_ratio:g}) {'ok' if better else 'NOT BETTER'}")
    ok = worst <= a.atol and better
    print(f"max |azc - numpy {a.algorithm}| = {worst:.3g} (atol {a.atol:g}) "
          f"{'ok' if ok else 'MISMATCH'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
