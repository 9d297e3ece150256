"""Layer 1 (config checks): load and check a `vlmtrain run` config before anything heavy is imported.

    load_config("configs/tiny-cpu.yaml", ["learning_rate=1e-3", "method=full"])
      -> {"model_name_or_path": "models/tiny-qwen2vl", "data_dir": "data/naruto", "method": "full",
          "learning_rate": 0.001, ..., "family": "qwen2_vl", "output_dir": "runs/tiny-cpu"}

Every problem is collected and raised together as one `ConfigError`: unknown keys (with a did-you-mean),
wrong types and values (from `schemas/train_config.schema.json`, generated from `VlmTrainConfig`'s
dataclass fields), then the things the schema cannot know: a data folder without shards, a model that is
text-only or of an unknown family, options the chosen method or family cannot use. Only torch-free modules
are imported here; `to_training_args` builds the heavy `VlmTrainConfig` from the checked dict.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from vlmtrain.errors import ConfigError
from vlmtrain.methods import METHODS

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "vlmdata" / "schemas" / "train_config.schema.json"
FREEZE_KEYS = ("freeze_vision_tower", "freeze_projector", "freeze_language_model", "trainable_lm_layers")
LORA_KEYS = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules")


def __getattr__(name: str):
    # `from vlmtrain.config import VlmTrainConfig` works, but only imports trl when asked for.
    if name == "VlmTrainConfig":
        from vlmtrain.training_args import VlmTrainConfig

        return VlmTrainConfig
    raise AttributeError(name)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2's scalars where 1.1 surprises: `1e-4` is a float (1.1 wants `1.0e-4`
    and gives a string), and only true/false are booleans, so `save_strategy: no` and the override
    `save_strategy=no` mean the string "no", as every TrainingArguments user writes it (1.1 reads no,
    yes, on and off as booleans). A date stays a string (`template_date: 2026-12-07`; 1.1 makes it a
    date object)."""


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def known_keys() -> list[str]:
    return list(schema()["properties"])


def parse_overrides(items: list[str] | tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """["learning_rate=1e-3", "fsdp_config.min_num_params=0"] -> ({"learning_rate": 0.001,
    "fsdp_config": {"min_num_params": 0}}, problems). Values are YAML scalars or flow lists/maps."""
    out: dict[str, Any] = {}
    problems = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            problems.append(f"override {item!r}: expected KEY=VALUE (e.g. learning_rate=1e-4)")
            continue
        try:
            value = yaml.load(text, Loader=_Loader) if text else None
        except yaml.YAMLError as exc:
            problems.append(f"override {item!r}: value is not valid YAML ({exc.problem})")
            continue
        head, *rest = key.split(".")
        if rest:
            node = out.setdefault(head, {})
            for part in rest[:-1]:
                node = node.setdefault(part, {})
            node[rest[-1]] = value
        else:
            out[head] = value
    return out, problems


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"config file not found: {path}"], source=str(path))
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], source=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"expected a mapping of keys at the top level, found {_kind(data)}"], str(path))
    return data


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _kind(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, (list, dict)) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_keys(cfg: dict[str, Any]) -> list[str]:
    """Schema problems, one line each, in key order. Pure: no file system, no model."""
    import jsonschema

    sch = schema()
    props = sch["properties"]
    managed = sch.get("x-vlmtrain-managed", {})
    own = sch.get("x-vlmtrain-keys", [])  # vlmtrain's keys are suggested before inherited SFTConfig keys
    problems: list[str] = []
    for key in cfg:
        if key in props:
            continue
        if key in managed:
            problems.append(f"key {key!r} is set by vlmtrain: {managed[key]}")
            continue
        close = difflib.get_close_matches(str(key), own, n=1, cutoff=0.6) or difflib.get_close_matches(
            str(key), list(props), n=1, cutoff=0.6
        )
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"unknown key {key!r}{hint}")
    for key in sch.get("required", []):
        if cfg.get(key) is None:
            problems.append(f"{key}: required key missing")
    required = sch.get("required", [])
    known = {k: v for k, v in cfg.items() if k in props and not (k in required and v is None)}
    validator = jsonschema.Draft202012Validator({**sch, "required": [], "additionalProperties": True})
    errors = sorted(validator.iter_errors(known), key=lambda e: (list(props).index(e.path[0]), str(e.path)))
    seen: set[str] = set()
    for err in errors:
        where = ".".join(str(p) for p in err.path)
        if where in seen:  # one problem per key: `method: 3` fails both type and enum
            continue
        seen.add(where)
        if err.validator == "enum":
            choices = "|".join("null" if c is None else str(c) for c in err.validator_value)
            close = difflib.get_close_matches(str(err.instance), [str(c) for c in err.validator_value], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{where}: expected one of {choices}, found {_show(err.instance)}{hint}")
        elif err.validator == "type":
            want = err.validator_value
            wants = want if isinstance(want, list) else [want]
            hint = ""
            if "boolean" in wants and str(err.instance).lower() in ("yes", "no", "on", "off"):
                hint = " (write true or false)"
            problems.append(
                f"{where}: expected {' or '.join(wants)}, found {_kind(err.instance)} {_show(err.instance)}{hint}"
            )
        elif err.validator == "pattern":
            expected = props[err.path[0]].get("x-expected") or f"a string matching {err.validator_value}"
            problems.append(f"{where}: expected {expected}, found {_show(err.instance)}")
        elif err.validator in ("minimum", "maximum"):
            rel = ">=" if err.validator == "minimum" else "<="
            problems.append(
                f"{where}: expected a value {rel} {err.validator_value}, found {_show(err.instance)}"
            )
        else:
            problems.append(f"{where}: {err.message}")
    return problems


def check_semantics(cfg: dict[str, Any]) -> list[str]:
    """Checks across keys that a schema cannot express (no file system)."""
    problems: list[str] = []
    method = cfg.get("method", "lora")
    if method not in METHODS:  # already reported by the schema check
        return problems
    if method != "freeze":
        for key in FREEZE_KEYS:
            if cfg.get(key) is not None:
                problems.append(f"{key}: applies only to method freeze (method is {method!r})")
    if method not in ("lora", "qlora"):
        for key in LORA_KEYS:
            if cfg.get(key) is not None:
                problems.append(f"{key}: applies only to methods lora and qlora (method is {method!r})")
    if method == "freeze" and cfg.get("trainable_lm_layers") is not None and cfg.get("freeze_language_model"):
        problems.append("trainable_lm_layers: conflicts with freeze_language_model: true (choose one)")
    if cfg.get("fsdp") and method == "qlora":
        problems.append("fsdp: QLoRA with FSDP is not supported by vlmtrain; use DDP (--nproc without fsdp)")
    if cfg.get("bf16") and cfg.get("fp16"):
        problems.append("bf16, fp16: choose one precision")
    if cfg.get("eval_strategy", "no") != "no" and not cfg.get("eval_split"):
        problems.append(f"eval_strategy: {cfg['eval_strategy']!r} needs eval_split (e.g. validation)")
    if cfg.get("predict_at_end") and not cfg.get("eval_split"):
        problems.append("predict_at_end: needs eval_split (the split to generate answers for)")
    if cfg.get("packing"):
        if "max_length" in cfg and cfg["max_length"] is None:
            problems.append("packing: needs max_length (the length of a packed row); set it, e.g. 2048")
        if cfg.get("train_sampling_strategy") not in (None, "group_by_length"):
            problems.append(
                f"train_sampling_strategy: {cfg['train_sampling_strategy']!r} conflicts with packing: true "
                "(packed rows have their own token-balanced order); remove one"
            )
    if isinstance(cfg.get("template_date"), str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cfg["template_date"]):
        from vlmtrain.encoding.template_date import parse_date

        try:
            parse_date(cfg["template_date"])
        except ValueError as exc:
            problems.append(f"template_date: {cfg['template_date']!r} is not a date ({exc})")
    if cfg.get("predict_metrics") is not None:
        from vlmtrain.metrics import METRICS

        unknown = [m for m in cfg["predict_metrics"] if m not in METRICS]
        if unknown:
            problems.append(f"predict_metrics: unknown {unknown}; choose from {', '.join(METRICS)}")
    return problems


def model_config_path(name_or_path: str) -> Path | None:
    """config.json of a local folder or of a Hub model already in the local cache; None if not found."""
    path = Path(name_or_path)
    if path.is_dir():
        return path / "config.json" if (path / "config.json").is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name_or_path, "config.json")
    except Exception:
        return None
    return Path(cached) if isinstance(cached, str) else None


def _model_not_found(model: str) -> str:
    """Why a model that is neither a local folder nor in the Hub cache cannot be used, and the fix. A
    name only a path can be (absolute, ./, ~, several slashes, or whose parent folder exists here) is a
    missing folder; an `org/name` could be either, so the message covers both."""
    path = Path(model).expanduser()
    hub_like = re.fullmatch(r"[\w.-]+(/[\w.-]+)?", model) is not None
    if not hub_like or model.startswith((".", "~")) or (path.parent != Path(".") and path.parent.is_dir()):
        where = "" if Path(model).is_absolute() else f" (looked for {path.absolute()})"
        return f"folder {model!r} does not exist{where}"
    return (
        f"{model!r} is not a local folder (no {path.absolute()}) and not a Hub model in the local cache; "
        f"for a Hub model, download it first: hf download {model}"
    )


def check_environment(cfg: dict[str, Any]) -> list[str]:
    """Data folder and model checks; fills cfg["family"] when the model's family is found."""
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.families import MODEL_TYPES, resolve_family

    problems: list[str] = []
    data_dir = cfg.get("data_dir")
    if isinstance(data_dir, str):
        root = Path(data_dir)
        if root.is_file():
            problems.append(
                f"data_dir: {data_dir!r} is a file; point at a folder of Parquet shards "
                f"(make one with `vlmdata convert {data_dir} --to parquet --out DIR`)"
            )
        elif not root.is_dir():
            problems.append(f"data_dir: folder {data_dir!r} does not exist (make it with `vlmdata download`)")
        else:
            from vlmdata import shards

            for key in ("train_split", "eval_split"):
                split = cfg.get(key, "train" if key == "train_split" else None)
                if split and not shards.split_files(root, split):  # the files `vlmtrain run` reads
                    found = [f.name for s in shards.splits(root) for f in shards.split_files(root, s)][:5]
                    problems.append(
                        f"{key}: no {split}-*.parquet shards in {data_dir!r} (found: {', '.join(found) or 'none'})"
                    )
    model = cfg.get("model_name_or_path")
    family = None
    if isinstance(model, str):
        config_json = model_config_path(model)
        if config_json is None and Path(model).is_dir():
            problems.append(
                f"model_name_or_path: folder {model!r} has no config.json; point at the model folder itself"
            )
        elif config_json is None and Path(model).is_file():
            problems.append(f"model_name_or_path: {model!r} is a file; point at the model folder")
        elif config_json is None:
            problems.append(f"model_name_or_path: {_model_not_found(model)}")
        else:
            try:
                family = resolve_family(config_json)
            except VlmTrainError as exc:
                problems.append(f"model_name_or_path: {exc}")
    wanted = cfg.get("family")
    if isinstance(wanted, str):
        if wanted not in MODEL_TYPES:
            close = difflib.get_close_matches(wanted, list(MODEL_TYPES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"family: unknown family {wanted!r}{hint}; known: {', '.join(sorted(MODEL_TYPES))}"
            )
        elif family is not None and resolve_family(wanted) is not family:
            problems.append(f"family: {wanted!r} does not match the model's family {family.name!r}")
        else:
            family = resolve_family(wanted)
    if family is not None:
        cfg["family"] = family.name
        problems += check_family(cfg, family)
    return problems


def packing_refusal(family) -> str:
    """The one config error for `packing: true` on a family that cannot be packed exactly (the family's
    `packing` is None; its `packing_refusal` says why)."""
    return (
        f"packing: family {family.name!r} cannot be packed exactly: {family.packing_refusal}; "
        "remove packing (length-grouped batches are the default)"
    )


def check_family(cfg: dict[str, Any], family) -> list[str]:
    """What the chosen method needs from the family's module map."""
    problems = []
    method = cfg.get("method", "lora")
    attn = cfg.get("attn_implementation") or ""
    if attn.startswith("flash_attention") and not family.supports_flash_attention_2:
        problems.append(f"attn_implementation: family {family.name!r} has no {attn} path; use sdpa or eager")
    if cfg.get("packing") and family.packing is None:
        problems.append(packing_refusal(family))
    if method == "qlora":
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is None:
            problems.append("method: qlora needs bitsandbytes (pip install bitsandbytes)")
    if method == "freeze":
        for key, attr, prefix in (
            ("freeze_projector", "projector", family.projector),
            ("trainable_lm_layers", "lm_layers", family.lm_layers),
        ):
            if cfg.get(key) is not None and not prefix:
                problems.append(f"{key}: family {family.name!r} has no separate {attr} to freeze or train")
    return problems


def load_config(
    path: str | Path, overrides: list[str] | tuple[str, ...] = (), check_env: bool = True
) -> dict:
    """YAML file + KEY=VALUE overrides -> checked dict; raises ConfigError listing every problem."""
    raw = read_yaml(path)
    over, problems = parse_overrides(overrides)
    cfg = _merge(raw, over)
    problems += validate_keys(cfg)
    problems += check_semantics(cfg)
    if check_env:
        problems += check_environment(cfg)
    if problems:
        raise ConfigError(problems, source=str(path))
    cfg.setdefault("output_dir", str(Path("runs") / Path(path).stem))
    return cfg


def resolve_template_date(cfg: dict[str, Any]) -> tuple[str, str]:
    """The date a run's chat template sees as today (`encoding.template_date`), and where it comes from:

        template_date: 2026-12-07 in the config       -> ("2026-12-07", "the config's template_date")
        resuming runs/x (its config holds 2026-12-01) -> ("2026-12-01", "recorded in runs/x/vlmtrain_config.yaml")
        otherwise                                     -> (today, "today")

    Raises ConfigError when a resumed run's config sets a date other than the one its folder records: the
    steps before the resume were trained on that text.
    """
    from vlmtrain.encoding.template_date import today
    from vlmtrain.runfolder import CONFIG_NAME, recorded_config, resuming

    given = cfg.get("template_date")
    recorded = None
    if resuming(cfg.get("resume_from_checkpoint")) and cfg.get("output_dir"):
        recorded = recorded_config(cfg["output_dir"]).get("template_date")
    where = Path(cfg.get("output_dir") or ".") / CONFIG_NAME
    if given and recorded and given != recorded:
        raise ConfigError(
            [
                f"template_date: {given!r}, but the run being resumed was trained with {recorded!r} ({where}); "
                f"remove template_date to resume with {recorded}, or start a new run"
            ]
        )
    if given:
        return given, "the config's template_date"
    if recorded:
        return recorded, f"recorded in {where}"
    return today(), "today"


def to_training_args(cfg: dict[str, Any]):
    """Checked dict -> VlmTrainConfig (imports trl)."""
    from vlmtrain.training_args import VlmTrainConfig

    return VlmTrainConfig(**cfg)


def resolved_config(args, cfg: dict[str, Any]) -> dict[str, Any]:
    """The user-settable keys with the values this run used (re-runnable with `vlmtrain run`): the keys
    the user gave as given (TrainingArguments rewrites some, e.g. fsdp "full_shard" -> True), the rest
    as resolved."""
    import enum

    def plain(v):
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    keys = set(known_keys())
    out = {k: plain(v) for k, v in args.to_dict().items() if k in keys and not k.startswith("hub_token")}
    return {**out, **{k: v for k, v in cfg.items() if k in keys}}
