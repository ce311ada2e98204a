#!/usr/bin/env python3
"""Decode and prefill speed of a Llama-shaped decoder engine (random
weights), against the memory-bandwidth limit measured in the same run.

  bench/llm.py [--size 1b|tiny] [--past 128] [--prefill 64] [--threads 2]
               [--iterations 10] [--work build/bench-llm] [--llama-bench PATH]
               [--quantization none,int4,...] [--generate N]
               [--kv-cache-dtype f32,fp16,int8,...]

The checkpoint (config.json + model.safetensors, f16) is written here with
numpy and built with `azc build FOLDER`, as a user's checkpoint would be:
one dynamic engine (batch 1, sequence 1..prefill, past 0..past+prefill)
per --quantization mode (none: f32 weights; fp16, bf16, int4, int8_wo,
w4a8, nf4: azc's weight-only modes). A decode step at `past` cached
tokens must stream every weight once (but for the embedding table, of
which it gathers one row), so
its floor is those bytes / DRAM bandwidth; prefill is compute-bound and
is reported as GFLOP/s (2 x parameters x tokens, plus attention). With
--llama-bench (llama.cpp's llama-bench binary and a GGUF of the same
shape via --gguf) the peer runs in the same invocation.

--generate N also times whole generations (`azr-run --prompt-ids`: a
`prefill`-token prompt, then N <= past new tokens) with the KV-cache engine above, whose cache is copied in and out of
every run, and with one engine per --kv-cache-dtype built with
--paged_kv_cache, whose cache stays in the runtime.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

SIZES = {  # TinyLlama-1.1B's shape, and a small one for a quick check
    "1b": dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632,
               num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4),
    "tiny": dict(vocab_size=4096, hidden_size=256, intermediate_size=688,
                 num_hidden_layers=4, num_attention_heads=8,
                 num_key_value_heads=2),
}


def write_checkpoint(folder, shape):
    os.makedirs(folder, exist_ok=True)
    config = dict(shape, model_type="llama", max_position_embeddings=4096,
                  rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    D, I, V = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    H, G = shape["num_attention_heads"], shape["num_key_value_heads"]
    hd = D // H
    tensors = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,),
               "lm_head.weight": (V, D)}
    for i in range(shape["num_hidden_layers"]):
        p = f"model.layers.{i}."
        tensors.update({
            p + "input_layernorm.weight": (D,), p + "post_attention_layernorm.weight": (D,),
            p + "self_attn.q_proj.weight": (H * hd, D), p + "self_attn.k_proj.weight": (G * hd, D),
            p + "self_attn.v_proj.weight": (G * hd, D), p + "self_attn.o_proj.weight": (D, H * hd),
            p + "mlp.gate_proj.weight": (I, D), p + "mlp.up_proj.weight": (I, D),
            p + "mlp.down_proj.weight": (D, I)})
    header, offset = {}, 0
    for name, dims in tensors.items():
        size = int(np.prod(dims)) * 2
        header[name] = {"dtype": "F16", "shape": list(dims),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    rng = np.random.default_rng(0)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name, dims in tensors.items():
            scale = 1.0 if len(dims) == 1 else 1.0 / np.sqrt(dims[-1])
            f.write((rng.standard_normal(dims, np.float32) * scale).astype(np.float16).tobytes())
    return sum(int(np.prod(d)) for d in tensors.values())


def run(bin_dir, engine, feeds, work, threads, iterations):
    args = [os.path.join(bin_dir, "azr-run"), engine, "--iterations", str(iterations),
            "--threads", str(threads)]
    for name, array in feeds.items():
        path = os.path.join(work, name + ".npy")
        np.save(path, array)
        args += ["--input", f"{name}={path}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1)) / 1e3


def generate(bin_dir, engine, prompt, new, threads):
    """Prefill and decode tokens/s of one generation."""
    out = subprocess.run([os.path.join(bin_dir, "azr-run"), engine, "--threads", str(threads),
                          "--prompt-ids", ",".join(map(str, prompt)),
                          "--max-new-tokens", str(new)],
                         check=True, capture_output=True, text=True).stdout
    rates = [float(x) for x in re.findall(r"\(([0-9.]+) tokens/s\)", out)]
    return rates[0], rates[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=sorted(SIZES), default="1b")
    parser.add_argument("--past", type=int, default=128)
    parser.add_argument("--prefill", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--bin", default="build/bin")
    parser.add_argument("--work", default="build/bench-llm")
    parser.add_argument("--peak-gflops", type=float, default=429.0)
    parser.add_argument("--generate", type=int, default=0)
    parser.add_argument("--kv-cache-dtype", default="f32,int8")
    parser.add_argument("--llama-bench")
    parser.add_argument("--gguf")
    parser.add_argument("--quantization", default="none,int4",
                        help="comma-separated: none (f32), fp16, bf16, int4, "
                             "int8_wo, w4a8, nf4 (modes needing calibration "
                             "data are not built here)")
    args = parser.parse_args()
    shape = SIZES[args.size]
    work = os.path.join(args.work, args.size)
    folder = os.path.join(work, "checkpoint")
    params = write_checkpoint(folder, shape)
    bandwidth = float(subprocess.run([os.path.join(args.bin, "membw"), str(args.threads), "1024"],
                                     check=True, capture_output=True, text=True).stdout)

    D, H, G = shape["hidden_size"], shape["num_attention_heads"], shape["num_key_value_heads"]
    hd, L, V = D // H, shape["num_hidden_layers"], shape["vocab_size"]
    rng = np.random.default_rng(1)

    def feeds(tokens, past):
        f = {"input_ids": rng.integers(0, V, (1, tokens)).astype(np.int64),
             "position_ids": np.arange(past, past + tokens, dtype=np.int64)[None]}
        for i in range(L):
            for kind in ("key", "value"):
                f[f"past_{kind}_{i}"] = rng.standard_normal((1, G, past, hd)).astype(np.float32)
        return f

    flops = 2 * params * args.prefill + 4 * L * args.prefill * args.prefill * D
    print(f"{args.size}: {params / 1e9:.2f} B parameters, {args.threads} threads, "
          f"DRAM {bandwidth:.1f} GB/s")
    print(f"{'weights':<9} {'phase':<20} {'ms':>9} {'tokens/s':>9} {'GB/s':>7} "
          f"{'% DRAM':>7} {'GFLOP/s':>8}")
    baseline = None
    for mode in args.quantization.split(","):
        engine = os.path.join(work, f"model-{mode}.azeng")
        build = [os.path.join(args.bin, "azc"), "build", folder, "-o", engine,
                 "--max_batch_size", "1", "--max_input_len", str(args.prefill),
                 "--shape-range", f"past=0..{args.past + args.prefill}"]
        if mode != "none":
            build += ["--quantization", mode]
        subprocess.run(build, check=True, stdout=subprocess.DEVNULL)
        decode = run(args.bin, engine, feeds(1, args.past), work, args.threads, args.iterations)
        prefill = run(args.bin, engine, feeds(args.prefill, 0), work, args.threads,
                      max(2, args.iterations // 3))
        # The embedding table stays f32 in every mode and is gathered, not
        # streamed.
        streamed = os.path.getsize(engine) - V * D * 4
        floor = streamed / (bandwidth * 1e9)
        label = "f32" if mode == "none" else mode
        print(f"{label:<9} {'decode @ past ' + str(args.past):<20} {decode * 1e3:9.1f} "
              f"{1 / decode:9.2f} {streamed / decode / 1e9:7.1f} {100 * floor / decode:6.0f}% "
              f"{2 * params / decode / 1e9:8.1f}")
        print(f"{label:<9} {'prefill ' + str(args.prefill) + ' tokens':<20} {prefill * 1e3:9.1f} "
              f"{args.prefill / prefill:9.1f} {'':>7} {'':>7} {flops / prefill / 1e9:8.1f}")
        print(f"{'':<9} streamed weights {streamed / 2**30:.2f} GiB: decode floor "
              f"{floor * 1e3:.1f} ms/token ({1 / floor:.2f} tokens/s)"
              + (f"; decode {baseline / decode:.2f}x f32" if baseline else ""))
        if mode == "none":
            baseline = decode
        if args.generate:
            # The copied-cache engine takes contexts up to past + prefill.
            prompt = rng.integers(0, V, args.prefill).tolist()
            new = min(args.generate, args.past)
            kinds = [("copied", engine)]
            for kv in args.kv_cache_dtype.split(","):
                paged = os.path.join(work, f"model-{mode}-paged-{kv}.azeng")
                subprocess.run([os.path.join(args.bin, "azc"), "build", folder, "-o", paged,
                                "--max_batch_size", "1", "--max_input_len", str(args.prefill),
                                "--max_output_len", str(new), "--paged_kv_cache",
                                "--kv_cache_dtype", kv]
                               + (["--quantization", mode] if mode != "none" else []),
                               check=True, stdout=subprocess.DEVNULL)
                kinds.append((f"paged {kv}", paged))
            for kind, path in kinds:
                pre, dec = generate(args.bin, path, prompt, new, args.threads)
                print(f"{'':<9} generate {args.prefill}+{new}, cache {kind:<11}: "
                      f"prefill {pre:7.1f} tokens/s, decode {dec:6.2f} tokens/s")
    print(f"prefill at {args.peak_gflops:.0f} GFLOP/s peak: "
          f"{flops / args.peak_gflops / 1e9 * 1e3:.1f} ms")
    if args.llama_bench and args.gguf:
        out = subprocess.run([args.llama_bench, "-m", args.gguf, "-t", str(args.threads),
                              "-p", str(args.prefill), "-n", "32"],
                             check=True, capture_output=True, text=True).stdout
        print("llama.cpp (same shape, its own weights format):\n" + out)
    elif args.llama_bench or args.gguf:
        print("give both --llama-bench and --gguf to run llama.cpp beside azc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
