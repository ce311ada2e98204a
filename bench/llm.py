#!/usr/bin/env python3
"""Decode and prefill speed of a Llama-shaped decoder engine (random
weights), against the memory-bandwidth limit measured in the same run.

  bench/llm.py [--size 1b|tiny] [--past 128] [--prefill 64] [--threads 2]
               [--iterations 10] [--work build/bench-llm] [--llama-bench PATH]
               [--quantization none,int4,...] [--generate N]
               [--kv-cache-dtype f32,fp16,int8,...] [--rounds 3] [--match-llama]

The checkpoint (config.json + model.safetensors, f16) is written here with
numpy and built with `azc build FOLDER`, as a user's checkpoint would be:
one dynamic engine (batch 1, sequence 1..prefill, past 0..past+prefill)
per --quantization mode (none: f32 weights; fp16, bf16, int4, int8_wo,
w4a8, nf4: azc's weight-only modes). A decode step at `past` cached
tokens must stream every weight once (but for the embedding table, of
which it gathers one row), so
its floor is those bytes / DRAM bandwidth; prefill is compute-bound and
is reported as GFLOP/s (2 x parameters x tokens, plus attention).

With --llama-bench PATH (llama.cpp's llama-bench; llama-quantize beside
it) llama.cpp runs in the same invocation on the same weights: the
checkpoint is written once more as an F16 GGUF (the `gguf` package) and
quantized to the type nearest each azc mode (bf16 BF16, int8_wo Q8_0,
int4 Q4_1, nf4 IQ4_NL, w4a8 Q4_0), and `llama-bench -p PREFILL -n 32`
times prompt processing and generation, printed beside azc's figures as
ratios. --gguf FILE benchmarks that file instead. azc and llama.cpp take
turns (--rounds, each keeping its best round: the shared cores here are
quiet at some moments and busy at others, which moves a decode by half).
--match-llama builds azc's int4, w4a8 and int8_wo engines with the
storage of the llama.cpp type they face (f16 scales; Q4_0 and Q8_0
symmetric), so both read the same bytes a weight.

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


def save_feeds(feeds, work, prefix):
    """Writes each input as PREFIX_NAME.npy; returns azr-run's --input arguments."""
    args = []
    for name, array in feeds.items():
        path = os.path.join(work, f"{prefix}_{name}.npy")
        np.save(path, array)
        args += ["--input", f"{name}={path}"]
    return args


def run(bin_dir, engine, inputs, threads, iterations):
    """Seconds of the fastest of `iterations` runs on `inputs` (save_feeds)."""
    args = [os.path.join(bin_dir, "azr-run"), engine, "--iterations", str(iterations),
            "--threads", str(threads)] + inputs
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"min ([0-9.]+) ms", out).group(1)) / 1e3


LLAMA_TYPES = {"fp16": "F16", "bf16": "BF16", "int8_wo": "Q8_0", "int4": "Q4_1",
               "nf4": "IQ4_NL", "w4a8": "Q4_0"}
# azc build flags that store a mode's weights as its llama.cpp type does
# (blocks of 32; Q8_0 and Q4_0 symmetric with an f16 scale, Q4_1 an f16
# scale and minimum): --match-llama.
LLAMA_STORAGE = {"int8_wo": ["--symmetric", "--scale-dtype", "f16"],
                 "int4": ["--scale-dtype", "f16"],
                 "w4a8": ["--symmetric", "--scale-dtype", "f16"]}


def write_gguf(folder, shape, path):
    """The checkpoint's f16 tensors as a llama.cpp GGUF with a placeholder
    vocabulary (byte tokens and numbered pieces): the same weights and
    shape, for speed only (q/k are not permuted to llama.cpp's rotary
    layout, so its outputs differ)."""
    import gguf
    from safetensors.numpy import load_file
    tensors = load_file(os.path.join(folder, "model.safetensors"))
    D, H, G = shape["hidden_size"], shape["num_attention_heads"], shape["num_key_value_heads"]
    V = shape["vocab_size"]
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(4096)
    w.add_embedding_length(D)
    w.add_block_count(shape["num_hidden_layers"])
    w.add_feed_forward_length(shape["intermediate_size"])
    w.add_head_count(H)
    w.add_head_count_kv(G)
    w.add_rope_dimension_count(D // H)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    tokens += [f"\u2581t{i}" for i in range(V - len(tokens))]
    types += [1] * (V - len(types))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * V)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    names = {"model.embed_tokens.weight": "token_embd.weight",
             "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}
    parts = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for name, array in tensors.items():
        if name not in names:
            layer, rest = name.split(".", 3)[2], name.split(".", 3)[3]
            names[name] = f"blk.{layer}.{parts[rest.rsplit('.', 1)[0]]}.weight"
        # llama.cpp keeps norms in f32.
        w.add_tensor(names[name], array.astype(np.float32) if array.ndim == 1 else array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_bench(binary, gguf_path, threads, prefill):
    """llama.cpp's prompt and generation tokens/s for one GGUF."""
    out = subprocess.run([binary, "-m", gguf_path, "-t", str(threads), "-p", str(prefill),
                          "-n", "32", "-r", "3", "-o", "json"],
                         check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    prompt = next(r["avg_ts"] for r in rows if r["n_prompt"] > 0)
    gen = next(r["avg_ts"] for r in rows if r["n_gen"] > 0)
    return prompt, gen


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
    parser.add_argument("--peak-gflops", type=float, default=0.0,
                        help="fp32 FMA peak (default: measured by bench/peak.cpp)")
    parser.add_argument("--generate", type=int, default=0)
    parser.add_argument("--kv-cache-dtype", default="f32,int8")
    parser.add_argument("--llama-bench")
    parser.add_argument("--gguf")
    parser.add_argument("--rounds", type=int, default=3,
                        help="azc and llama.cpp take turns this many times "
                             "per mode; each keeps its best")
    parser.add_argument("--match-llama", action="store_true",
                        help="store azc's int4, w4a8 and int8_wo weights as "
                             "llama.cpp's Q4_1, Q4_0 and Q8_0 do")
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
    if not args.peak_gflops:
        peak = subprocess.run([os.path.join(args.bin, "peak"), str(args.threads)], check=True,
                              capture_output=True, text=True).stdout
        args.peak_gflops = float(re.search(r"fp32 GFLOP/s ([0-9.]+)", peak).group(1))

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

    # The same inputs for every engine and round, written once.
    decode_inputs = save_feeds(feeds(1, args.past), work, "decode")
    prefill_inputs = save_feeds(feeds(args.prefill, 0), work, "prefill")
    flops = 2 * params * args.prefill + 4 * L * args.prefill * args.prefill * D
    print(f"{args.size}: {params / 1e9:.2f} B parameters, {args.threads} threads, "
          f"DRAM {bandwidth:.1f} GB/s")
    print(f"{'weights':<9} {'phase':<20} {'ms':>9} {'tokens/s':>9} {'GB/s':>7} "
          f"{'% DRAM':>7} {'GFLOP/s':>8}")
    modes = args.quantization.split(",")
    storage = {m: LLAMA_STORAGE.get(m, []) if args.match_llama else [] for m in modes}
    # The llama.cpp files, written before any timing.
    ggufs = {}
    if args.llama_bench:
        if args.gguf:
            ggufs["-"] = (os.path.basename(args.gguf), args.gguf)
        else:
            f16 = os.path.join(work, "model-F16.gguf")
            if not os.path.exists(f16):
                write_gguf(folder, shape, f16)
            quantize = os.path.join(os.path.dirname(args.llama_bench), "llama-quantize")
            for mode in modes:
                kind = LLAMA_TYPES.get(mode)
                if not kind:
                    continue
                path = os.path.join(work, f"model-{kind}.gguf")
                if not os.path.exists(path):
                    subprocess.run([quantize, f16, path, kind], check=True,
                                   capture_output=True)
                ggufs[mode] = (kind, path)
    llama_speed = {}

    def llama_round(mode):
        if mode not in ggufs:
            return
        prompt_ts, gen_ts = llama_bench(args.llama_bench, ggufs[mode][1], args.threads,
                                        args.prefill)
        best = llama_speed.get(mode, (0.0, 0.0))
        llama_speed[mode] = (max(best[0], prompt_ts), max(best[1], gen_ts))

    if "-" in ggufs:
        for _ in range(args.rounds):
            llama_round("-")
    baseline = None
    azc_speed = {}
    for mode in modes:
        engine = os.path.join(work, f"model-{mode}.azeng")
        build = [os.path.join(args.bin, "azc"), "build", folder, "-o", engine,
                 "--max_batch_size", "1", "--max_input_len", str(args.prefill),
                 "--shape-range", f"past=0..{args.past + args.prefill}"]
        if mode != "none":
            build += ["--quantization", mode] + storage[mode]
        subprocess.run(build, check=True, stdout=subprocess.DEVNULL)
        # Shared cores are quiet at some moments and busy at others: azc and
        # llama.cpp take turns, and each keeps its best round.
        decode = prefill = float("inf")
        for _ in range(args.rounds):
            decode = min(decode, run(args.bin, engine, decode_inputs, args.threads,
                                     args.iterations))
            prefill = min(prefill, run(args.bin, engine, prefill_inputs, args.threads,
                                       max(2, args.iterations // 3)))
            llama_round(mode)
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
        azc_speed[mode] = (args.prefill / prefill, 1 / decode)
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
                               + (["--quantization", mode] + storage[mode]
                                  if mode != "none" else []),
                               check=True, stdout=subprocess.DEVNULL)
                kinds.append((f"paged {kv}", paged))
            for kind, path in kinds:
                pre, dec = generate(args.bin, path, prompt, new, args.threads)
                print(f"{'':<9} generate {args.prefill}+{new}, cache {kind:<11}: "
                      f"prefill {pre:7.1f} tokens/s, decode {dec:6.2f} tokens/s")
    print(f"prefill at the measured fp32 peak ({args.peak_gflops:.0f} GFLOP/s): "
          f"{flops / args.peak_gflops / 1e9 * 1e3:.1f} ms")
    if args.llama_bench:
        print(f"llama.cpp beside azc ({args.threads} threads; llama-bench -p {args.prefill} "
              f"-n 32 -r 3; azc: prefill {args.prefill} tokens, decode at past {args.past}; "
              f"best of {args.rounds} alternating rounds each"
              + ("; azc storing weights as llama.cpp does" if args.match_llama else "") + "):")
        print(f"{'azc mode':<9} {'llama.cpp':<10} {'GiB':>5} {'prefill t/s':>12} "
              f"{'azc':>7} {'ratio':>6} {'decode t/s':>11} {'azc':>7} {'ratio':>6}")
        for mode, (kind, path) in ggufs.items():
            prompt_ts, gen_ts = llama_speed[mode]
            ours = azc_speed.get(mode)
            cells = (f"{ours[0]:7.1f} {ours[0] / prompt_ts:6.2f}x" if ours else f"{'':>7} {'':>7}",
                     f"{ours[1]:7.2f} {ours[1] / gen_ts:6.2f}x" if ours else "")
            print(f"{mode:<9} {kind:<10} {os.path.getsize(path) / 2**30:5.2f} "
                  f"{prompt_ts:12.1f} {cells[0]} {gen_ts:11.2f} {cells[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
