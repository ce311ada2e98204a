#!/usr/bin/env python3
"""Check a converted checkpoint folder with PyTorch transformers, and an azc
engine built from it against transformers.

    check_transformers.py MODEL_DIR [--samples DIR] [--engine ENGINE --azr-run PATH]
                          [--json OUT]

- Greedy generation from a few prompts (a wrong Q/K row permutation in the
  conversion gives gibberish here).
- With --samples: next-token perplexity of transformers on every sample
  folder (input_ids.npy [1, S], prefill with an empty cache), computed
  the way `azc eval` does: mean negative log-likelihood of token t+1 given
  tokens 0..t, over all positions of all samples, then exp.
- With --engine: runs the engine with azr-run on the first sample and
  reports max |azc - transformers| on the logits and the present KV cache.

Needs torch and transformers (tested with 4.44).
"""
import argparse
import glob
import json
import math
import os
import subprocess
import tempfile

import numpy as np
import torch
from transformers import AutoTokenizer, LlamaForCausalLM

PROMPTS = [
    "The capital of France is",
    "In the beginning God created",
    "Water boils at a temperature of",
]


def nll_sum(logits, ids):
    """Sum of -log p(ids[t+1] | ..t) over positions, and the count."""
    logp = torch.log_softmax(logits.double(), dim=-1)
    tgt = ids[:, 1:]
    picked = logp[:, :-1, :].gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    return float(-picked.sum()), tgt.numel()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--samples")
    ap.add_argument("--engine")
    ap.add_argument("--azr-run", default="azr-run")
    ap.add_argument("--max-new-tokens", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_grad_enabled(False)
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    model = LlamaForCausalLM.from_pretrained(args.model_dir, torch_dtype=torch.float32)
    model.eval()
    report = {"generations": {}}

    for prompt in PROMPTS:
        enc = tok(prompt, return_tensors="pt")
        out = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], max_new_tokens=args.max_new_tokens, do_sample=False,
                             pad_token_id=tok.eos_token_id)
        text = tok.decode(out[0], skip_special_tokens=True)
        report["generations"][prompt] = text
        print(f"greedy: {text!r}")

    if tok.chat_template:
        msgs = [{"role": "user", "content": "What is the capital of France?"}]
        try:
            ids = tok.apply_chat_template(msgs, add_generation_prompt=True,
                                          return_tensors="pt")
        except ImportError:  # no jinja2: SmolLM2's ChatML template by hand
            text = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
                    "trained by Hugging Face<|im_end|>\n<|im_start|>user\n"
                    f"{msgs[0]['content']}<|im_end|>\n<|im_start|>assistant\n")
            ids = tok(text, return_tensors="pt")["input_ids"]
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens, do_sample=False,
                             pad_token_id=tok.eos_token_id)
        text = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        report["chat"] = text
        print(f"chat answer: {text!r}")

    samples = sorted(d for d in glob.glob(os.path.join(args.samples, "*"))
                     if os.path.isdir(d)) if args.samples else []
    if samples:
        total, count = 0.0, 0
        for d in samples:
            ids = torch.from_numpy(np.load(os.path.join(d, "input_ids.npy")))
            logits = model(ids, use_cache=False).logits
            s, n = nll_sum(logits, ids)
            total += s
            count += n
        ppl = math.exp(total / count)
        report["perplexity"] = ppl
        report["perplexity_samples"] = len(samples)
        report["perplexity_positions"] = count
        print(f"transformers perplexity on {len(samples)} samples ({count} positions): {ppl:.4f}")

    if args.engine and samples:
        d = samples[0]
        ids = torch.from_numpy(np.load(os.path.join(d, "input_ids.npy")))
        out = model(ids, use_cache=True)
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [args.azr_run, args.engine, "--output-dir", tmp]
            for f in sorted(glob.glob(os.path.join(d, "*.npy"))):
                cmd += ["--input", f"{os.path.basename(f)[:-4]}={f}"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            azc_logits = np.load(os.path.join(tmp, "logits.npy"))
            ref = out.logits.numpy()
            diff = np.abs(azc_logits - ref)
            kv = 0.0
            pkv = out.past_key_values
            for layer in range(len(pkv)):
                k, v = pkv[layer][0].numpy(), pkv[layer][1].numpy()
                ak = np.load(os.path.join(tmp, f"present_key_{layer}.npy"))
                av = np.load(os.path.join(tmp, f"present_value_{layer}.npy"))
                kv = max(kv, float(np.abs(ak - k).max()), float(np.abs(av - v).max()))
        s_ref, n = nll_sum(out.logits, ids)
        s_azc, _ = nll_sum(torch.from_numpy(azc_logits), ids)
        same_argmax = float((azc_logits.argmax(-1) == ref.argmax(-1)).mean())
        report["engine_check"] = {
            "sample": os.path.basename(d),
            "logits_max_abs_diff": float(diff.max()),
            "logits_mean_abs_diff": float(diff.mean()),
            "logits_max_abs": float(np.abs(ref).max()),
            "present_kv_max_abs_diff": kv,
            "argmax_agreement": same_argmax,
            "nll_transformers": s_ref / n,
            "nll_azc": s_azc / n,
        }
        print(f"azc vs transformers on sample {os.path.basename(d)}: "
              f"logits max|diff| {diff.max():.3e} (mean {diff.mean():.3e}, "
              f"max|logit| {np.abs(ref).max():.2f}), present KV max|diff| {kv:.3e}, "
              f"argmax agreement {same_argmax:.4f}, "
              f"mean NLL {s_ref / n:.6f} vs {s_azc / n:.6f}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
