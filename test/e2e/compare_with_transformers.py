#!/usr/bin/env python3
"""Builds a small decoder checkpoint with random weights in PyTorch
transformers, compiles the checkpoint folder with azc (one dynamic engine),
and checks it against transformers:

  1. prefill: logits and the KV cache (present_*) for a prompt, empty cache;
  2. a decode step: one token after the prompt's cache;
  3. greedy generation: NEW tokens, the engine fed its own cache each step,
     must equal transformers' generate(do_sample=False) token for token.

  compare_with_transformers.py FAMILY --bin DIR --work DIR [--new N]
                               [--dtype f32|f16|bf16] [--shard-size SIZE]
                               [--text-corpus FILE ...]
                               [--paged f32|fp16|bf16|int8|fp8 ...]
  FAMILY: llama (grouped-query attention), qwen2 (q/k/v biases, tied
          embeddings), llama3 (rope_scaling llama3), gpt2

With --text-corpus, a byte-level BPE tokenizer is trained on the files
(the Hugging Face tokenizers library) and saved in the checkpoint folder,
the model's vocabulary is the tokenizer's, and a fourth check runs
`azr-run ENGINE --prompt TEXT`: the engine carries the tokenizer, and the
text it generates must equal transformers' greedy continuation decoded by
the same tokenizer.

--dtype stores the checkpoint in half precision (the reference model then
runs in f32 on the same rounded weights, as azc does); --shard-size splits
it into shards with an index (save_pretrained's max_shard_size).

Logits are compared as |azc - ref| <= 1e-4 + 1e-4 |ref|: fp32 throughout,
with matmul sums in a different order (a few ulps over K <= 128 terms) and
softmax/norm reductions likewise.

--paged also builds the checkpoint with --paged_kv_cache (tokens per block
4, so a prompt spans blocks) for each KV storage type given. A paged
engine's cache lives in the runtime, so it is checked through what the
runtime does with it: prefill logits for a batch of two (azr-run gives a
fresh cache), and greedy generation with `azr-run --prompt-ids`, which
reserves, binds and commits the cache each step. An f32 cache must match
like the unpaged engine (logits to 1e-4, greedy tokens all equal). A
quantized cache stores each key and value rounded, so its logits are held
to a relative RMS error derived from the storage's rounding (PAGED_BOUNDS)
and greedy generation must agree at least on the first token.
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np
import torch
import transformers

CONFIGS = {
    "llama": lambda: transformers.LlamaConfig(
        vocab_size=97, hidden_size=64, intermediate_size=96,
        num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=2,
        max_position_embeddings=128, rope_theta=10000.0, rms_norm_eps=1e-5),
    "llama3": lambda: transformers.LlamaConfig(
        vocab_size=97, hidden_size=64, intermediate_size=96,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=128, rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 8.0,
                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 16}),
    "qwen2": lambda: transformers.Qwen2Config(
        vocab_size=97, hidden_size=64, intermediate_size=96,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=128, tie_word_embeddings=True,
        use_sliding_window=False),
    "gpt2": lambda: transformers.GPT2Config(
        vocab_size=97, n_embd=64, n_layer=2, n_head=4, n_positions=128),
}


def run_engine(args, engine, work, feeds):
    os.makedirs(work, exist_ok=True)
    cmd = [os.path.join(args.bin, "azr-run"), engine, "--output-dir", work]
    for name, array in feeds.items():
        path = os.path.join(work, name + ".npy")
        np.save(path, array)
        cmd += ["--input", f"{name}={path}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return lambda name: np.load(os.path.join(work, name + ".npy"))


# Relative RMS error of logits allowed per cache storage: four times the
# relative half-step of one stored element (fp16 2^-11, bf16 2^-8, int8
# 1/254 of the token's largest |x| in the head, fp8 E4M3 2^-4). Through two
# layers of softmax-weighted sums the llama fixture measured 0.4x to 1.6x
# that step (3.2e-4 fp16, 2.4e-3 bf16, 6.2e-3 int8, 2.5e-2 fp8).
PAGED_BOUNDS = {"fp16": 2e-3, "bf16": 1.6e-2, "int8": 1.6e-2, "fp8": 0.25}


def run_engine_status(args, engine, work, feeds):
    """azr-run's error message for feeds it must refuse ('' if it ran)."""
    os.makedirs(work, exist_ok=True)
    cmd = [os.path.join(args.bin, "azr-run"), engine]
    for name, array in feeds.items():
        path = os.path.join(work, name + ".npy")
        np.save(path, array)
        cmd += ["--input", f"{name}={path}"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    return run.stderr if run.returncode else ""


def check(name, got, want, failed):
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    ok = got.shape == want.shape and bool(np.all(err <= 1e-4 + 1e-4 * np.abs(want)))
    print(f"{name}: max |azc - transformers| = {err.max():.3g} {'ok' if ok else 'MISMATCH'}")
    failed.append(not ok)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("family", choices=sorted(CONFIGS))
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--new", type=int, default=8)
    parser.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    parser.add_argument("--shard-size")
    parser.add_argument("--text-corpus", nargs="+")
    parser.add_argument("--paged", nargs="+", default=[],
                        choices=["f32", "fp16", "bf16", "int8", "fp8"])
    args = parser.parse_args()

    torch.manual_seed(0)
    config = CONFIGS[args.family]()
    tokenizer = None
    if args.text_corpus:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.train(args.text_corpus, trainers.BpeTrainer(
            vocab_size=400, special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        config.vocab_size = tokenizer.get_vocab_size()
        config.eos_token_id = tokenizer.token_to_id("<|endoftext|>")
    model_class = {"gpt2": transformers.GPT2LMHeadModel,
                   "qwen2": transformers.Qwen2ForCausalLM}.get(
        args.family, transformers.LlamaForCausalLM)
    model = model_class(config).eval()
    # Default initialization makes nearly uniform logits; widen the weights so
    # argmax is decided by margins far above rounding.
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(4.0 if p.dim() > 1 else 1.0)
    folder = os.path.join(args.work, "checkpoint")
    save = {"safe_serialization": True}
    if args.shard_size:
        save["max_shard_size"] = args.shard_size
    if args.dtype != "f32":
        half = {"f16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
        model.to(half).save_pretrained(folder, **save)
        # The same rounded weights, computed in f32 by a fresh model (whose
        # rotary buffers were never rounded).
        rounded = {k: v.float() for k, v in model.state_dict().items()}
        model = model_class(config).eval()
        model.load_state_dict(rounded)
    else:
        model.save_pretrained(folder, **save)

    if tokenizer:
        tokenizer.save(os.path.join(folder, "tokenizer.json"))
    engine = os.path.join(args.work, "model.azeng")
    subprocess.run([os.path.join(args.bin, "azc"), "build", folder, "-o", engine,
                    "--max_batch_size", "2", "--max_input_len", "16",
                    "--shape-range", "past=0..40"], check=True, stdout=subprocess.DEVNULL)

    layers = config.num_hidden_layers
    kv_heads = getattr(config, "num_key_value_heads", config.num_attention_heads)
    head_dim = config.hidden_size // config.num_attention_heads
    names = [f"{kind}_{i}" for i in range(layers) for kind in ("key", "value")]
    failed = []

    # 1. Prefill, batch 2, 5 tokens, empty cache.
    ids = torch.randint(0, config.vocab_size, (2, 5))
    with torch.no_grad():
        ref = model(ids, use_cache=True)
    empty = np.zeros((2, kv_heads, 0, head_dim), np.float32)
    positions = np.tile(np.arange(5, dtype=np.int64), (2, 1))
    feeds = {"input_ids": ids.numpy(), "position_ids": positions}
    feeds.update({f"past_{n}": empty for n in names})
    out = run_engine(args, engine, os.path.join(args.work, "prefill"), feeds)
    check("prefill logits", out("logits"), ref.logits.numpy(), failed)
    cache = ref.past_key_values
    for i in range(layers):
        k, v = cache[i] if isinstance(cache, tuple) else (cache.key_cache[i], cache.value_cache[i])
        check(f"present_key_{i}", out(f"present_key_{i}"), k.numpy(), failed)
        check(f"present_value_{i}", out(f"present_value_{i}"), v.numpy(), failed)

    # 2. One decode step after the prompt, from the engine's own cache.
    step = torch.randint(0, config.vocab_size, (2, 1))
    with torch.no_grad():
        ref_step = model(step, past_key_values=ref.past_key_values, use_cache=True)
    feeds = {"input_ids": step.numpy(),
             "position_ids": np.full((2, 1), 5, np.int64)}
    feeds.update({f"past_{n}": out(f"present_{n}") for n in names})
    out2 = run_engine(args, engine, os.path.join(args.work, "decode"), feeds)
    check("decode logits", out2("logits"), ref_step.logits.numpy(), failed)

    # 3. Greedy generation, batch 1.
    prompt = torch.randint(0, config.vocab_size, (1, 6))
    model.generation_config.eos_token_id = None  # always NEW tokens
    with torch.no_grad():
        want = model.generate(prompt, attention_mask=torch.ones_like(prompt),
                              max_new_tokens=args.new, do_sample=False,
                              pad_token_id=0)[0, prompt.shape[1]:].tolist()
    tokens, got, position = prompt.numpy(), [], 0
    past = {f"past_{n}": np.zeros((1, kv_heads, 0, head_dim), np.float32) for n in names}
    for t in range(args.new):
        where = np.arange(position, position + tokens.shape[1], dtype=np.int64)[None]
        out = run_engine(args, engine, os.path.join(args.work, f"gen{t}"),
                         dict(past, input_ids=tokens, position_ids=where))
        next_token = int(np.argmax(out("logits")[0, -1]))
        got.append(next_token)
        position += tokens.shape[1]
        tokens = np.array([[next_token]], np.int64)
        past = {f"past_{n}": out(f"present_{n}") for n in names}
    same = got == want
    print(f"greedy {args.new} tokens: azc {got} transformers {want} "
          f"{'ok' if same else 'MISMATCH'}")
    failed.append(not same)

    # 4. Paged KV caches: prefill logits and greedy generation.
    for kv_dtype in args.paged:
        paged = os.path.join(args.work, f"paged-{kv_dtype}.azeng")
        subprocess.run([os.path.join(args.bin, "azc"), "build", folder, "-o", paged,
                        "--max_batch_size", "2", "--max_input_len", "16",
                        "--max_output_len", "24", "--paged_kv_cache",
                        "--tokens_per_block", "4", "--kv_cache_dtype", kv_dtype],
                       check=True, stdout=subprocess.DEVNULL)
        out = run_engine(args, paged, os.path.join(args.work, f"paged-{kv_dtype}"),
                         {"input_ids": ids.numpy(), "position_ids": positions})
        want_logits = ref.logits.numpy()
        if kv_dtype == "f32":
            check(f"paged f32 prefill logits", out("logits"), want_logits, failed)
        else:
            diff = out("logits").astype(np.float64) - want_logits
            rel = float(np.sqrt(np.mean(diff ** 2) / np.mean(want_logits.astype(np.float64) ** 2)))
            ok = rel <= PAGED_BOUNDS[kv_dtype]
            print(f"paged {kv_dtype} prefill logits: relative RMS error {rel:.3g} "
                  f"(bound {PAGED_BOUNDS[kv_dtype]:g}) {'ok' if ok else 'MISMATCH'}")
            failed.append(not ok)
        run = subprocess.run([os.path.join(args.bin, "azr-run"), paged, "--prompt-ids",
                              ",".join(map(str, prompt[0].tolist())),
                              "--max-new-tokens", str(args.new)],
                             capture_output=True, check=True, text=True)
        line = next(l for l in run.stdout.splitlines() if l.startswith("tokens:"))
        paged_tokens = [int(t) for t in line.split()[1:]]
        agree = next((i for i, (a, b) in enumerate(zip(paged_tokens, want)) if a != b),
                     min(len(paged_tokens), len(want)))
        ok = paged_tokens == want if kv_dtype == "f32" else agree >= 1
        print(f"paged {kv_dtype} greedy: {agree} of {len(want)} tokens agree "
              f"{'ok' if ok else 'MISMATCH'}")
        failed.append(not ok)

        # Batches over the paged cache: prompts of different lengths share
        # each run (each row its own past length), and greedy samples of one
        # prompt share its cache blocks.
        if kv_dtype != "f32":
            continue
        batch = [torch.randint(0, config.vocab_size, (1, n)) for n in (3, 9, 14)]
        wants = []
        for p in batch:
            with torch.no_grad():
                wants.append(model.generate(p, attention_mask=torch.ones_like(p),
                                            max_new_tokens=4, do_sample=False,
                                            pad_token_id=0)[0, p.shape[1]:].tolist())
        cmd = [os.path.join(args.bin, "azr-run"), paged, "--max-new-tokens", "4"]
        for p in batch:
            cmd += ["--prompt-ids", ",".join(map(str, p[0].tolist()))]
        run = subprocess.run(cmd, capture_output=True, check=True, text=True)
        got = [[int(t) for t in l.split()[1:]] for l in run.stdout.splitlines()
               if l.startswith("tokens[")]
        ok = got == wants
        print(f"paged batch of 3 prompts (3, 9, 14 tokens): azc {got} transformers "
              f"{wants} {'ok' if ok else 'MISMATCH'}")
        failed.append(not ok)
        run = subprocess.run([os.path.join(args.bin, "azr-run"), paged, "--max-new-tokens", "4",
                              "--prompt-ids", ",".join(map(str, batch[2][0].tolist())),
                              "--samples", "4"], capture_output=True, check=True, text=True)
        got = [[int(t) for t in l.split()[1:]] for l in run.stdout.splitlines()
               if l.startswith("tokens[")]
        peak = int(re.search(r"kv cache: (\d+) blocks", run.stdout).group(1))
        # 14 + 4 tokens are 5 blocks of 4 for one sequence; four samples
        # share the prompt's three full blocks and own two each.
        ok = got == [wants[2]] * 4 and peak == 3 + 4 * 2
        print(f"paged 4 samples of one prompt: {peak} blocks at most (20 unshared) "
              f"{'ok' if ok else 'MISMATCH'}")
        failed.append(not ok)

        # A token budget of 16 a run (--max_num_tokens): the batch's prompts
        # no longer fit two to a prefill and are split, with the same
        # tokens; a run of 2 x 16 tokens is refused.
        budget = os.path.join(args.work, "paged-budget.azeng")
        subprocess.run([os.path.join(args.bin, "azc"), "build", folder, "-o", budget,
                        "--max_batch_size", "2", "--max_input_len", "16",
                        "--max_output_len", "24", "--paged_kv_cache", "--tokens_per_block", "4",
                        "--max_num_tokens", "16"], check=True, stdout=subprocess.DEVNULL)
        cmd[1] = budget
        run = subprocess.run(cmd, capture_output=True, check=True, text=True)
        got = [[int(t) for t in l.split()[1:]] for l in run.stdout.splitlines()
               if l.startswith("tokens[")]
        wide = run_engine_status(args, budget, os.path.join(args.work, "budget"),
                                 {"input_ids": np.zeros((2, 16), np.int64),
                                  "position_ids": np.tile(np.arange(16), (2, 1))})
        ok = got == wants and "holds 32 tokens; the engine takes at most 16" in wide
        print(f"paged batch within 16 tokens a run: {'ok' if ok else 'MISMATCH ' + wide}")
        failed.append(not ok)

    # 5. Text in, text out, with the tokenizer the engine carries.
    if tokenizer:
        text = "The engine runs"
        ids = torch.tensor([tokenizer.encode(text).ids])
        with torch.no_grad():
            new = model.generate(ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=args.new, do_sample=False,
                                 eos_token_id=config.eos_token_id,
                                 pad_token_id=config.eos_token_id)[0, ids.shape[1]:]
        want_text = text + tokenizer.decode(new.tolist(), skip_special_tokens=True)
        run = subprocess.run([os.path.join(args.bin, "azr-run"), engine, "--prompt", text,
                              "--max-new-tokens", str(args.new)],
                             capture_output=True, check=True)
        stdout = run.stdout.decode("utf-8")  # valid UTF-8, or this fails
        got_text = stdout.split("\nprefill:")[0]
        same = got_text == want_text
        print(f"prompt {text!r}: azc {got_text!r} transformers {want_text!r} "
              f"{'ok' if same else 'MISMATCH'}")
        print("\n".join(line for line in stdout.splitlines()
                        if line.startswith(("prefill:", "decode:"))))
        failed.append(not same)

        # 6. Perplexity of a text file: 16-token windows, stride 8, each
        # token scored once with the most context (azc eval --perplexity),
        # against the same windows scored by transformers.
        corpus = os.path.join(args.work, "corpus.txt")
        with open(args.text_corpus[0], encoding="utf-8") as f:
            text = f.read()[:2000]
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(text)
        ids = tokenizer.encode(text).ids
        total, count, next_id, begin = 0.0, 0, 1, 0
        while True:
            end = min(begin + 16, len(ids))
            first = max(1, next_id - begin)
            if first < end - begin:
                with torch.no_grad():
                    lp = torch.log_softmax(model(torch.tensor([ids[begin:end]])).logits[0].double(), -1)
                for t in range(first, end - begin):
                    total += float(lp[t - 1, ids[begin + t]])
                count += end - begin - first
            next_id = end
            if end == len(ids):
                break
            begin += 8
        want_ppl = float(np.exp(-total / count))
        engines = [("", engine)] + [(" (paged f32)", os.path.join(args.work, "paged-f32.azeng"))
                                    for _ in ["f32"] if "f32" in args.paged]
        for label, path in engines:
            run = subprocess.run([os.path.join(args.bin, "azc"), "eval", path, "--perplexity",
                                  corpus, "--window", "16", "--stride", "8"],
                                 capture_output=True, check=True, text=True)
            line = next(l for l in run.stdout.splitlines() if l.startswith("perplexity"))
            got_count = int(line.split()[2])
            got_ppl = float(line.split(":")[1].split()[0])
            # Logits agree to ~1e-6 absolute: the mean log-likelihood, and so
            # the perplexity, to ~1e-6 relative; 1e-4 leaves room.
            ok = got_count == count and abs(got_ppl - want_ppl) <= 1e-4 * want_ppl
            print(f"perplexity{label} over {count} tokens: azc {got_ppl:.6f} "
                  f"transformers {want_ppl:.6f} {'ok' if ok else 'MISMATCH'}")
            failed.append(not ok)
    sys.exit(1 if any(failed) else 0)


if __name__ == "__main__":
    main()
