"""Real-size models with random weights, built from published config.json files (configs/, ORIGIN.md).

    model_dir = prepare_model_dir("qwen2_5_vl_7b", tmp, dry_run=False)
      -> a folder: the real config.json (special-token ids of the stand-in tokenizer), the tiny model's
         tokenizer and the family's real processor class at the checkpoint's image settings
    model = materialize(model_dir, family, dtype=torch.bfloat16, device="cuda", attn="sdpa")
      -> built on the meta device, then `to_empty` on the device and transformers' own init
         (`initialize_weights`: weights, rotary and embedding-scale buffers), weights tied

Tokenizer: the real ones are not reachable offline, so the tiny model's byte-level BPE stands in
(`vlmtrain.tiny`); its ids all fall inside the real vocabulary, which keeps its real size (embedding and
LM head, logits over the whole vocabulary). Image tokens are exact: the family's real image processor
class runs at the checkpoint's settings on real image sizes. Text is not: words missing from the tiny
corpus split into several byte-level tokens (the driver reports tokens per word).

--dry-run: the tiny model itself (text hidden 64, 1-2 layers, tiny images), while the real config is still
built on the meta device to count its parameters, so the fixture and this transformers are checked on CPU.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
TOKEN_ID_KEY = re.compile(r".*_token_(id|ids|index)$")


@dataclass
class ModelSpec:
    family: str  # vlmtrain family name
    checkpoint: str  # the published checkpoint the config comes from
    config: str  # file under configs/
    processor: dict = field(default_factory=dict)  # merged into processor_config.json (real runs only)


MODELS = {
    "qwen2_5_vl_7b": ModelSpec(
        family="qwen2_5_vl",
        checkpoint="Qwen/Qwen2.5-VL-7B-Instruct",
        config="Qwen2.5-VL-7B-Instruct.json",
        # preprocessor_config.json: min_pixels 3136, max_pixels 12845056 (patch 14, merge 2 as the tiny's)
        processor={"image_processor": {"size": {"shortest_edge": 3136, "longest_edge": 12845056}}},
    ),
    "gemma3_4b": ModelSpec(
        family="gemma3",
        checkpoint="google/gemma-3-4b-it",
        config="gemma-3-4b-it.json",
        # preprocessor_config.json: 896 x 896, no pan-and-scan; processor: 256 soft tokens per image
        processor={
            "image_processor": {"size": {"height": 896, "width": 896}, "do_pan_and_scan": False},
            "image_seq_length": 256,
        },
    ),
}


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def _config_pairs(real, tiny):
    """(real, tiny) config objects: the top level and each sub-config both have."""
    yield real, tiny
    for key in getattr(real, "sub_configs", {}) or {}:
        a, b = getattr(real, key, None), getattr(tiny, key, None)
        if a is not None and b is not None:
            yield a, b


def real_config(name: str, tiny_dir: Path):
    """The published config of MODELS[name] as a transformers config, its special-token ids replaced by the
    stand-in tokenizer's (taken from the tiny model's config, level by level)."""
    import transformers

    spec = MODELS[name]
    staging = tiny_dir.parent / f".{name}-config"
    staging.mkdir(exist_ok=True)
    shutil.copy(CONFIGS / spec.config, staging / "config.json")
    real = transformers.AutoConfig.from_pretrained(staging)
    tiny = transformers.AutoConfig.from_pretrained(tiny_dir)
    for r, t in _config_pairs(real, tiny):
        for key, value in t.to_dict().items():
            if TOKEN_ID_KEY.match(key) and value is not None and not isinstance(value, dict):
                setattr(r, key, value)
    shutil.rmtree(staging, ignore_errors=True)
    return real


def prepare_model_dir(name: str, tmp: Path, dry_run: bool) -> tuple[Path, dict]:
    """Build the model folder for MODELS[name] under tmp; returns (folder, facts for the report)."""
    import torch
    import transformers

    from vlmtrain.tiny.make import make_tiny_model

    spec = MODELS[name]
    out = make_tiny_model(spec.family, tmp / name)
    real = real_config(name, out)
    cls = getattr(transformers, real.architectures[0])
    with torch.device("meta"):
        meta = cls._from_config(real)
    facts = {
        "checkpoint": spec.checkpoint,
        "config_file": f"bench/gpu/configs/{spec.config}",
        "family": spec.family,
        "model_class": cls.__name__,
        "real_params": sum(p.numel() for p in meta.parameters()),
        "real_vocab_size": real.get_text_config().vocab_size,
    }
    del meta
    if not dry_run:
        real.save_pretrained(out)  # the folder's config.json becomes the real one
        pre = out / "processor_config.json"
        pre.write_text(json.dumps(_merge(json.loads(pre.read_text()), spec.processor), indent=2))
        facts["processor_settings"] = spec.processor
    else:
        facts["processor_settings"] = "tiny (dry run)"
    return out, facts


def materialize(model_dir: Path, family, dtype, device: str, attn: str):
    """Meta-device build of the folder's config, then `to_empty` on `device` and transformers' own init."""
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(model_dir)
    cls = getattr(transformers, family.model_class_for(config.model_type))
    with torch.device("meta"):
        model = cls._from_config(config, dtype=dtype, attn_implementation=attn)
    model.to_empty(device=device)
    torch.manual_seed(0)
    model.initialize_weights()  # weights and the buffers (rotary inv_freq, embed_scale, position ids)
    model.tie_weights()
    return model


def quantize_4bit(model, family, precision: str) -> int:
    """Swap every Linear outside vlmtrain's qlora skip list (vision tower, projector, lm_head) for a
    bitsandbytes Linear4bit with the same settings `vlmtrain.methods.quantization_config` gives
    from_pretrained (nf4, double quantization, compute dtype); returns how many were swapped. A real
    checkpoint would be quantized while loading; random weights are quantized in place instead."""
    import bitsandbytes as bnb
    import torch

    from vlmtrain.methods import quantization_config

    qc = quantization_config(family, precision)
    skip = [s for s in qc.llm_int8_skip_modules if s]

    def skipped(name: str) -> bool:
        return any(name == s or name.startswith(s + ".") or name.split(".")[-1] == s for s in skip)

    swapped = 0
    for name, module in list(model.named_modules()):
        if not isinstance(module, torch.nn.Linear) or skipped(name):
            continue
        device = module.weight.device
        q = bnb.nn.Linear4bit(
            module.in_features,
            module.out_features,
            bias=module.bias is not None,
            compute_dtype=qc.bnb_4bit_compute_dtype,
            compress_statistics=qc.bnb_4bit_use_double_quant,
            quant_type=qc.bnb_4bit_quant_type,
            device="meta",
        )
        q.weight = bnb.nn.Params4bit(
            module.weight.data,
            requires_grad=False,
            compress_statistics=qc.bnb_4bit_use_double_quant,
            quant_type=qc.bnb_4bit_quant_type,
        ).to(device)
        if module.bias is not None:
            q.bias = torch.nn.Parameter(module.bias.data, requires_grad=False)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, q)
        swapped += 1
    model.is_loaded_in_4bit = True  # what peft's prepare_model_for_kbit_training looks for
    return swapped
