"""Tiny random-weight models for tests and dry runs, built offline in well under a second each.

    make_tiny_model("qwen2_vl", "models/tiny-qwen2vl") -> Path("models/tiny-qwen2vl")
      config.json, model.safetensors (~0.5 MB), tokenizer.json, tokenizer_config.json,
      processor_config.json / preprocessor_config.json, chat_template.jinja

Each family builds its own (`Family.build_tiny`, in `families/<name>/tiny.py`): the real config shrunk
(text hidden 64, 1-2 layers, small vision tower), a byte-level BPE tokenizer trained locally on a few
sentences, and the family's real image processor and processor classes. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from vlmdata.atomic import atomic_folder
from vlmtrain.errors import VlmTrainError
from vlmtrain.families import NAMES, resolve_family

# Every registered family has a tiny model, in the registry's order.
BUILDERS = list(NAMES)

__all__ = ["BUILDERS", "make_tiny_model"]


def make_tiny_model(family: str, out_dir, seed: int = 0) -> Path:
    """Build the tiny model of `family` (a family name) into `out_dir` (written atomically)."""
    if family not in NAMES:
        raise VlmTrainError(f"no tiny model for {family!r}; available: {', '.join(BUILDERS)}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise VlmTrainError(f"{out}: exists and is not empty; choose a new folder or remove it")
    import torch

    with atomic_folder(out) as tmp:  # an empty `out` is replaced; a failed build leaves nothing behind
        torch.manual_seed(seed)
        resolve_family(family).build_tiny(tmp)
    return out
