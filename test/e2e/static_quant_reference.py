#!/usr/bin/env python3
"""The quantization modes with codebook weights or static inputs (int8,
int8_sq, fp8, nf4) in numpy on the quantization fixtures' MLP, against
azc's engines and against the float model.

  static_quant_reference.py OUT_DIR --engine ENGINE --mode MODE --bin DIR
      [--group-size 32] [--alpha 0.5] --max-rel-error E

Reads OUT_DIR/mlp.onnx, mlp_calib and mlp_eval of
make_quantization_fixtures.py. Emulates the mode as its documentation
(passes/Passes.td, passes/WeightQuantizer.h, dialects/azg/AzgOps.td)
states it, in float32:
  - int8: weights symmetric 8-bit per block of G along K (scale = the
    element of largest magnitude / -128, codes rounded half away from 0);
    each product's input x replaced by clip(rint(x / s), -127, 127) * s,
    s = max |x| over the calibration samples / 127;
  - int8_sq: first SmoothQuant: s_k = max|x_k|^alpha / max|W_k|^(1-alpha)
    per input channel (channels never non-zero keep 1), W rows times s_k,
    the input times 1 / s_k; then int8 with ranges of the smoothed inputs;
  - fp8: per block scale = amax / 448 and weights rounded to E4M3 (by
    ml_dtypes, ties to even); inputs rounded to E4M3 with s = max |x| / 448;
  - int8 with --outlier-threshold T (LLM.int8()): input channels whose
    calibrated max |x| reaches T, with their weight rows, stay float; the
    other rows, compacted, are quantized as int8, and their inputs with
    s = the largest max |x| among them / 127;
  - nf4: per block scale = absmax, codes the nearest NormalFloat4 value;
    scales double-quantized to int8 per group of 256 (offset the mean,
    step max |scale - mean| / 127), the codes chosen against the scales as
    stored.
Two checks: the engine matches the emulation (their relative RMS
difference is under 0.1% of the emulation's own error against float; exact
agreement is not possible since a last-bit difference in an input can move
its rounding by one step), and the emulation's relative RMS error against
the float model is at most --max-rel-error.
"""
import argparse
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import onnx
from onnx import numpy_helper

NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
                0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0], np.float32)
LAYERS = ("fc1", "fc2", "fc3")


def forward(w, x, transform=None, collect=None):
    """The fixture's MLP; `transform(name, h)` replaces a product's input,
    `collect[name]` gathers the inputs it sees; NAME.outliers (channel
    indices) split a product into float outlier channels and the rest."""
    h = x
    for i, name in enumerate(LAYERS):
        if name + ".input_scale" in w:
            h = h * w[name + ".input_scale"]
        if collect is not None:
            collect[name].append(np.abs(h).reshape(-1, h.shape[-1]).max(axis=0))
        if name + ".outliers" in w:
            out, rest = w[name + ".outliers"], w[name + ".rest"]
            inp = transform(name, h[..., rest]) if transform else h[..., rest]
            h = (h[..., out] @ w[name + ".outlier_rows"] + inp @ w[name + ".weight"]
                 + w[name + ".bias"])
        else:
            inp = transform(name, h) if transform else h
            h = inp @ w[name + ".weight"] + w[name + ".bias"]
        if i < 2:
            h = np.maximum(h, 0)
    return h + x


def blocks(weight, g):
    """[K, N] -> [N, blocks, g] (zero-padded), and back."""
    k, n = weight.shape
    nb = (k + g - 1) // g
    padded = np.zeros((nb * g, n), np.float32)
    padded[:k] = weight
    return padded.T.reshape(n, nb, g), lambda b: b.reshape(n, nb * g).T[:k]


def int8_weights(weight, g):
    b, back = blocks(weight, g)
    idx = np.abs(b).argmax(axis=2)
    m = np.take_along_axis(b, idx[..., None], axis=2)
    scale = (m / np.float32(-128)).astype(np.float32)
    safe = np.where(scale == 0, np.float32(1), scale)
    v = b / safe
    code = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + 128, 0, 255)
    return back(((code - 128) * scale).astype(np.float32))


def fp8_round(v):
    return np.clip(v, -448, 448).astype(ml_dtypes.float8_e4m3fn).astype(np.float32)


def fp8_weights(weight, g):
    b, back = blocks(weight, g)
    scale = (np.abs(b).max(axis=2, keepdims=True) / np.float32(448)).astype(np.float32)
    safe = np.where(scale == 0, np.float32(1), scale)
    return back((fp8_round(b / safe) * scale).astype(np.float32))


def nf4_weights(weight, g):
    b, back = blocks(weight, g)
    scales = np.abs(b).max(axis=2).astype(np.float32).reshape(-1)
    stored = np.empty_like(scales)
    for g0 in range(0, len(scales), 256):
        s = scales[g0:g0 + 256]
        offset = np.float32(s.astype(np.float64).mean())
        step = np.float32(np.abs(s - offset).max() / np.float32(127))
        code = np.clip(np.rint((s - offset) / step), -127, 127) if step > 0 else np.zeros_like(s)
        stored[g0:g0 + 256] = (code.astype(np.float32) * step + offset).astype(np.float32)
    stored = stored.reshape(b.shape[0], b.shape[1], 1)
    safe = np.where(stored > 0, stored, np.float32(1))
    x = np.where(stored > 0, b / safe, np.float32(0))
    mids = (NF4[:-1] + NF4[1:]) / np.float32(2)
    code = np.searchsorted(mids, x, side="left")  # first midpoint >= x
    return back((NF4[code] * stored).astype(np.float32))


def samples(folder):
    return [np.load(os.path.join(folder, d, "x.npy")) for d in sorted(os.listdir(folder))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--engine", required=True)
    p.add_argument("--mode", required=True, choices=("int8", "int8_sq", "fp8", "nf4"))
    p.add_argument("--bin", required=True)
    p.add_argument("--group-size", type=int, default=32)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--outlier-threshold", type=float, default=0.0)
    p.add_argument("--max-rel-error", type=float, required=True)
    a = p.parse_args()
    model = onnx.load(os.path.join(a.out, "mlp.onnx"))
    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    calibration = samples(os.path.join(a.out, "mlp_calib"))

    def channel_max(weights):
        collect = {name: [] for name in LAYERS}
        for x in calibration:
            forward(weights, x, collect=collect)
        return {name: np.max(rows, axis=0) for name, rows in collect.items()}

    q = dict(w)
    if a.mode == "int8_sq":
        xmax = channel_max(w)
        for name in LAYERS:
            wmax = np.abs(w[name + ".weight"]).max(axis=1).astype(np.float64)
            s = np.ones(len(wmax), np.float32)
            live = (xmax[name] > 0) & (wmax > 0)
            s[live] = (xmax[name][live].astype(np.float64) ** a.alpha /
                       wmax[live] ** (1 - a.alpha)).astype(np.float32)
            q[name + ".weight"] = (w[name + ".weight"] * s[:, None]).astype(np.float32)
            q[name + ".input_scale"] = (np.float32(1) / s).astype(np.float32)
    if a.outlier_threshold > 0:
        for name, m in channel_max(q).items():
            out = np.nonzero(m >= a.outlier_threshold)[0]
            rest = np.nonzero(m < a.outlier_threshold)[0]
            q[name + ".outliers"], q[name + ".rest"] = out, rest
            q[name + ".outlier_rows"] = q[name + ".weight"][out]
            q[name + ".weight"] = q[name + ".weight"][rest]
            print(f"{name}: {len(out)} outlier channels of {len(m)}")
    quantize = {"int8": int8_weights, "int8_sq": int8_weights, "fp8": fp8_weights,
                "nf4": nf4_weights}[a.mode]
    transform = None
    if a.mode != "nf4":
        ranges = {name: float(m.max() if name + ".rest" not in q else m[q[name + ".rest"]].max())
                  for name, m in channel_max(q).items()}
        grid = 448.0 if a.mode == "fp8" else 127.0
        scale = {name: np.float32(r / grid) for name, r in ranges.items()}

        def transform(name, h):
            v = (h / scale[name]).astype(np.float32)
            r = fp8_round(v) if a.mode == "fp8" else np.rint(np.clip(v, -127, 127))
            return (r * scale[name]).astype(np.float32)
    for name in LAYERS:
        q[name + ".weight"] = quantize(q[name + ".weight"], a.group_size)

    eval_dir = os.path.join(a.out, "mlp_eval")
    diff = err = ref = 0.0
    for i, x in enumerate(samples(eval_dir)):
        out = os.path.join(a.out, a.mode + "_static_check", f"{i:03d}")
        os.makedirs(out, exist_ok=True)
        subprocess.run([os.path.join(a.bin, "azr-run"), a.engine, "--input",
                        f"x={os.path.join(eval_dir, f'{i:03d}', 'x.npy')}", "--output-dir", out],
                       check=True, stdout=subprocess.DEVNULL)
        got = np.load(os.path.join(out, "y.npy")).astype(np.float64)
        want = forward(q, x, transform).astype(np.float64)
        exact = forward(w, x.astype(np.float64))
        diff += float(((got - want) ** 2).sum())
        err += float(((want - exact) ** 2).sum())
        ref += float((exact ** 2).sum())
    rel = np.sqrt(err / ref)
    agreement = np.sqrt(diff / err)
    ok_match = agreement <= 1e-3
    ok_error = rel <= a.max_rel_error
    print(f"{a.mode}: relative RMS error vs float {rel:.4f} (at most {a.max_rel_error:g}) "
          f"{'ok' if ok_error else 'TOO LARGE'}; |azc - numpy| / |numpy - float| = "
          f"{agreement:.2g} (at most 0.001) {'ok' if ok_match else 'MISMATCH'}")
    sys.exit(0 if ok_match and ok_error else 1)


if __name__ == "__main__":
    main()
