#!/usr/bin/env python3
"""Convert a llama.cpp GGUF file of a Llama-architecture model into a
Hugging Face-style checkpoint folder that `azc build` and transformers read.

    gguf_to_safetensors.py MODEL.gguf OUTDIR

Writes OUTDIR/model.safetensors (every tensor dequantized to float32),
config.json, generation_config.json, and a tokenizer (tokenizer.json,
tokenizer_config.json, special_tokens_map.json) rebuilt from the GGUF's
tokenizer metadata.

Needs numpy, safetensors and the `gguf` package (pip install gguf), whose
gguf.quants.dequantize handles Q4_0/Q4_1/Q8_0/K-quants in numpy.

Notes on the GGUF layout:
- GGUF lists dimensions innermost first; the numpy arrays the reader
  returns are already in row-major [out, in] order, the same as Hugging
  Face's nn.Linear weights.
- llama.cpp's converter permutes the rows of q_proj and k_proj for its
  rotary layout (interleaved pairs instead of two halves):
      w.reshape(n_head, 2, head_dim // 2, in).swapaxes(1, 2)
  This script applies the inverse, using n_head for Q and n_head_kv for K.
- A GGUF without `output.weight` ties lm_head to the token embedding.
"""
import json
import os
import sys

import numpy as np
import gguf
from safetensors.numpy import save_file


def field_value(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def f32_decimal(v):
    return float(str(np.float32(v)))


def unpermute_rows(w, n_head):
    """Inverse of llama.cpp's permute() on the rows of a Q or K weight."""
    out_dim = w.shape[0]
    head_dim = out_dim // n_head
    return (w.reshape(n_head, head_dim // 2, 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def dequantize(t):
    w = gguf.quants.dequantize(t.data, t.tensor_type)
    w = np.asarray(w, dtype=np.float32)
    # GGUF shape is innermost first.
    shape = tuple(int(d) for d in reversed(list(t.shape)))
    return np.ascontiguousarray(w.reshape(shape))


LAYER_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}


def hf_name(name):
    if name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if name == "output_norm.weight":
        return "model.norm.weight"
    if name == "output.weight":
        return "lm_head.weight"
    if name.startswith("blk."):
        _, layer, rest = name.split(".", 2)
        if rest in LAYER_NAMES:
            return f"model.layers.{int(layer)}.{LAYER_NAMES[rest]}"
    raise SystemExit(f"unknown GGUF tensor {name!r}")


def build_tokenizer(reader, outdir):
    model = field_value(reader, "tokenizer.ggml.model")
    if model != "gpt2":
        raise SystemExit(f"tokenizer model {model!r} is not handled (only byte-level BPE 'gpt2')")
    pre = field_value(reader, "tokenizer.ggml.pre")
    tokens = field_value(reader, "tokenizer.ggml.tokens")
    types = field_value(reader, "tokenizer.ggml.token_type")
    merges = field_value(reader, "tokenizer.ggml.merges")

    # llama.cpp's pre-tokenizer types. 'smollm' (like StarCoder) splits
    # every digit, then applies GPT-2's byte-level regex.
    digit_split = pre in ("smollm", "starcoder", "refact", "codeshell")
    if pre not in ("smollm", "starcoder", "refact", "codeshell", "gpt-2", "default", None):
        print(f"warning: pre-tokenizer {pre!r} approximated by GPT-2's", file=sys.stderr)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False,
                  "trim_offsets": True, "use_regex": True}
    if digit_split:
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, byte_level]}
    else:
        pre_tokenizer = byte_level

    added = []
    for i, (tok, ty) in enumerate(zip(tokens, types)):
        # 3 = CONTROL, 4 = USER_DEFINED
        if ty in (3, 4):
            added.append({"id": i, "content": tok, "single_word": False,
                          "lstrip": False, "rstrip": False,
                          "normalized": ty == 4, "special": ty == 3})
    tok_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True,
                           "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True,
                    "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False,
                  "vocab": {tok: i for i, tok in enumerate(tokens)},
                  "merges": list(merges)},
    }
    with open(os.path.join(outdir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok_json, f, ensure_ascii=False)

    def tok_of(key):
        i = field_value(reader, key)
        return None if i is None else tokens[int(i)]

    bos, eos = tok_of("tokenizer.ggml.bos_token_id"), tok_of("tokenizer.ggml.eos_token_id")
    unk, pad = tok_of("tokenizer.ggml.unknown_token_id"), tok_of("tokenizer.ggml.padding_token_id")
    special = {k: v for k, v in (("bos_token", bos), ("eos_token", eos),
                                 ("unk_token", unk), ("pad_token", pad)) if v is not None}
    special["additional_special_tokens"] = [a["content"] for a in added if a["special"]]
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast",
           "model_max_length": int(field_value(reader, "llama.context_length", 2048)),
           "add_bos_token": bool(field_value(reader, "tokenizer.ggml.add_bos_token", False)),
           "clean_up_tokenization_spaces": False,
           "model_input_names": ["input_ids", "attention_mask"]}
    cfg.update(special)
    tmpl = field_value(reader, "tokenizer.chat_template")
    if tmpl:
        cfg["chat_template"] = tmpl
    with open(os.path.join(outdir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(outdir, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    path, outdir = sys.argv[1], sys.argv[2]
    reader = gguf.GGUFReader(path)
    arch = field_value(reader, "general.architecture")
    if arch != "llama":
        raise SystemExit(f"architecture {arch!r} is not handled (only 'llama')")

    def meta(key, default=None):
        v = field_value(reader, f"{arch}.{key}", default)
        if v is None:
            raise SystemExit(f"GGUF lacks {arch}.{key}")
        return v

    hidden = int(meta("embedding_length"))
    n_layer = int(meta("block_count"))
    n_head = int(meta("attention.head_count"))
    n_kv = int(meta("attention.head_count_kv", n_head))
    head_dim = hidden // n_head
    rot = int(meta("rope.dimension_count", head_dim))
    if rot != head_dim:
        raise SystemExit(f"partial rotary ({rot} of {head_dim}) is not handled")
    if field_value(reader, f"{arch}.rope.scaling.type") not in (None, "none"):
        raise SystemExit("rope scaling is not handled")

    os.makedirs(outdir, exist_ok=True)
    tensors = {}
    for t in reader.tensors:
        name = hf_name(t.name)
        w = dequantize(t)
        if name.endswith("q_proj.weight"):
            w = unpermute_rows(w, n_head)
        elif name.endswith("k_proj.weight"):
            w = unpermute_rows(w, n_kv)
        tensors[name] = w
        print(f"{t.name:28s} {t.tensor_type.name:5s} -> {name} {list(w.shape)}")
    tied = "lm_head.weight" not in tensors
    vocab = tensors["model.embed_tokens.weight"].shape[0]
    save_file(tensors, os.path.join(outdir, "model.safetensors"), metadata={"format": "pt"})

    tokens = field_value(reader, "tokenizer.ggml.tokens")
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": int(meta("feed_forward_length")),
        "num_hidden_layers": n_layer,
        "num_attention_heads": n_head,
        "num_key_value_heads": n_kv,
        "head_dim": head_dim,
        "hidden_act": "silu",
        # GGUF stores these as f32; repr() of the f32 gives back the
        # decimal the original config had (1e-05, not 9.9999997e-06).
        "rms_norm_eps": f32_decimal(meta("attention.layer_norm_rms_epsilon")),
        "rope_theta": f32_decimal(meta("rope.freq_base", 10000.0)),
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "vocab_size": int(field_value(reader, f"{arch}.vocab_size", vocab)),
        "max_position_embeddings": int(meta("context_length")),
        "tie_word_embeddings": tied,
        "bos_token_id": int(field_value(reader, "tokenizer.ggml.bos_token_id", 1)),
        "eos_token_id": int(field_value(reader, "tokenizer.ggml.eos_token_id", 2)),
        "torch_dtype": "float32",
    }
    if tokens is not None and len(tokens) != config["vocab_size"]:
        raise SystemExit(f"{len(tokens)} tokens but vocab_size {config['vocab_size']}")
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(outdir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": config["bos_token_id"],
                   "eos_token_id": config["eos_token_id"]}, f, indent=2)
    if tokens is not None:
        build_tokenizer(reader, outdir)
    print(f"wrote {outdir}: {len(tensors)} tensors, tied={tied}")


if __name__ == "__main__":
    main()
