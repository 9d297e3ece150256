"""Layer 4 (drivers): fold a LoRA adapter into its base model: one folder that loads without peft.

    merge("models/qwen2-vl-2b", "runs/qwen/adapter", "models/qwen-merged")
      -> {"out": "models/qwen-merged", "model_class": "Qwen2VLForConditionalGeneration",
          "dtype": "bfloat16", "seconds": 12.3}

The folder holds the merged weights (in the base checkpoint's dtype), its config and the base model's
processor, so `AutoModelForImageTextToText.from_pretrained(out)` and `vlmtrain predict --model out` work
and give the same outputs as base + adapter.
"""

from __future__ import annotations

import time
from pathlib import Path

from vlmdata.atomic import atomic_folder
from vlmtrain.errors import VlmTrainError


def merge(model: str, adapter, out) -> dict:
    from vlmtrain.families import resolve_family
    from vlmtrain.predict import attach_adapter, check_adapter

    start = time.perf_counter()
    check_adapter(adapter)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise VlmTrainError(f"{out}: exists and is not an empty folder; choose a new --out")
    family = resolve_family(model)
    processor = family.load_processor(model)
    base = family.load_model(model, dtype="auto")
    merged = attach_adapter(base, adapter, model).merge_and_unload()
    with atomic_folder(out) as tmp:  # an empty `out` is replaced; a failed save leaves nothing behind
        merged.save_pretrained(tmp)
        processor.save_pretrained(tmp)
    return {
        "out": str(out),
        "model_class": type(merged).__name__,
        "dtype": str(merged.dtype).removeprefix("torch."),
        "seconds": round(time.perf_counter() - start, 3),
    }
