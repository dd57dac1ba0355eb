"""Writes a small random checkpoint with transformers' own model classes, to
check hfq's importer on architectures for which no real checkpoint is
available offline.

usage: make_tiny_model.py OUT_DIR qwen2|mistral TOKENIZER_DIR
qwen2:   GQA (4 heads, 2 KV heads), q/k/v biases, tied embeddings, rope_theta 1e6
mistral: GQA, sliding window of 4 tokens, untied LM head
Weights (and biases, which transformers initializes to zero) are drawn with
a larger spread than the default so activations are far from trivial. The
tokenizer files are copied from TOKENIZER_DIR (vocabulary 32000).
"""
import shutil
import sys

import torch
import transformers

out, kind, tokenizer_dir = sys.argv[1], sys.argv[2], sys.argv[3]
torch.manual_seed(1234)
common = dict(vocab_size=32000, hidden_size=64, intermediate_size=160,
              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              max_position_embeddings=128, rms_norm_eps=1e-5, torch_dtype="float32")
if kind == "qwen2":
    config = transformers.Qwen2Config(**common, rope_theta=1e6, tie_word_embeddings=True,
                                      use_sliding_window=False)
    model = transformers.Qwen2ForCausalLM(config)
elif kind == "mistral":
    config = transformers.MistralConfig(**common, rope_theta=10000.0, sliding_window=4,
                                        tie_word_embeddings=False)
    model = transformers.MistralForCausalLM(config)
else:
    sys.exit("unknown kind " + kind)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "norm" in name:
            p.uniform_(0.5, 1.5)
        else:
            p.normal_(0.0, 0.15 if p.dim() > 1 else 0.5)
model.save_pretrained(out, safe_serialization=True)
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(f"{tokenizer_dir}/{f}", f"{out}/{f}")
