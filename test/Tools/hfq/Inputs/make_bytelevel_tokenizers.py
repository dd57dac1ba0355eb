"""Trains small byte-level BPE tokenizers with Hugging Face `tokenizers`, set
up like GPT-2, Llama 3 and Qwen2 (their pre-tokenizers, split regexes,
normalizers, decoders and BOS templates), to check hfq's byte-level BPE
against the reference implementation.

usage: make_bytelevel_tokenizers.py OUTDIR TRAINING_FILE...
writes OUTDIR/{gpt2,llama3,qwen2}/tokenizer.json
"""
import os
import sys

from tokenizers import (Regex, Tokenizer, decoders, models, normalizers,
                        pre_tokenizers, processors, trainers)

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

out, files = sys.argv[1], sys.argv[2:]


def train(name, tok, specials):
    trainer = trainers.BpeTrainer(
        vocab_size=3000, special_tokens=specials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.decoder = decoders.ByteLevel()
    tok.train(files, trainer)
    os.makedirs(os.path.join(out, name), exist_ok=True)
    tok.save(os.path.join(out, name, "tokenizer.json"))


gpt2 = Tokenizer(models.BPE())
gpt2.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
train("gpt2", gpt2, ["<|endoftext|>"])

llama3 = Tokenizer(models.BPE(ignore_merges=True))
llama3.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
llama3.post_processor = processors.TemplateProcessing(
    single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", 0)])
train("llama3", llama3, ["<|begin_of_text|>", "<|end_of_text|>"])

qwen2 = Tokenizer(models.BPE())
qwen2.normalizer = normalizers.NFC()
qwen2.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
train("qwen2", qwen2, ["<|endoftext|>"])
