"""Model families: the one registry, keyed by the Hugging Face config `model_type`.

    get_family("qwen2_vl").lora_target_modules   -> r"model\\.language_model\\..*\\.(q_proj|...)"
    resolve_family("models/tiny-qwen2vl").name   -> "qwen2_vl"
    NAMES                                        -> ("qwen2_vl", "qwen2_5_vl", ...)   # registry order

`PACKAGES` below is the only list of family names in `src/` (tests/train/test_family_registry.py fails
if a family name or model_type is spelled anywhere else outside the family's own package). Shared code
(collator, check, run, predict, merge, make-tiny-model) reaches a family only through this registry and
the `Family` contract in `base.py`.

How to add a family `foo`
-------------------------
1. Create the package `families/foo/`:
   - `__init__.py` defines `FAMILY`: a `Family` (base.py) with the names, special tokens, module
     prefixes, FSDP wrap classes, LoRA scope and processor quirks, and `tiny_end_of_turn`; as a
     `Family` subclass when it overrides behaviour. Every family overrides at least `build_tiny`; one
     with a header rule also overrides `count_unsupported` and `expand_image` (and `expand_images`
     when an image's count depends on the record's other images, `rewrite_expanded` when its
     processor rewrites the text around images, `image_placeholder`
     when the template writes something other than `processor.image_token`); one whose records do not
     go through a chat template overrides `encode_one`/`encode_prompt`/`render` (see paligemma/).
     A sibling builds on its parent: `FAMILY = PARENT.derive(SubClass, name="foo", ...)` and may import
     from the parent's package (qwen2_5_vl from qwen2_vl, smolvlm from idefics3).
   - `tokens.py`: the header rule, `unsupported(processor) -> str | None` and
     `expand(processor, width, height) -> Expansion` (encoding/expansion.py), read from the
     processor's own settings so the count equals the real processor's exactly.
   - `tiny.py`: `END_OF_TURN` and `build(out_dir)` (tiny/common.py has the tokenizer trainer,
     the tiny text dimensions and `save`); the real processor and model classes, random weights.
2. Add "foo" to `PACKAGES`.
3. Nothing else: `vlmtrain make-tiny-model foo` and every family-parametrized test pick it up:
   tests/train/test_families.py (exact labels for single/multi-image/multi-turn/later-turn-image
   records, masking, forward+backward, save/reload, module names, LoRA scope), test_tokens_count.py
   (header counts equal the collator), test_check_collator.py (no record `check` passes is refused by
   the collator), test_family_sft.py (SFTTrainer steps), test_merge.py, test_predict.py and
   test_family_registry.py (tiny folders load with stock AutoProcessor; names spelled nowhere else).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import IGNORE_INDEX, Family

# The registered family packages, in the order listings and tests use.
PACKAGES = (
    "qwen2_vl",
    "qwen2_5_vl",
    "qwen3_vl",
    "qwen3_5",
    "glm4v",
    "idefics3",
    "smolvlm",
    "idefics2",
    "llava",
    "llava_next",
    "llava_onevision",
    "internvl",
    "mllama",
    "paligemma",
    "gemma3",
    "gemma3n",
    "gemma4",
    "lfm2_vl",
    "mistral3",
)

FAMILIES: dict[str, Family] = {}  # model_type -> Family
for _package in PACKAGES:
    _fam = importlib.import_module(f"vlmtrain.families.{_package}").FAMILY
    for _mt in _fam.model_types:
        FAMILIES[_mt] = _fam
BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES.values()}
NAMES: tuple[str, ...] = tuple(BY_NAME)

__all__ = [
    "BY_NAME",
    "FAMILIES",
    "IGNORE_INDEX",
    "NAMES",
    "Family",
    "family_for_model",
    "get_family",
    "resolve_family",
]


def get_family(model_type: str) -> Family:
    """A registered model_type or family name -> Family; VlmTrainError listing the supported ones."""
    fam = FAMILIES.get(model_type) or BY_NAME.get(model_type)
    if fam is None:
        raise VlmTrainError(
            f"model type {model_type!r} is not a supported vision-language family; "
            f"supported: {', '.join(sorted(FAMILIES))}"
        )
    return fam


def resolve_family(spec) -> Family:
    """The one way shared code gets a Family. `spec` is any of:

        a Family                        -> itself
        "models/tiny-qwen2vl"           -> the family of that local folder's config.json
        a config dict / transformers config object -> the family of its model_type
        "qwen2_vl" (name or model_type) -> the registered family
        "Qwen/Qwen2-VL-2B-Instruct"     -> a Hub id's config, read through transformers' AutoConfig

    Raises VlmTrainError naming what it got and the supported families.
    """
    if isinstance(spec, Family):
        return spec
    if not isinstance(spec, (str, Path)) or Path(spec).exists():
        return family_for_model(spec)
    model = str(spec)
    if "/" not in model:  # not a path and not org/name: a family name, or a typo of one
        return get_family(model)
    if Path(model).is_absolute() or model.startswith((".", "~")):
        raise VlmTrainError(f"{model}: model folder does not exist")
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise VlmTrainError(
            f"{model}: not a local model folder and not loadable as a Hub id ({exc})"
        ) from exc
    return family_for_model(config)


def family_for_model(model_dir_or_config) -> Family:
    """A model folder (reads config.json), a config.json path, a dict or a transformers config -> Family."""
    cfg = model_dir_or_config
    where = str(cfg)
    if isinstance(cfg, (str, Path)):
        path = Path(cfg)
        path = path / "config.json" if path.is_dir() else path
        if not path.is_file():
            raise VlmTrainError(
                f"{where}: no config.json found; give a local model folder (Hub ids: download it first)"
            )
        try:
            cfg = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise VlmTrainError(
                f"{path}: not a model config.json (not JSON); give the model folder that holds config.json"
            ) from None
    if isinstance(cfg, dict):
        model_type, has_vision = cfg.get("model_type"), cfg.get("vision_config")
    else:  # a transformers PretrainedConfig
        model_type, has_vision = cfg.model_type, cfg.to_dict().get("vision_config")
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    kind = "a vision-language model of an unsupported family" if has_vision else "a text-only model"
    raise VlmTrainError(
        f"{where}: model_type {model_type!r} is {kind}; supported vision-language families: "
        f"{', '.join(sorted(FAMILIES))}"
    )
