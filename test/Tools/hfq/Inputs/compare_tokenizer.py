"""Compares `hfq tokenize --lines` with Hugging Face `tokenizers`.

usage: compare_tokenizer.py HFQ MODEL_DIR FILE...
Each non-empty line of each FILE is one document (split on '\\n' only, so
'\\r' stays in the text as hfq keeps it). Prints a summary line per file and
exits non-zero on the first mismatch, showing both encodings.
"""
import subprocess
import sys

import tokenizers

hfq, model_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
reference = tokenizers.Tokenizer.from_file(model_dir + "/tokenizer.json")
for path in files:
    with open(path, "rb") as f:
        docs = [d.decode("utf-8") for d in f.read().split(b"\n") if d]
    out = subprocess.run([hfq, "tokenize", model_dir, "--lines", "--file", path],
                         check=True, capture_output=True, text=True).stdout
    ours = [list(map(int, line.split())) for line in out.splitlines()]
    if len(ours) != len(docs):
        sys.exit(f"{path}: {len(ours)} encoded lines for {len(docs)} documents")
    tokens = 0
    for i, (doc, got) in enumerate(zip(docs, ours)):
        want = reference.encode(doc, add_special_tokens=True).ids
        if got != want:
            k = next(j for j in range(min(len(got), len(want))) if got[j] != want[j]) \
                if any(a != b for a, b in zip(got, want)) else min(len(got), len(want))
            sys.exit(f"{path}: document {i} differs at token {k}:\n"
                     f"  hfq:        {got[max(0, k - 3):k + 5]}\n"
                     f"  tokenizers: {want[max(0, k - 3):k + 5]}\n"
                     f"  text: {doc[:200]!r}")
        tokens += len(want)
    print(f"{path.split('/')[-1]}: {len(docs)} documents, {tokens} tokens, identical")
