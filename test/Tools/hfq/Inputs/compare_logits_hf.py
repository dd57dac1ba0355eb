"""Compares `hfq logits` output with Hugging Face transformers' causal LM
for the checkpoint (AutoModelForCausalLM: Llama, Mistral, Qwen2; float32,
CPU) on the same token ids.

usage: compare_logits_hf.py MODEL_DIR LOGITS.safetensors...
For each file (ids I64 [T], logits F32 [T, vocab] as `hfq logits` writes
them), runs transformers on the ids and prints the largest absolute
difference relative to the largest absolute reference logit; exits non-zero
if any exceeds 1e-4. (A per-element relative error is meaningless for logits
near zero, so the scale is the row set's largest magnitude.)
"""
import sys

import torch
import transformers
from safetensors.torch import load_file

model_dir, files = sys.argv[1], sys.argv[2:]
torch.set_num_threads(2)
model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
model.eval()
worst = 0.0
for path in files:
    data = load_file(path)
    ids, ours = data["ids"], data["logits"]
    with torch.no_grad():
        ref = model(ids.unsqueeze(0)).logits[0].float()
    rel = ((ours - ref).abs().max() / ref.abs().max()).item()
    top1 = (ours.argmax(-1) == ref.argmax(-1)).float().mean().item() * 100
    print(f"{path.split('/')[-1]}: {ids.numel()} tokens, max|hfq - transformers| / "
          f"max|transformers| = {rel:.1e}, top-1 agreement {top1:.0f}%")
    worst = max(worst, rel)
print(f"transformers {transformers.__version__}, torch {torch.__version__}: "
      + ("within 1e-4" if worst <= 1e-4 else f"FAILED: {worst:.1e} > 1e-4"))
sys.exit(0 if worst <= 1e-4 else 1)
