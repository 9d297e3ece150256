#!/usr/bin/env bash
# The README's quick start: install, prepare the naruto caption set (the bundled offline mirror when there
# is no network), validate it, export it for LLaMA-Factory, inspect it, then train a tiny Qwen2-VL on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
. .venv/bin/activate
set -x
vlmdata download naruto --out data/naruto --overwrite
vlmdata validate data/naruto
vlmdata convert data/naruto --to sharegpt --out data/naruto-lf --overwrite
vlmdata validate data/naruto-lf
vlmdata info data/naruto
[ -d models/tiny-qwen2vl ] || vlmtrain make-tiny-model qwen2_vl --out models/tiny-qwen2vl
vlmtrain check configs/tiny-cpu.yaml
vlmtrain run configs/tiny-cpu.yaml overwrite_output_dir=true   # a re-run replaces runs/tiny-cpu
