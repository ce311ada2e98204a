#!/usr/bin/env python3
"""Trains small tokenizers of the three kinds LLM checkpoints ship with the
Hugging Face `tokenizers` library, on this project's own docs, and checks
that libazr_text (through azr-tokenize) encodes and decodes a set of texts
exactly as `tokenizers` does:

  gpt2     byte-level BPE with GPT-2's pre-tokenizer regex
  llama3   a Split with Llama 3's regex, then byte-level BPE; <|begin_of_text|>
           added by the post-processor
  llama2   SentencePiece-style BPE: spaces as U+2581, a prepended one, byte
           fallback for characters outside the vocabulary, <s> added

  compare_tokenizers.py --bin DIR --work DIR --corpus FILE [FILE...]
"""
import argparse
import json
import os
import subprocess
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

TEXTS = [
    "Hello, world!",
    "  leading spaces and trailing   ",
    "It's 2026 and we've got 1234567 tokens; they'll do.",
    "Ünïcödé: naïve café, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어",
    "emoji 🙂🚀 and symbols ∑∫√ — “quotes”",
    "tabs\tand\nnewlines\n\n  indented\r\nwindows",
    "code: for (int i = 0; i < n; ++i) { x[i] += y[i]; }",
    "<|endoftext|> special in the middle <|endoftext|>",
    "",
    "a",
]


def train(kind, files):
    if kind == "llama2":
        tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>",
                                   fuse_unk=True))
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                               normalizers.Replace(" ", "\u2581")])
        tok.decoder = decoders.Sequence([
            decoders.Replace("\u2581", " "), decoders.ByteFallback(),
            decoders.Fuse(), decoders.Strip(" ", 1, 0)])
        specials = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
        trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=specials)
        tok.train(files, trainer)
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
        return tok
    tok = Tokenizer(models.BPE())
    if kind == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        specials = ["<|endoftext|>"]
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), "isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        specials = ["<|begin_of_text|>", "<|endoftext|>"]
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train(files, trainer)
    if kind == "llama3":
        tok.post_processor = processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])
    return tok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--corpus", nargs="+", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    texts = list(TEXTS)
    for path in args.corpus:  # the corpus itself, line by line, too
        with open(path, encoding="utf-8") as f:
            texts += [line.rstrip("\n") for line in f][:200]
    failed = False
    for kind in ("gpt2", "llama3", "llama2"):
        tok = train(kind, args.corpus)
        path = os.path.join(args.work, kind + ".json")
        tok.save(path)
        for special in (False, True):
            flags = ["--special"] if special else []
            run = subprocess.run([os.path.join(args.bin, "azr-tokenize"), path] + flags,
                                 input="".join(json.dumps(t) + "\n" for t in texts),
                                 capture_output=True, text=True, check=True)
            got = run.stdout.splitlines()
            bad = 0
            for text, line in zip(texts, got):
                want = tok.encode(text, add_special_tokens=special).ids
                if [int(x) for x in line.split()] != want:
                    bad += 1
                    if bad <= 3:
                        print(f"  {kind} encode {text!r}:\n    azc {line}\n    ref {want}")
            print(f"{kind} encode{' +special' if special else ''}: "
                  f"{len(texts) - bad}/{len(texts)} texts equal {'ok' if not bad else 'MISMATCH'}")
            failed |= bad > 0 or len(got) != len(texts)
        ids = [tok.encode(t).ids for t in texts]
        run = subprocess.run([os.path.join(args.bin, "azr-tokenize"), path, "--decode",
                              "--skip-special"],
                             input="".join(" ".join(map(str, i)) + "\n" for i in ids),
                             capture_output=True, text=True, check=True)
        bad = 0
        for i, line in zip(ids, run.stdout.splitlines()):
            want = tok.decode(i, skip_special_tokens=True)
            if json.loads(line) != want:
                bad += 1
                if bad <= 3:
                    print(f"  {kind} decode {i}:\n    azc {line}\n    ref {json.dumps(want)}")
        print(f"{kind} decode: {len(ids) - bad}/{len(ids)} texts equal {'ok' if not bad else 'MISMATCH'}")
        failed |= bad > 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
