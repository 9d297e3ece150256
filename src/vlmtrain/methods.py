"""Training methods: how the model is loaded and which weights train. No branching on model type: the
family supplies module prefixes (vision_tower, projector, language_model, lm_layers) and LoRA targets.

    method   loaded as                    trains
    full     fp32 (AMP for bf16/fp16)     every weight
    freeze   fp32 (AMP for bf16/fp16)     parts not frozen (freeze_* keys, trainable_lm_layers)
    lora     bf16/fp16/fp32 (precision)   LoRA adapters on the language model only
    qlora    4-bit nf4, double quant      LoRA adapters on the language model only
"""

from __future__ import annotations

import logging
import sys
import warnings
from contextlib import contextmanager

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import lm_only_targets
from vlmtrain.notices import notice

# The training methods (the table above); `vlmtrain.config` checks a config's `method` against these
# without importing trl, and `VlmTrainConfig` offers them as the `method` key's values.
METHODS = ("full", "lora", "qlora", "freeze")
PARTS = ("projector", "vision_tower", "language_model")  # most specific prefix first


@contextmanager
def bitsandbytes_only_for(method: str):
    """Run a block with bitsandbytes visible only when the method is qlora.

    peft imports bitsandbytes whenever it is installed (at `import peft` and again when it wraps a
    Linear), and bitsandbytes logs a warning about optional CPU kernels on import: noise for every
    method that never quantizes. Inside the block bitsandbytes reads as absent (`import` raises
    ImportError, `find_spec` says None); afterwards peft's cached availability checks are re-armed, so
    a later qlora run in the same process (tests) still finds it. For qlora the kernels warning is
    silenced instead. Also silences the FutureWarning for `is_gradient_checkpointing`, a property peft
    and trl still read on our models."""
    warnings.filterwarnings(
        "ignore", message=r".*is_gradient_checkpointing.*deprecated", category=FutureWarning
    )
    if method == "qlora" or "bitsandbytes" in sys.modules:
        logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
        yield
        return
    sys.modules["bitsandbytes"] = None
    try:
        yield
    finally:
        if "bitsandbytes" in sys.modules and sys.modules["bitsandbytes"] is None:
            del sys.modules["bitsandbytes"]
        _rearm_bitsandbytes_checks()


def _rearm_bitsandbytes_checks() -> None:
    if "peft.import_utils" in sys.modules:
        from peft import import_utils

        import_utils.is_bnb_available.cache_clear()
        import_utils.is_bnb_4bit_available.cache_clear()
    if "transformers.utils.import_utils" in sys.modules:
        from transformers.utils import import_utils as hf_imports

        clear = getattr(hf_imports.is_bitsandbytes_available, "cache_clear", None)
        if clear is not None:
            clear()


def resolve_precision(cfg: dict) -> str:
    """Pick bf16 / fp16 / fp32 for this machine; falls back to fp32 with a warning when the asked-for
    precision is unavailable (CPU, or a GPU without bf16). Rewrites cfg["bf16"], cfg["fp16"]."""
    import torch

    want = "fp16" if cfg.get("fp16") else "bf16" if cfg.get("bf16") is not False else "fp32"
    explicit = bool(cfg.get("fp16") or cfg.get("bf16"))
    ok = {
        "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        "fp16": torch.cuda.is_available(),
        "fp32": True,
    }
    if not ok[want]:
        if explicit:
            where = "on CPU" if not torch.cuda.is_available() else "on this GPU"
            notice(f"vlmtrain: warning: {want} is not available {where}; training in fp32")
        want = "fp32"
    cfg["bf16"], cfg["fp16"] = want == "bf16", want == "fp16"
    if not _has_accelerator():
        # Without it accelerate never sets up a CPU process group (gloo) under torchrun: each rank would
        # train alone on the whole dataset.
        cfg["use_cpu"] = True
    return want


def _has_accelerator() -> bool:
    import torch

    acc = getattr(torch, "accelerator", None)
    return bool(acc.is_available()) if acc is not None else torch.cuda.is_available()


def load_dtype(method: str, precision: str):
    """Weights dtype at load time: frozen bases in the training precision, trainable weights in fp32
    (AMP keeps fp32 master weights; fp16 trainable weights cannot be unscaled)."""
    import torch

    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    return half if method in ("lora", "qlora") else torch.float32


def quantization_config(family, precision: str):
    """bitsandbytes 4-bit nf4 with double quantization; the vision tower and projector stay unquantized
    (small, and their narrow Linears break bitsandbytes' CPU path: FACTS.md needs in_features >= 64)."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=load_dtype("qlora", precision),
        llm_int8_skip_modules=[family.vision_tower, family.projector, "lm_head"],
    )


def load_model(args, family, precision: str):
    kwargs = {"dtype": load_dtype(args.method, precision)}
    if args.attn_implementation:
        kwargs["attn_implementation"] = args.attn_implementation
    if args.method == "qlora":
        kwargs["quantization_config"] = quantization_config(family, precision)
    return family.load_model(args.model_name_or_path, **kwargs)


def lora_targets(args, family):
    """User's module names -> a regex limited to the language model; unset -> the family's default."""
    if not args.lora_target_modules:
        return family.lora_target_modules
    return lm_only_targets(family.language_model, args.lora_target_modules)


def part_of(name: str, family) -> str:
    """Parameter name -> projector | vision_tower | language_model | other (lm_head, ...)."""
    for part in PARTS:
        prefix = getattr(family, part)
        if prefix and (name == prefix or name.startswith(prefix + ".")):
            return part
    return "other"


def lm_layer_index(name: str, family) -> int | None:
    prefix = family.lm_layers + "."
    if not name.startswith(prefix):
        return None
    head = name[len(prefix) :].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def apply_freeze(model, args, family) -> None:
    """method freeze: set requires_grad per part. Defaults: vision tower frozen, projector and language
    model train. trainable_lm_layers N: the language model (and head) frozen except its last N layers."""
    freeze = {
        "vision_tower": True if args.freeze_vision_tower is None else args.freeze_vision_tower,
        "projector": bool(args.freeze_projector),
        "language_model": bool(args.freeze_language_model) or args.trainable_lm_layers is not None,
    }
    freeze["other"] = freeze["language_model"]
    n_layers = len(model.get_submodule(family.lm_layers)) if args.trainable_lm_layers is not None else 0
    first_trained = n_layers - (args.trainable_lm_layers or 0)
    for name, param in model.named_parameters():
        train = not freeze[part_of(name, family)]
        idx = lm_layer_index(name, family)
        if args.trainable_lm_layers is not None and idx is not None:
            train = idx >= first_trained
        param.requires_grad_(train)
    if not any(p.requires_grad for p in model.parameters()):
        raise VlmTrainError("method freeze: every weight is frozen; unfreeze a part (see freeze_* keys)")


def apply_method(model, args, family):
    """Model -> model ready for the Trainer (a PeftModel for lora/qlora)."""
    if args.method == "full":
        for param in model.parameters():
            param.requires_grad_(True)
        return model
    if args.method == "freeze":
        apply_freeze(model, args, family)
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if args.method == "qlora":
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=bool(args.activation_checkpointing),
            gradient_checkpointing_kwargs=args.activation_checkpointing_kwargs,
        )
    config = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=lora_targets(args, family),
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, config)
    except ValueError as exc:  # no module matched the targets
        raise VlmTrainError(f"lora_target_modules: {exc}") from None


def trainable_summary(model) -> str:
    total = sum(p.numel() for p in model.parameters())
    train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return f"{train:,} of {total:,} parameters train ({100 * train / max(total, 1):.2f}%)"
