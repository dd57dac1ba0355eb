"""Quantizes a Hugging Face Llama checkpoint with llm-compressor on CPU and
writes the result as a *float* model directory: every linear weight replaced
by llm-compressor's own quantize-dequantize values (the weights its
compressed checkpoint would decode to), every other tensor unchanged, the
original config.json and tokenizer files. hfq evaluates that directory with
the same `hfq kl` as its own quantized models, so both tools are measured by
one evaluator.

Calibration uses token ids given one document per line (from `hfq tokenize
--lines`, so both tools calibrate on exactly the same tokens).

usage: quantize.py --model DIR --ids FILE --out DIR --method gptq|awq
         --bits B --group-size G (0: per channel) [--sym]
         [--actorder default|static|weight|group|none] [--duo-scaling on|off]
"""
import argparse
import json
import os
import shutil
import sys
import time

import torch


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--method", choices=["gptq", "awq"], required=True)
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--group-size", type=int, default=32)
    p.add_argument("--sym", action="store_true")
    p.add_argument("--actorder", default="default",
                   choices=["default", "static", "weight", "group", "none"])
    p.add_argument("--duo-scaling", default="on", choices=["on", "off"])
    return p.parse_args()


def main():
    a = parse()
    from compressed_tensors.quantization import (QuantizationArgs,
                                                 QuantizationScheme)
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.gptq import GPTQModifier
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from llmcompressor.modifiers.transform.awq import AWQModifier
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    # Calibration on CPU: llm-compressor pins cached activations when it
    # believes an accelerator exists; there is none here.
    import llmcompressor.pipelines.cache as cache
    cache.IntermediatesCache.pin_memory = lambda self, *args, **kw: None

    with open(a.ids) as f:
        docs = [[int(t) for t in line.split()] for line in f if line.strip()]
    ds = Dataset.from_dict({"input_ids": docs,
                            "attention_mask": [[1] * len(d) for d in docs]})
    weights = QuantizationArgs(
        num_bits=a.bits, type="int", symmetric=a.sym,
        strategy="group" if a.group_size else "channel",
        group_size=a.group_size or None)
    groups = {"group_0": QuantizationScheme(targets=["Linear"],
                                            weights=weights)}
    if a.method == "gptq":
        kw = {} if a.actorder == "default" else {
            "actorder": None if a.actorder == "none" else a.actorder}
        recipe = [GPTQModifier(config_groups=groups, ignore=["lm_head"],
                               **kw)]
    else:
        recipe = [AWQModifier(duo_scaling=a.duo_scaling == "on"),
                  QuantizationModifier(config_groups=groups,
                                       ignore=["lm_head"])]

    model = AutoModelForCausalLM.from_pretrained(a.model,
                                                 torch_dtype=torch.float32)
    names = [k for k, _ in model.named_parameters()]
    start = time.time()
    oneshot(model=model, dataset=ds, recipe=recipe,
            num_calibration_samples=len(docs),
            max_seq_length=max(len(d) for d in docs))
    seconds = time.time() - start

    # The weights as llm-compressor's checkpoint decodes them. GPTQ has
    # written its quantize-dequantize result into each weight (g_idx
    # orderings included); after AWQ's scaling, QuantizationModifier's
    # scales and zeros apply through compressed-tensors' own fake_quantize.
    from compressed_tensors.quantization.lifecycle.forward import \
        forward_quantize
    contiguous_groups = a.method == "awq" or a.actorder in ("none", "static",
                                                            "default")
    state = {}
    levels = 0
    with torch.no_grad():
        for name, module in model.named_modules():
            scheme = getattr(module, "quantization_scheme", None)
            if scheme is None or not hasattr(module, "weight_scale"):
                continue
            w = module.weight.detach()
            if a.method == "awq":
                w = forward_quantize(module, w, "weight", scheme.weights)
            state[name + ".weight"] = w.contiguous().clone()
            if contiguous_groups:
                levels = max(levels, int(torch.unique(
                    w[0, :a.group_size or w.shape[1]]).numel()))
    for k, v in model.state_dict().items():
        if k in names and k not in state and not k.endswith(
                ("weight_scale", "weight_zero_point", "weight_g_idx")):
            state[k] = v.contiguous()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    if levels > 2 ** a.bits:
        sys.exit(f"quantize.py: {levels} distinct values in one group, more "
                 f"than {2 ** a.bits} codes")
    os.makedirs(a.out)
    save_file(state, os.path.join(a.out, "model.safetensors"),
              metadata={"format": "pt"})
    for f in os.listdir(a.model):
        if f != "model.safetensors" and not f.endswith(".safetensors"):
            shutil.copy(os.path.join(a.model, f), a.out)
    print(json.dumps({"seconds": round(seconds, 2), "linears": len(
        [k for k in state if k.endswith("proj.weight")])}))


if __name__ == "__main__":
    main()
