#!/usr/bin/env bash
# Create .venv and install the project with the training and test extras, torch first.
#
# torch and torchvision come as the pair the project tests with (TORCH, TORCHVISION below):
#  - no CUDA GPU here (no working nvidia-smi): the CPU build, from PyTorch's own CPU wheel index
#    (https://download.pytorch.org/whl/cpu) when it answers within a few seconds; otherwise from the
#    default index, whatever build that gives (plain PyPI: the CUDA build, several GB).
#  - a CUDA GPU: the default index (PyPI's wheels are the CUDA build).
#  - torch already importable in .venv: kept as it is.
# The script says which build it got. Users with their own CUDA torch can skip it: pip install -e ".[train]".
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH=${TORCH_VERSION:-2.14.1}
TORCHVISION=${TORCHVISION_VERSION:-0.29.1}
CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
# pip's warnings about index locations configured on some machines are noise here: drop just those.
quiet_pip() { python -m pip install -q "$@" 2> >(grep -v "^WARNING: Location" >&2); }
quiet_pip --upgrade pip >/dev/null

reachable() {  # URL answers within 5 s
  python - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)
EOF
}

if python -c "import torch" 2>/dev/null; then
  echo "setup-env: keeping the torch already in .venv"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup-env: CUDA GPU found; torch==$TORCH torchvision==$TORCHVISION from the default index"
  quiet_pip "torch==$TORCH" "torchvision==$TORCHVISION"
elif reachable "$CPU_INDEX"; then
  echo "setup-env: no CUDA GPU; torch==$TORCH torchvision==$TORCHVISION, CPU build, from $CPU_INDEX"
  quiet_pip --index-url "$CPU_INDEX" "torch==$TORCH" "torchvision==$TORCHVISION"
else
  echo "setup-env: no CUDA GPU and $CPU_INDEX did not answer; torch==$TORCH torchvision==$TORCHVISION" \
    "from the default index (on plain PyPI that is the CUDA build, about 5 GB)"
  quiet_pip "torch==$TORCH" "torchvision==$TORCHVISION"
fi
python - <<'EOF'
import importlib.util

import torch

vision = "torchvision " + __import__("torchvision").__version__ if importlib.util.find_spec("torchvision") else "no torchvision"
build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
gpu = "a GPU is available" if torch.cuda.is_available() else "running on the CPU"
print(f"setup-env: torch {torch.__version__}, {vision}: {build}, {gpu}")
EOF
quiet_pip -e ".[train,test]" -c scripts/constraints.txt
