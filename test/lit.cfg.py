# -*- Python -*-
# lit configuration of hfq's FileCheck tests. Tests use only hfq's own tools
# plus FileCheck/not/count from LLVM. Features for optional hardware or
# toolkits are added here, so tests that need them say `REQUIRES:` and are
# reported as UNSUPPORTED (skipped, visibly) where they are absent.
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "hfq"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hfq_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "Install"]

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.hfq_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["hfq-opt", "hfq"], [config.hfq_tools_dir])
config.substitutions.append(("%models", os.path.join(config.hfq_src_root, "models")))

# Hugging Face `tokenizers` (the reference for hfq's tokenizer) in the
# venv scripts/test.sh prepares, when PyPI was reachable.
import subprocess
venv_python = os.path.join(config.hfq_obj_root, "pyenv", "bin", "python")
config.hfq_python = venv_python if os.path.exists(venv_python) else "python3"
config.substitutions.append(("%hfq_python", config.hfq_python))
if subprocess.run([config.hfq_python, "-c", "import tokenizers"],
                  capture_output=True).returncode == 0:
    config.available_features.add("hf-tokenizers")

# Hugging Face transformers + torch (the logits oracle), in the venv
# scripts/test.sh prepares from Debian's python3-torch.
torch_python = os.path.join(config.hfq_obj_root, "pyenv-torch", "bin", "python")
if os.path.exists(torch_python) and subprocess.run(
        [torch_python, "-c", "import torch, transformers, safetensors"],
        capture_output=True).returncode == 0:
    config.available_features.add("hf-transformers")
    config.substitutions.append(("%hfq_torch_python", torch_python))
# A longer in-domain prompt (one of the bundled test stories).
with open(os.path.join(config.test_source_root, "Tools", "hfq", "Inputs",
                       "two-stories.txt"), encoding="utf-8") as f:
    config.substitutions.append(("%{story}", f.readline().strip().replace('"', '')))

# ../shared (corpora for longer tests) sits beside the checkout in CI and
# development; the project never needs it to run.
shared = os.path.join(os.path.dirname(config.hfq_src_root), "shared")
if os.path.isdir(os.path.join(shared, "corpora")):
    config.available_features.add("shared-corpora")
    config.substitutions.append(("%corpora", os.path.join(shared, "corpora")))

if shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("cuda-toolkit")
if os.path.exists("/dev/nvidia0"):
    config.available_features.add("nvidia-gpu")
