"""Layer 4 (drivers): batched generation over a canonical split (or one image + prompt) -> predictions.jsonl.

    predict("models/qwen", data="data/docvqa", split="validation", adapter="runs/qwen/adapter",
            out="runs/qwen/predictions.jsonl")
      -> {"written": "runs/qwen/predictions.jsonl", "num_predictions": 200, "skipped": [], "seconds": 41.2}

    one line of predictions.jsonl:
      {"id": "docvqa-000017", "prompt": "What is the date?", "reference": "12/15/88",
       "prediction": "12/15/88", "seconds": 0.21}

A record's prompt is every turn before its last assistant turn (with the images those turns show); its
reference is that last assistant turn's text. `prompt` in the file is the text of the last user turn
(image parts as "<image>"). `seconds` is the record's share of its batch's generation time. Greedy
decoding unless `temperature` > 0.

A chat template that prints today's date renders the date the run trained with: `template_date` in the
run folder's vlmtrain_config.yaml (the --adapter folder, or a --model folder a full run wrote), unless
one is given; today's where neither exists (`inference_template_date`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from vlmdata.atomic import atomic_file
from vlmtrain.errors import VlmTrainError


# ---------------------------------------------------------------- loading
def check_adapter(adapter) -> Path:
    path = Path(adapter)
    if not (path / "adapter_config.json").is_file():
        what = "does not exist" if not path.exists() else "has no adapter_config.json"
        raise VlmTrainError(
            f"{path}: adapter folder {what}; pass the folder a LoRA run saved (it holds adapter_config.json "
            "and adapter_model.safetensors)"
        )
    return path


def attach_adapter(model, adapter, base: str):
    """PeftModel over `model`, or one clear error when the adapter was made for another base model."""
    import warnings

    from peft import PeftModel

    path = check_adapter(adapter)
    trained_on = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
    hint = f" (it was trained on {trained_on})" if trained_on else ""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            wrapped = PeftModel.from_pretrained(model, str(path), is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as exc:
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        shapes = [ln.rstrip(".") for ln in lines if ln.startswith("size mismatch")]
        detail = f"{len(shapes)} tensor(s) differ in shape ({shapes[0]})" if shapes else lines[0][:300]
        raise VlmTrainError(
            f"{path}: the adapter does not match the base model {base}{hint}: {detail}; "
            "pass the --model the adapter was trained on"
        ) from None
    missing = [
        key
        for w in caught
        if "missing adapter keys" in str(w.message).lower()
        for key in re.findall(r"'([^']*lora_[AB][^']*)'", str(w.message))
    ]
    if missing:
        raise VlmTrainError(
            f"{path}: the adapter does not match the base model {base}{hint}: it has no weights for "
            f"{len(missing)} LoRA tensor(s) of this model (first: {missing[0]}); "
            "pass the --model the adapter was trained on"
        )
    return wrapped


def inference_template_date(model: str, adapter=None, given: str | None = None) -> tuple[str, str]:
    """The date the chat template sees, and where it comes from:

    given "2026-12-07"                       -> ("2026-12-07", "--template-date")
    --adapter runs/x (its config: 2026-12-01) -> ("2026-12-01", "recorded in runs/x/vlmtrain_config.yaml")
    neither                                  -> (today, "today")
    """
    from vlmtrain.encoding.template_date import parse_date, today
    from vlmtrain.runfolder import CONFIG_NAME, recorded_config

    if given is not None:
        try:
            return parse_date(given).isoformat(), "--template-date"
        except ValueError as exc:
            raise VlmTrainError(f"--template-date: {exc}") from None
    for folder in (adapter, model):
        if folder is not None and Path(folder).is_dir():
            recorded = recorded_config(folder).get("template_date")
            if recorded:
                return recorded, f"recorded in {Path(folder) / CONFIG_NAME}"
    return today(), "today"


def load_for_inference(
    model: str, adapter=None, device: str | None = None, dtype: str = "auto", template_date: str | None = None
):
    """-> (family, processor, model in eval mode on `device`); the adapter stays unmerged. The processor's
    chat template sees `template_date` (None: today) as the date."""
    import torch

    if adapter is not None:
        check_adapter(adapter)  # fail before loading a large model
    from vlmtrain.families import resolve_family

    family = resolve_family(model)  # a folder or a Hub id
    processor = family.load_processor(model, template_date=template_date)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype == "auto":
        dtype = "auto" if device != "cpu" else torch.float32
    else:
        dtype = getattr(torch, dtype)
    net = family.load_model(model, dtype=dtype)
    if adapter is not None:
        net = attach_adapter(net, adapter, model)
    return family, processor, net.to(device).eval()


# ---------------------------------------------------------------- records
def split_record(record: dict) -> tuple[dict, str | None] | None:
    """Canonical record -> (prompt record: turns before the last assistant turn, reference text).

    None when the record has no assistant turn after a user turn (nothing to predict).
    """
    messages = record["messages"]
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None or not any(m["role"] == "user" for m in messages[:last]):
        return None
    prompt_msgs = messages[:last]
    n_images = sum(p["type"] == "image" for m in prompt_msgs for p in m["content"])
    texts = [p["text"] or "" for p in messages[last]["content"] if p["type"] == "text"]
    reference = "".join(texts) if texts else None  # None: an open question (--image), nothing to score
    prompt = {**record, "messages": prompt_msgs, "images": list(record.get("images") or [])[:n_images]}
    return prompt, reference


def prompt_text(prompt_record: dict) -> str:
    user = [m for m in prompt_record["messages"] if m["role"] == "user"][-1]
    return "".join("<image>" if p["type"] == "image" else (p["text"] or "") for p in user["content"])


def load_split(data, split: str):
    """Canonical Parquet shards -> a `datasets.Dataset` whose images stay undecoded {bytes, path} dicts
    (`vlmdata.shards`), so an unreadable image becomes one clear error naming its record when the family
    decodes it (once, see `encoding.records.decode_images`)."""
    from vlmdata import shards
    from vlmtrain.data import shard_errors

    with shard_errors():
        files = shards.require_split(data, split)
        shards.check_shards(files)
        return shards.load_split(data, split, decode=False, files=files)


def image_record(image, prompt: str) -> dict:
    from PIL import Image

    path = Path(image)
    if not path.is_file():
        raise VlmTrainError(f"{path}: no such image file")
    try:  # fail on an unreadable image before loading the model
        with Image.open(path) as img:
            img.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise VlmTrainError(
            f"{path}: cannot read the image: {exc}; give a PNG, JPEG, WebP, ... file"
        ) from None
    return {
        "id": path.name,
        "messages": [
            {"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": prompt}]},
            {"role": "assistant", "content": []},
        ],
        "images": [{"bytes": path.read_bytes(), "path": str(path)}],
        "source": "",
    }


# ---------------------------------------------------------------- generation
def encode_for_generation(family, processor, prompts: list[dict]):
    """Prompt records -> one batch, left-padded so every row's generated tokens start at the same column."""
    import torch

    feats = [family.encode_prompt(processor, rec) for rec in prompts]
    batch = family.collate(processor, feats)
    lengths = [f["input_ids"].shape[1] for f in feats]
    width = batch["input_ids"].shape[1]
    for key in list(batch):
        # Sequence-aligned tensors (input_ids, attention_mask, token_type_ids, Mllama's
        # cross_attention_mask, ...) have one row per record and the record's length in dim 1. collate
        # pads them on the right; roll each row so its padding moves to the left.
        # Rows without the key (text-only rows of per_row_keys) are zeros in the batch: rolling is harmless.
        present = [(f[key], n) for f, n in zip(feats, lengths, strict=True) if f.get(key) is not None]
        if present and all(_row_seq(v, n) for v, n in present):
            rows = [torch.roll(row, width - n, dims=0) for row, n in zip(batch[key], lengths, strict=True)]
            batch[key] = torch.stack(rows)
    return batch


def _row_seq(value, length: int) -> bool:
    return value.dim() >= 2 and value.shape[0] == 1 and value.shape[1] == length


def generate(
    family, processor, model, prompts: list[dict], max_new_tokens=64, temperature=0.0, top_p=1.0
) -> list[str]:
    import torch

    tok = getattr(processor, "tokenizer", processor)
    batch = encode_for_generation(family, processor, prompts).to(model.device)
    if "pixel_values" in batch and batch["pixel_values"].is_floating_point():
        batch["pixel_values"] = batch["pixel_values"].to(model.dtype)
    kwargs = {"max_new_tokens": max_new_tokens, "pad_token_id": tok.pad_token_id}
    if getattr(model.generation_config, "eos_token_id", None) is None:
        kwargs["eos_token_id"] = tok.eos_token_id
    if temperature and temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    with torch.inference_mode():
        out = model.generate(**batch, **kwargs)
    new = out[:, batch["input_ids"].shape[1] :]
    return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]


def run_predictions(
    family,
    processor,
    model,
    records,
    out,
    batch_size: int = 8,
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    top_p: float = 1.0,
    limit: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Generate for every record (an iterable of canonical records) and write `out` atomically."""
    import torch

    torch.manual_seed(seed)
    out = Path(out)
    total = len(records) if limit is None else min(limit, len(records))
    skipped, written, start = [], 0, time.perf_counter()
    with atomic_file(out, "w", encoding="utf-8") as f:
        pending: list[tuple[dict, str | None]] = []

        def flush():
            nonlocal written
            t0 = time.perf_counter()
            preds = generate(
                family, processor, model, [p for p, _ in pending], max_new_tokens, temperature, top_p
            )
            each = (time.perf_counter() - t0) / len(pending)
            for (prompt, ref), pred in zip(pending, preds, strict=True):
                row = {"id": prompt.get("id"), "prompt": prompt_text(prompt), "reference": ref}
                f.write(json.dumps({**row, "prediction": pred, "seconds": round(each, 4)}) + "\n")
            written += len(pending)
            pending.clear()

        for i, record in enumerate(records):
            if i >= total:
                break
            parts = split_record(record)
            if parts is None:
                skipped.append(record.get("id"))
            else:
                pending.append(parts)
            if len(pending) == batch_size:
                flush()
            if progress:
                progress(i + 1, total)
        if pending:
            flush()
    return {
        "written": str(out),
        "num_predictions": written,
        "skipped": skipped,  # ids of records with no assistant turn to predict
        "seconds": round(time.perf_counter() - start, 3),
    }


def predict(
    model: str,
    data=None,
    split: str = "validation",
    image=None,
    prompt: str | None = None,
    adapter=None,
    out="predictions.jsonl",
    device: str | None = None,
    dtype: str = "auto",
    progress=None,
    template_date: str | None = None,
    **generation,
) -> dict:
    """Load the model (+ adapter), generate for a split or for one image+prompt, write predictions.jsonl.

    `generation`: batch_size, max_new_tokens, temperature, top_p, limit, seed (see run_predictions).
    `template_date`: the date the chat template sees; None: the run folder's (`inference_template_date`).
    The result's "template_date" says which date was used: {"date", "source", "read_by_template"}.
    """
    from vlmtrain.encoding.template_date import prints_date

    if (data is None) == (image is None):
        raise VlmTrainError(
            "give either --data DIR (a split of canonical shards) or --image FILE --prompt TEXT"
        )
    date, source = inference_template_date(model, adapter, template_date)
    if image is not None:
        if not prompt:
            raise VlmTrainError("--image needs --prompt TEXT")
        records = [image_record(image, prompt)]
    else:
        records = load_split(data, split)
    family, processor, net = load_for_inference(model, adapter, device, dtype, date)
    result = run_predictions(family, processor, net, records, out, progress=progress, **generation)
    result["template_date"] = {"date": date, "source": source, "read_by_template": prints_date(processor)}
    if image is not None:
        result["reference"] = None
        result["prediction"] = json.loads(Path(out).read_text().splitlines()[0])["prediction"]
    return result


def predict_and_eval(
    model,
    data,
    out_dir,
    split: str = "validation",
    adapter=None,
    metrics=None,
    loaded=None,
    progress=None,
    **generation,
) -> dict:
    """For `vlmtrain run`: predict a split into out_dir/predictions.jsonl, then score it into
    out_dir/metrics.json. `loaded=(family, processor, model)` reuses a model already in memory (the
    trained PeftModel) instead of loading `model` + `adapter` again.

      -> {"predict": {...run_predictions result...}, "eval": {...evaluate_file result...}}
    """
    from vlmtrain.metrics import DEFAULT_METRICS, evaluate_file

    out_dir = Path(out_dir)
    preds = out_dir / "predictions.jsonl"
    if loaded is None:
        result = predict(
            model, data=data, split=split, adapter=adapter, out=preds, progress=progress, **generation
        )
    else:
        family, processor, net = loaded
        was_training = net.training
        net.eval()
        try:
            result = run_predictions(
                family, processor, net, load_split(data, split), preds, progress=progress, **generation
            )
        finally:
            net.train(was_training)
    scores = evaluate_file(preds, metrics or DEFAULT_METRICS, out=out_dir / "metrics.json")
    return {"predict": result, "eval": scores}
