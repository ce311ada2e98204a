#!/usr/bin/python3
"""Exports a BERT-base-shaped encoder (12 layers, hidden 768, 12 heads,
FFN 3072, vocab 30522; random weights, seed 0) to ONNX with PyTorch, using
the encoder defined in test/fixtures/export_torch_models.py.
  export_bert_base.py OUT.onnx SEQUENCE"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "fixtures"))
import torch  # noqa: E402
from export_torch_models import BertEncoder  # noqa: E402

out, seq = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
model = BertEncoder(vocab=30522, hidden=768, max_pos=512, layers=12, heads=12,
                    ffn=3072).eval()
ids = torch.randint(0, 30522, (1, seq))
mask = torch.ones(1, seq, dtype=torch.int64)
with torch.no_grad():
    torch.onnx.export(model, (ids, mask), out, opset_version=14,
                      input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"], do_constant_folding=True)
