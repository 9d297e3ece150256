#!/usr/bin/env bash
# The GPU benchmark, one command (README: "GPU benchmark"):
#   bench/gpu/run.sh              one CUDA GPU, under 9 minutes -> $OUT/gpu_train.json (bench/results without $OUT)
#   bench/gpu/run.sh --dry-run    the same code path on CPU with tiny models -> gpu_train_dry_run.json
# Wheels carried in .whl/ at the repository root (trl, datasets, dill, multiprocess, bitsandbytes) are
# installed into /tmp/vlmkit-site first; a warm device machine keeps it, so a second call can add more.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-python3}"
SITE=/tmp/vlmkit-site
if compgen -G "$ROOT/.whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$ROOT"/.whl/*.whl
fi
if [ -d "$SITE" ]; then
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
exec "$PY" "$ROOT/bench/gpu/driver.py" "$@"
