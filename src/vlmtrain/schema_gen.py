"""Layer 1 (config checks): generate `schemas/train_config.schema.json` from `VlmTrainConfig`'s dataclass
fields.

SFTConfig's ~130 keys are not copied by hand: each dataclass field becomes a schema property whose type
comes from its annotation and whose description is its `metadata["help"]`:

    learning_rate: float = 5e-5              -> {"type": "number", "description": "..."}
    lr_scheduler_type: SchedulerType | str   -> {"type": "string", "enum": ["linear", "cosine", ...]}
    lora_target_modules: list[str] | None    -> {"type": ["array", "null"], "items": {"type": "string"}}

Keys vlmtrain sets itself are left out of `properties` and listed under `x-vlmtrain-managed` with the reason,
so `vlmtrain.config` can say why a user may not set them. The schema records the trl/transformers versions it
was made from. Regenerate after upgrading trl:

    python -m vlmtrain.schema_gen            # rewrites src/vlmdata/schemas/train_config.schema.json
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "vlmdata" / "schemas" / "train_config.schema.json"
REQUIRED = ["model_name_or_path", "data_dir"]

# Keys a user may not set, with the reason shown when they do.
MANAGED: dict[str, str] = {
    "remove_unused_columns": "vlmtrain keeps the raw record columns for its collator (always false)",
    "dataset_kwargs": "vlmtrain skips trl's dataset preparation (skip_prepare_dataset: true)",
    "dataset_text_field": "vlmtrain reads canonical records (messages + images), not a text column",
    "padding_free": "use packing: true (vlmtrain's padding-free rows of whole samples)",
    "packing_strategy": "packing: true always packs whole samples best-fit decreasing (never split or cut)",
    "assistant_only_loss": "use train_on_prompt (false: loss on assistant tokens only)",
    "completion_only_loss": "use train_on_prompt (false: loss on assistant tokens only)",
    "dataset_num_proc": "vlmtrain does not preprocess the dataset with trl",
    "eval_packing": "evaluation batches are not packed (packing: true packs training rows only)",
    "parallelism_config": "not expressible in YAML; use fsdp / fsdp_config",
    "model_init_kwargs": "vlmtrain loads the model itself (see method, bf16/fp16)",
}


def _json_type(tp: Any) -> dict[str, Any]:
    """A JSON Schema fragment for one annotation."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        parts = [_json_type(a) for a in args]
        closed = [p for p in parts if "enum" in p]
        free = [p for a, p in zip(args, parts, strict=True) if "enum" not in p and a is not type(None)]
        # `SchedulerType | str` accepts only the enum's values (TrainingArguments converts and fails
        # otherwise), so keep the enum; `Literal[False] | str` is open, so drop it.
        enums = []
        if closed and all(p["type"] == "string" for p in closed + free):
            enums = [v for p in closed for v in p["enum"]]
        kinds: list[str] = []
        items = None
        for p in parts:
            for t in p["type"] if isinstance(p["type"], list) else [p["type"]]:
                if t not in kinds:
                    kinds.append(t)
            items = items or p.get("items")
        out: dict[str, Any] = {"type": kinds[0] if len(kinds) == 1 else kinds}
        if enums:
            out["enum"] = enums + ([None] if "null" in kinds else [])
        if items:
            out["items"] = items
        return out
    if origin is typing.Literal:
        values = list(typing.get_args(tp))
        kind = {bool: "boolean", str: "string", int: "integer"}[type(values[0])]
        return {"type": kind, "enum": values}
    if origin in (list, tuple):
        args = typing.get_args(tp)
        out = {"type": "array"}
        if args and args[0] is not Ellipsis:
            item = _json_type(args[0])
            if "enum" not in item or item["type"] == "string":
                out["items"] = item
        return out
    if origin is dict or tp is dict:
        return {"type": "object"}
    if tp is type(None):
        return {"type": "null"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string", Any: "object"}
    if tp in simple:
        return {"type": simple[tp]}
    return {"type": "object"}


def _hints(cls) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            module = __import__(klass.__module__, fromlist=["_"])
            for name, ann in klass.__dict__.get("__annotations__", {}).items():
                try:
                    hints[name] = eval(ann, vars(module), {"typing": typing}) if isinstance(ann, str) else ann
                except Exception:  # an annotation naming something not importable: accept any object
                    hints[name] = Any
    return hints


def build_schema() -> dict[str, Any]:
    import transformers
    import trl

    from vlmtrain.training_args import VlmTrainConfig

    hints = _hints(VlmTrainConfig)
    props: dict[str, Any] = {}
    for f in dataclasses.fields(VlmTrainConfig):
        if not f.init or f.name.startswith("_") or f.name in MANAGED:
            continue
        prop = _json_type(hints.get(f.name, Any))
        prop.update(f.metadata.get("schema", {}))
        prop.update(BOUNDS.get(f.name, {}))
        help_text = " ".join(str(f.metadata.get("help", "")).split())
        if help_text:
            prop = {"description": help_text, **prop}
        props[f.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://vlmkit.dev/schemas/train_config.schema.json",
        "title": "vlmtrain run config",
        "description": "Keys of vlmtrain.training_args.VlmTrainConfig (trl SFTConfig + vlmtrain's keys). "
        "Generated by `python -m vlmtrain.schema_gen`; do not edit by hand.",
        "x-generated-from": {"trl": trl.__version__, "transformers": transformers.__version__},
        "type": "object",
        "required": REQUIRED,
        "additionalProperties": False,
        "properties": props,
        "x-vlmtrain-managed": MANAGED,
        # vlmtrain's own keys (not inherited from SFTConfig): a misspelt key is matched against these
        # first, so `lora_rank` suggests lora_r rather than TrainingArguments' local_rank.
        "x-vlmtrain-keys": [k for k in VlmTrainConfig.__dict__.get("__annotations__", {}) if k in props],
    }


# Bounds on inherited SFTConfig/TrainingArguments keys (their dataclass fields carry none): without them
# max_length: -5 or a batch size of 0 pass the config check and fail only after the model has loaded.
BOUNDS: dict[str, dict[str, Any]] = {
    "max_length": {"minimum": 1},
    "per_device_train_batch_size": {"minimum": 1},
    "per_device_eval_batch_size": {"minimum": 1},
    "gradient_accumulation_steps": {"minimum": 1},
}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> Path:
    """Write the schema; returns its path."""
    from vlmdata.atomic import atomic_write_text

    return atomic_write_text(SCHEMA_PATH, render(build_schema()))


if __name__ == "__main__":  # `python -m vlmtrain.schema_gen`: the command line, which says where it wrote
    sys.stdout.write(f"{main()}\n")
