#!/usr/bin/python3
"""Exports the all-MiniLM-L6-v2 encoder (a BertModel) to ONNX.

  export_minilm.py --model-dir DIR --out OUT.onnx [--opset 17]
                   [--reference DATA.npz --reference-out REF.npy]

DIR is the model folder (config.json, model.safetensors), as unpacked by
fetch_minilm.sh. The graph takes input_ids, attention_mask and
token_type_ids (int64, [batch, sequence], both axes dynamic and named
"batch" and "sequence") and returns last_hidden_state
([batch, sequence, 384], fp32). Sentence embeddings are the mask-aware
mean of last_hidden_state (see compare.py); pooling stays outside the graph.

With --reference, PyTorch's own last_hidden_state for every row of the
inputs in DATA.npz (as written by make_data.py) is saved, stacked, to
REF.npy, so that the exported graph can be checked against the framework.
"""
import argparse
import os

import numpy as np
import torch
from transformers import BertModel

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class LastHiddenState(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids, return_dict=False)[0]


def load(model_dir):
    bert = BertModel.from_pretrained(model_dir, attn_implementation="eager",
                                     add_pooling_layer=False)
    return LastHiddenState(bert.eval()).eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--reference", help="an .npz of inputs (make_data.py)")
    parser.add_argument("--reference-out", help="where PyTorch's outputs go (.npy)")
    args = parser.parse_args()
    if bool(args.reference) != bool(args.reference_out):
        parser.error("--reference and --reference-out go together")

    torch.manual_seed(0)
    model = load(args.model_dir)
    seq = 16
    example = (torch.randint(1000, 2000, (2, seq)), torch.ones(2, seq, dtype=torch.int64),
               torch.zeros(2, seq, dtype=torch.int64))
    example[1][1, 10:] = 0  # a padded row, so that the mask path is traced
    axes = {"batch": 0, "sequence": 1}
    dynamic = {name: {i: n for n, i in axes.items()} for name in INPUTS}
    dynamic["last_hidden_state"] = {0: "batch", 1: "sequence"}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model, example, args.out, opset_version=args.opset,
                          input_names=list(INPUTS), output_names=["last_hidden_state"],
                          dynamic_axes=dynamic, do_constant_folding=True)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 2**20:.1f} MiB, opset {args.opset})")

    if args.reference:
        data = np.load(args.reference)
        outputs = []
        with torch.no_grad():
            for i in range(data["input_ids"].shape[0]):
                feed = [torch.from_numpy(data[name][i:i + 1].astype(np.int64)) for name in INPUTS]
                outputs.append(model(*feed).numpy())
        stacked = np.concatenate(outputs).astype(np.float32)
        np.save(args.reference_out, stacked)
        print(f"wrote {args.reference_out} {stacked.shape}")


if __name__ == "__main__":
    main()
