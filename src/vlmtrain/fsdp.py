"""Layer 2 (FSDP): FSDP2 for vision-language families: shard by the family's layer classes, keep every rank's
vision tower in step.

    shard_model(model, resolve_family("qwen2_vl"))
      -> the same model, each Qwen2VLDecoderLayer / Qwen2VLVisionBlock its own `fully_shard` unit, then
         the root (torch.distributed.fsdp.fully_shard; CPU with gloo or GPU with NCCL)

Why the keep-alive row: with sharded parameters every rank must take part in the same all-gathers and
reduce-scatters. A step where one rank's batch has images and another's has none runs the vision tower
on one rank only, so the collectives no longer match: NCCL hangs, gloo aborts (the known FSDP/ZeRO-3
mixed-batch hang; ms-swift runs a dummy image through the vision tower). `keepalive_feature` is one
label-free row holding a small grey image; `VLMCollator(keep_vision=True)` appends it to a batch with no
image, so the vision tower runs on every rank while the loss (mean over labelled tokens) and the other
rows' logits stay as they were.
"""

from __future__ import annotations

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import IGNORE_INDEX, Family

KEEPALIVE_SIZE = (224, 224)  # accepted by every family's processor (Qwen needs >= 28 px, splitting ones more)


def keepalive_record() -> dict:
    """A one-image record; its encoding gets no labels (see `keepalive_feature`)."""
    from PIL import Image

    return {
        "id": "<fsdp keep-alive>",
        "messages": [
            {"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": "."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "."}]},
        ],
        "images": [Image.new("RGB", KEEPALIVE_SIZE, (128, 128, 128))],
    }


def keepalive_feature(family: Family, processor) -> dict:
    """The keep-alive record encoded by the family like any record, every label set to -100."""
    feat = family.encode_one(processor, keepalive_record())
    feat["labels"] = feat["labels"].clone().fill_(IGNORE_INDEX)
    return feat


def shard_model(model, family: Family, **fsdp_kwargs):
    """Apply FSDP2 `fully_shard` to every module whose class is one of `family.wrap_classes(model)`
    (decoder layers, vision encoder layers), innermost first, then to the root. Needs an initialised
    process group; `model` may be a peft LoRA model. `fsdp_kwargs` go to every `fully_shard` call (mesh, reshard_after_forward, mp_policy)."""
    from peft import PeftModel
    from torch.distributed.fsdp import fully_shard

    # The family's module paths are those of the transformers model, under peft's wrapper for LoRA.
    base = model.get_base_model() if isinstance(model, PeftModel) else model
    classes = set(family.wrap_classes(base))
    for module in reversed(list(model.modules())):
        if type(module).__name__ in classes:
            fully_shard(module, **fsdp_kwargs)
    fully_shard(model, **fsdp_kwargs)
    return model


# ---- the run config's FSDP keys ------------------------------------------------------------------------
def meta_model(family: Family, model_path):
    """The model of `model_path`, built on the meta device (no weights read): enough to see its modules."""
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(str(model_path))
    with torch.device("meta"):
        return getattr(transformers, family.model_class_for(config.model_type))._from_config(config)


def fill_fsdp_config(cfg: dict, classes) -> None:
    """fsdp set: wrap `classes` (`family.wrap_classes(model)`: the family's decoder/encoder layer classes
    present in this model) unless the user chose classes. A family lists every layer class its checkpoints
    may use (LLaVA: Llama, Mistral, Qwen2, ...); only those in the model are given, because FSDP's auto-wrap
    refuses a class name it cannot find."""
    if not cfg.get("fsdp"):
        return
    fsdp_config = dict(cfg.get("fsdp_config") or {})
    if "transformer_layer_cls_to_wrap" not in fsdp_config:
        found = list(classes)
        if not found:
            raise VlmTrainError(
                "fsdp: none of the family's layer classes is in this model; "
                "set fsdp_config.transformer_layer_cls_to_wrap"
            )
        fsdp_config["transformer_layer_cls_to_wrap"] = found
    fsdp_config.setdefault("version", 2)  # FSDP2 (per-parameter sharding, fully_shard: `shard_model`)
    if not any(k in cfg for k in ("activation_checkpointing", "gradient_checkpointing")):
        # FSDP's own (non-reentrant) checkpointing: the Trainer's would add an AllGather in backward.
        cfg["activation_checkpointing"] = False
        fsdp_config.setdefault("activation_checkpointing", True)
    cfg["fsdp_config"] = fsdp_config
