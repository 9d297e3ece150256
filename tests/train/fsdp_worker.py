"""One FSDP2 job on CPU (gloo), run by tests/train/test_fsdp.py as
`torchrun --standalone --nproc-per-node 2 fsdp_worker.py OUT.json MODEL_DIR...` (one job for every
family: the imports dominate; a Python error in one family is recorded, not fatal to the others).

For lora and full: shard the tiny model with `vlmtrain.fsdp.shard_model`; one optimizer step where rank
0's batch holds an image and rank 1's is text-only (the keep-alive row keeps the vision tower in step);
then the full state dict is gathered, loaded into a fresh unsharded model, and that model's logits are
compared with the sharded model's on the same batch. Rank 0 writes {"ranks": [{dir: {method: {...}}}]}
to OUT.json. KEEP_VISION=0 in the environment turns the keep-alive row off (the test that it matters).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from datetime import timedelta
from types import SimpleNamespace

import torch
import torch.distributed as dist
from PIL import Image

from vlmtrain.collator import VLMCollator
from vlmtrain.families import resolve_family
from vlmtrain.fsdp import shard_model
from vlmtrain.methods import apply_method


def record(rid: str, with_image: bool) -> dict:
    user = [{"type": "text", "text": "What is in the picture?"}]
    if with_image:
        user.insert(0, {"type": "image", "text": None})
    return {
        "id": rid,
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": [{"type": "text", "text": "A red square."}]},
        ],
        "images": [Image.new("RGB", (56, 56), (200, 30, 30))] if with_image else [],
    }


def build(path, method: str):
    fam = resolve_family(path)
    torch.manual_seed(0)
    model = fam.load_model(path, dtype=torch.float32)
    args = SimpleNamespace(
        method=method, lora_r=4, lora_alpha=8, lora_dropout=0.0, lora_target_modules=None,
        activation_checkpointing=False, activation_checkpointing_kwargs=None,
    )  # fmt: skip
    return fam, apply_method(model, args, fam)


def one_method(path, method: str, rank: int) -> dict:
    fam, model = build(path, method)
    processor = fam.load_processor(path)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    shard_model(model, fam)
    collate = VLMCollator(processor, fam, keep_vision=os.environ.get("KEEP_VISION", "1") == "1")
    mixed = fam.supports_text_only  # PaliGemma refuses text-only records: every rank then has images
    batch = collate([record(f"r{rank}", with_image=rank == 0 or not mixed)])
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    loss = model(**batch).loss
    loss.backward()
    opt.step()
    opt.zero_grad()

    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    probe = VLMCollator(processor, fam)([record("probe", with_image=True)])
    model.eval()
    with torch.no_grad():
        sharded_logits = model(**probe).logits
    rows = int(batch["input_ids"].shape[0])
    result = {"loss": float(loss), "trainable": len(trainable), "rows": rows, "mixed": mixed}
    if rank == 0:
        _, untrained = build(path, method)
        untrained.eval()
        with torch.no_grad():
            result["step_changed_logits"] = float((untrained(**probe).logits - sharded_logits).abs().max())
        _, fresh = build(path, method)
        missing, unexpected = fresh.load_state_dict(state, strict=True)
        fresh.eval()
        with torch.no_grad():
            fresh_logits = fresh(**probe).logits
        result["reload_max_abs_diff"] = float((fresh_logits - sharded_logits).abs().max())
        result["state_keys"] = len(state)
        result["missing"], result["unexpected"] = list(missing), list(unexpected)
    return result


def main(out: str, paths: list[str]) -> None:
    dist.init_process_group("gloo", timeout=timedelta(seconds=120))
    rank = dist.get_rank()
    results = {}
    for path in paths:
        for method in ("lora", "full"):
            print(f"fsdp_worker rank {rank}: {path} {method}", file=sys.stderr, flush=True)
            try:
                results.setdefault(path, {})[method] = one_method(path, method, rank)
            except Exception:  # recorded for the test to show; the other families still run
                results.setdefault(path, {})[method] = {"error": traceback.format_exc(limit=6)}
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, results)
    if rank == 0:
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"ranks": gathered}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
