"""Model families: the one registry, keyed by the Hugging Face config `model_type`.

    resolve_family("qwen2_vl").lora_target_modules -> r"model\\.language_model\\..*\\.(q_proj|...)"
    resolve_family("models/tiny-qwen2vl").name     -> "qwen2_vl"
    NAMES                                          -> ("qwen2_vl", "qwen2_5_vl", ...)   # registry order
    MODEL_TYPES                                    -> ("qwen2_vl", ..., "qwen3_vl_moe", ...)

`resolve_family` is the one lookup (a name, a model type, a model folder, a config, a Hub id); `NAMES`
and `MODEL_TYPES` are the listings. `PACKAGES` below is the only list of family names in `src/`
(tests/train/test_family_registry.py fails if a family name or model_type is spelled anywhere else
outside the family's own package). Shared code (collator, check, run, predict, merge, make-tiny-model)
reaches a family only through this registry and the `Family` contract in `base.py`.

How to add a family `foo`
-------------------------
A family is data, plus overrides where its behaviour really differs.

1. Create the package `families/foo/`:
   - `tokens.py`: the header rule, read from the processor's own settings so the count equals the real
     processor's exactly, handed over as `RULE = TokenRule(unsupported=..., expand=...)`
     (encoding/expansion.py): `unsupported(processor) -> str | None` (why the rule cannot count for
     this processor) and `expand(processor, width, height) -> Expansion`; optionally `expand_all`
     (when an image's count depends on the record's other images), `placeholder` (when the template
     writes something other than `processor.image_token`), `rewrite` (when the processor rewrites the
     text around images) and `refusal` (an image size the image processor raises on). Unset ones keep
     the defaults defined once in encoding/expansion.py. No rule at all: leave `Family.rule` None and
     `vlmtrain check` counts with the real processor.
   - `tiny.py`: `END_OF_TURN`, `build(out_dir)` and `TINY = TinyModel(build, END_OF_TURN)`
     (tiny/common.py has the tokenizer trainer, the tiny text dimensions, `TinyModel` and `save`); the
     real processor and model classes, random weights.
   - `__init__.py` defines `FAMILY = Family(...)` (base.py): the names, special tokens, module prefixes,
     FSDP wrap classes, LoRA projections, processor quirks, `rule=tokens.RULE` and `tiny=tiny.TINY`.
     Where a checkpoint's published chat template is held (vlmtrain/real_models/, with its origin), name
     it, `template=RealTemplate("org/name", "<source>")`: the tiny model then carries it verbatim, and
     set `string_content_roles` to the roles that template writes as a string (`{{ content }}`,
     `content|trim`), and `one_part_roles` to those it reads only as `content[0]['text']` and takes no
     string for; tests/train/test_real_templates.py checks labels, prompts and counts on it.
     No class, unless the family's behaviour really differs: then a `Family` subclass overriding only
     that (glm4v/ renders turns its own way, llava_onevision/ passes a record's images as one sample,
     paligemma/ has no chat template, qwen3_5/ finds turns in the whole conversation). A sibling builds
     on its parent: `FAMILY = PARENT.derive(name="foo", tiny=tiny.TINY, ...)` and may import from the
     parent's package (qwen2_5_vl from qwen2_vl, smolvlm from idefics3).
2. Add "foo" to `PACKAGES`.
3. Nothing else: `vlmtrain make-tiny-model foo` and every family-parametrized test pick it up:
   tests/train/test_families.py (exact labels for single/multi-image/multi-turn/later-turn-image
   records, masking, forward+backward, save/reload, module names, FSDP wrap classes, LoRA scope),
   test_tokens_count.py (header counts equal the collator), test_check_collator.py (no record `check`
   passes is refused by the collator), test_family_sft.py (SFTTrainer steps), test_merge.py,
   test_predict.py and test_family_registry.py (tiny folders load with stock AutoProcessor; names
   spelled nowhere else).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import MappingProxyType

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import IGNORE_INDEX, Family

# The registered family packages, in the order listings and tests use.
PACKAGES = (
    "qwen2_vl",
    "qwen2_5_vl",
    "qwen3_vl",
    "qwen3_5",
    "glm4v",
    "glm46v",
    "glm_ocr",
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
    "gemma4_unified",
    "lfm2_vl",
    "mistral3",
    "llama4",
    "paddleocr_vl",
    "ernie4_5_vl_moe",
    "deepseek_ocr2",
    "minicpmv4_6",
    "molmo2",
    "hunyuan_vl",
    "ovis2_5",
)


def _registry() -> dict[str, Family]:
    """model_type -> Family, in registry order."""
    out: dict[str, Family] = {}
    for package in PACKAGES:
        family = importlib.import_module(f"vlmtrain.families.{package}").FAMILY
        out.update(dict.fromkeys(family.model_types, family))
    return out


_BY_MODEL_TYPE = MappingProxyType(_registry())
_BY_NAME = MappingProxyType({f.name: f for f in _BY_MODEL_TYPE.values()})
NAMES: tuple[str, ...] = tuple(_BY_NAME)
MODEL_TYPES: tuple[str, ...] = tuple(_BY_MODEL_TYPE)

__all__ = ["IGNORE_INDEX", "MODEL_TYPES", "NAMES", "PACKAGES", "Family", "resolve_family"]


def resolve_family(spec) -> Family:
    """The one way to get a Family. `spec` is any of:

        a Family                        -> itself
        "qwen2_vl" (name or model_type) -> the registered family
        "models/tiny-qwen2vl"           -> the family of that local folder's config.json (or a
                                           config.json path)
        a config dict / transformers config object -> the family of its model_type
        "Qwen/Qwen2-VL-2B-Instruct"     -> a Hub id's config, read through transformers' AutoConfig

    A registered name or model type is that family even where a folder of that name exists here.
    Raises VlmTrainError naming what it got and the supported families.
    """
    if isinstance(spec, Family):
        return spec
    if isinstance(spec, str) and (spec in _BY_MODEL_TYPE or spec in _BY_NAME):
        return _registered(spec)
    if not isinstance(spec, (str, Path)) or Path(spec).exists():
        return _family_of_config(spec)
    model = str(spec)
    if "/" not in model:  # not a path and not org/name: a family name, or a typo of one
        return _registered(model)
    if Path(model).is_absolute() or model.startswith((".", "~")):
        raise VlmTrainError(f"{model}: model folder does not exist")
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise VlmTrainError(
            f"{model}: not a local model folder and not loadable as a Hub id ({exc})"
        ) from exc
    return _family_of_config(config)


def _registered(model_type: str) -> Family:
    """A registered model_type or family name -> Family; VlmTrainError listing the supported ones."""
    fam = _BY_MODEL_TYPE.get(model_type) or _BY_NAME.get(model_type)
    if fam is None:
        raise VlmTrainError(
            f"model type {model_type!r} is not a supported vision-language family; "
            f"supported: {', '.join(sorted(_BY_MODEL_TYPE))}"
        )
    return fam


def _family_of_config(model_dir_or_config) -> Family:
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
    if model_type in _BY_MODEL_TYPE:
        return _BY_MODEL_TYPE[model_type]
    kind = "a vision-language model of an unsupported family" if has_vision else "a text-only model"
    raise VlmTrainError(
        f"{where}: model_type {model_type!r} is {kind}; supported vision-language families: "
        f"{', '.join(sorted(_BY_MODEL_TYPE))}"
    )
