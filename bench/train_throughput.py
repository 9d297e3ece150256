"""Benchmark: training throughput of vlmtrain's path vs TRL's stock SFTTrainer path, same data, model, batch.

Targets, on the_cauldron-shaped data at the same batch size: (issue 7) grouped pad fraction at most a third of
the stock path's and real (non-pad) tokens/s at least 1.3x the stock path's; (issue 11) packed real tokens/s
at least the grouped path's and at least 1.3x the stock path's, for lora and full.

    ours  : trl.SFTTrainer subclass with vlmtrain's VLMCollator + LengthGroupedSampler (vlmtrain.sampling)
    packed: the same trainer with `packing: true` (vlmtrain.packing): whole samples best-fit-decreasing into
            rows of --pack-length tokens, --pack-rows rows per step (default: as many tokens per step as
            the grouped path's batch on average), position ids restarting per sample, no attention mask;
            with sdpa the language model runs vlmtrain's sdpa per sample (vlmtrain.packing.attention) on
            the step's rows flattened into one, as `vlmtrain run` does
    stock : trl.SFTTrainer as it comes: its DataCollatorForVisionLanguageModeling and a random sampler

`--device cuda` loads every path with flash-attention 2 when `flash_attn` is installed (sdpa otherwise; the
kernel used is recorded): the packed path then flattens each step's rows into one row (no padding at all)
and transformers gives flash-attention the sample boundaries from the position ids.

The data: canonical shards like the_cauldron's mix (short VQA answers next to long captions, 1-3 images of
several sizes per sample), generated in a temp dir. Each path trains one full epoch (every sample exactly
once) in its own process (so peak memory is its own), after one untimed warm-up step; paths alternate
over the repeats and the median is reported. Measured: samples/s, real tokens/s (attention_mask ones),
padded tokens/s, pad fraction, peak memory (CPU: peak RSS; cuda: torch.cuda.max_memory_allocated), and
what the loss is computed on (label tokens that are image placeholders or prompt text: the stock
collator masks only padding). Packed batches carry no attention mask: their real tokens are those outside
each row's trailing padding segment (`vlmtrain.packing.real_tokens`).

CPU runs use one torch thread per process (a shared small CPU otherwise makes step times vary 10x) and
the "small" model (ARCHS: 6.1M parameters with Qwen2-VL-2B's vision/LM cost ratio); the 0.4M-parameter test
model is dispatch-bound on CPU, so padding barely shows in its step time (`--model tiny` to see it).

    python bench/train_throughput.py                                  # CPU, small qwen2_vl, lora and full
    python bench/train_throughput.py --device cuda --method lora qlora  # Qwen2-VL-2B config, random weights
    -> bench/results/train_throughput_<device>.json

The data path alone (`--data-path-only`): samples/s through the dataset and collator that `vlmtrain run`
builds (`data_path_pieces`: load_split, preflight, CappedCollator(VLMCollator)), fetched as the Trainer's
DataLoader fetches them, one process, no model; 512 cauldron-shaped samples with real photos from
fixtures/real_data (JPEG and PNG, 300x166 to 2160x1200, 1-3 per sample). Each repeat is a fresh process
with a fresh `datasets` cache; the batches' fingerprint (token ids, labels, pixel sum) must match across
repeats, and before/after a refactor of the path.

    python bench/train_throughput.py --data-path-only --label before   # -> results/train_data_path_before.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORDS = [
    "the",
    "a",
    "red",
    "blue",
    "small",
    "large",
    "man",
    "woman",
    "dog",
    "cat",
    "table",
    "chart",
    "shows",
    "value",
    "year",
    "street",
    "car",
    "sign",
    "window",
    "building",
    "person",
    "holding",
    "wearing",
    "standing",
    "next",
    "to",
    "under",
    "above",
    "left",
    "right",
    "of",
    "in",
    "on",
    "with",
    "two",
    "three",
]
SIZES = [(160, 120), (224, 224), (336, 252), (448, 336), (640, 480), (800, 600), (1024, 768)]
# (subset-like kind, share, images per sample, answer words (lo, hi), QA turns (lo, hi))
MIX = [
    ("vqa", 0.40, (1, 1), (1, 3), (1, 3)),  # vqav2, okvqa, textvqa: short answers, several turns
    ("caption", 0.25, (1, 1), (40, 120), (1, 1)),  # localized_narratives, textcaps, screen2words
    ("pair", 0.15, (2, 2), (8, 30), (1, 1)),  # nlvr2, spot_the_diff
    ("multi", 0.10, (3, 3), (3, 12), (1, 2)),  # mimic_cgd: three images
    ("doc", 0.10, (1, 1), (1, 6), (1, 4)),  # docvqa, chartqa: big images, short answers
]
CAP_PIXELS = 336 * 336  # the image processor's max_pixels in the bench (<= 144 tokens per image)


# ---- data ---------------------------------------------------------------------------------------------
def _png(rng: random.Random, size: tuple[int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def cauldron_records(n: int, seed: int = 0, real_images: dict[str, list] | None = None) -> list[dict]:
    """n canonical records shaped like the_cauldron's mix (see MIX), deterministic for a seed. Images:
    one-colour PNGs of SIZES, or with `real_images` (`real_image_pool()`) real photos: "doc" samples
    draw from its "large" list, the others from "photos"."""
    rng = random.Random(seed)
    kinds = [k for k, share, *_ in MIX for _ in range(round(share * 100))]
    spec = {k: rest for k, _share, *rest in MIX}
    out = []
    for i in range(n):
        kind = kinds[rng.randrange(len(kinds))]
        (ilo, ihi), (alo, ahi), (tlo, thi) = spec[kind]
        n_img = rng.randint(ilo, ihi)
        sizes = [SIZES[-1] if kind == "doc" else rng.choice(SIZES) for _ in range(n_img)]
        messages = []
        for turn in range(rng.randint(tlo, thi)):
            content = [{"type": "image", "text": None} for _ in range(n_img if turn == 0 else 0)]
            question = "Describe the image in detail." if kind == "caption" else _words(rng, 5, 12) + "?"
            content.append({"type": "text", "text": question})
            messages.append({"role": "user", "content": content})
            answer = [{"type": "text", "text": _words(rng, alo, ahi)}]
            messages.append({"role": "assistant", "content": answer})
        if real_images is None:
            images = [{"bytes": _png(rng, s), "path": f"{i:05d}-{k}.png"} for k, s in enumerate(sizes)]
        else:
            pool = real_images["large" if kind == "doc" else "photos"]
            picks = [pool[rng.randrange(len(pool))] for _ in range(n_img)]
            images = [
                {"bytes": im["bytes"], "path": f"{i:05d}-{k}-{im['name']}"} for k, im in enumerate(picks)
            ]
        out.append({"id": f"{kind}-{i:05d}", "messages": messages, "images": images, "source": kind})
    return out


def write_data(out: Path, n: int, seed: int, real_images: dict[str, list] | None = None) -> Path:
    from vlmdata.io import ShardWriter

    out.mkdir(parents=True, exist_ok=True)
    writer = ShardWriter(out, "train")
    for record in cauldron_records(n, seed, real_images):
        writer.write(record)
    writer.close()
    return out


# ---- models -------------------------------------------------------------------------------------------
# Architectures built over the tiny model's processor (its tokenizer ids fit every vocab size here).
# "small" is the CPU bench model: the 0.4M-parameter test model (vlmtrain.tiny) is dispatch-bound on CPU
# (a step takes the same time at 300 or 600 tokens), so it cannot show what padding costs. "small" keeps
# Qwen2-VL-2B's proportions where they decide the cost: vision FLOPs per image token about 1.8x the
# language model's FLOPs per token (2B: 4 patches x ~0.67 GFLOP vs ~1.5 GFLOP), M-RoPE, merge 2, patch 14.
ARCHS = {
    "small": (
        dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=4096,
             rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [8, 12, 12]}),
        dict(depth=4, embed_dim=160, hidden_size=256, num_heads=4, mlp_ratio=4),
    ),
    "2b": (  # Qwen2-VL-2B-Instruct's config.json
        dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
             num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6,
             tie_word_embeddings=True,
             rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}),
        dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16, mlp_ratio=4),
    ),
}  # fmt: skip


def make_model(kind: str, out: Path) -> Path:
    """tiny: vlmtrain's test model; small / 2b: ARCHS[kind] with random weights and the tiny processor.
    The image processor's max_pixels is raised to CAP_PIXELS so image sizes matter."""
    from vlmtrain.tiny.make import make_tiny_model

    path = make_tiny_model("qwen2_vl", out)
    if kind != "tiny":
        import torch
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        tiny = Qwen2VLConfig.from_pretrained(path).to_dict()
        text, vision = ARCHS[kind]
        tiny["text_config"] = {**tiny["text_config"], **text, "layer_types": None}
        tiny["vision_config"] = {**tiny["vision_config"], **vision}
        torch.manual_seed(0)
        dtype = torch.bfloat16 if kind == "2b" else torch.float32
        Qwen2VLForConditionalGeneration(Qwen2VLConfig(**tiny)).to(dtype).save_pretrained(path)
    pre = path / "processor_config.json"
    cfg = json.loads(pre.read_text())
    cfg["image_processor"]["size"]["longest_edge"] = CAP_PIXELS
    pre.write_text(json.dumps(cfg, indent=2))
    return path


# ---- one path, in its own process ---------------------------------------------------------------------
def attention_kernel(device: str) -> str:
    """flash_attention_2 on cuda when flash_attn is installed (every path uses it), else sdpa."""
    import importlib.util

    return "flash_attention_2" if device == "cuda" and importlib.util.find_spec("flash_attn") else "sdpa"


def tokenizer_of(processor):
    return getattr(processor, "tokenizer", processor)


class StatsCollator:
    """Wraps a collator; records per batch: rows, width, real tokens, label tokens, image-label tokens."""

    def __init__(self, collator, image_ids: set[int], pad_id: int | None = None):
        self.collator = collator
        self.image_ids = sorted(image_ids)
        self.pad_id = pad_id
        self.batches: list[dict] = []
        self.seconds = 0.0

    def __call__(self, records):
        import torch

        from vlmtrain.packing import real_tokens

        # The stock trainer drops the `id` column (remove_unused_columns): key records by their messages.
        # Packed batches are lists of rows, each a list of records.
        flat = [r for item in records for r in (item if isinstance(item, list) else [item])]
        keys = [record_key(r) for r in flat]
        t0 = time.perf_counter()
        out = self.collator(records)
        self.seconds += time.perf_counter() - t0
        labels = out["labels"]
        labeled = labels != -100
        image = torch.isin(out["input_ids"], torch.tensor(self.image_ids)) & labeled
        if "attention_mask" in out:
            real = int(out["attention_mask"].sum())
        else:
            real = int(real_tokens(out["input_ids"], out["position_ids"], self.pad_id))
        self.batches.append(
            {
                "keys": keys,
                "samples": len(flat),
                "rows": int(labels.shape[0]),
                "width": int(labels.shape[1]),
                "real": real,
                "label": int(labeled.sum()),
                "image_label": int(image.sum()),
            }
        )
        return out


def record_key(record: dict) -> str:
    return json.dumps(record["messages"], sort_keys=True)


def _rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS) or its peak (VmHWM), MB. Not ru_maxrss: that survives
    fork+exec, so a worker would report at least its parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def pack_rows_for(lengths: list[int], batch_size: int, pack_length: int) -> int:
    """Rows per packed step carrying, on average, the grouped batch's tokens (at least one row)."""
    mean = sum(lengths) / len(lengths)
    return max(1, round(batch_size * mean / pack_length))


def run_path(
    path: str,
    model_dir: str,
    data_dir: str,
    device: str,
    method: str,
    batch_size: int,
    seed: int,
    pack_length: int = 1024,
    pack_rows: int | None = None,
):
    """Train one epoch on `path` ("ours" | "packed" | "stock"); returns the measurements (module docstring)."""
    import torch
    import transformers
    from trl import SFTConfig, SFTTrainer

    from vlmtrain.collator import VLMCollator
    from vlmtrain.data import load_split
    from vlmtrain.families import resolve_family
    from vlmtrain.methods import apply_method, load_model, resolve_precision
    from vlmtrain.packing import PACKED_SDPA, PackedCollator, plan_rows, use_packed_sdpa
    from vlmtrain.sampling import record_lengths
    from vlmtrain.trainers import flat_rows, grouped_trainer_class, packed_trainer_class
    from vlmtrain.training_args import VlmTrainConfig

    cuda = device == "cuda"
    attn = attention_kernel(device)
    kernel = attn  # the language model's kernel; packed + sdpa: vlmtrain's sdpa per sample
    if not cuda:
        # One intra-op thread: on a small shared CPU, torch's default thread pool oversubscribes the cores
        # and step times vary 10x from run to run; one thread per path makes the two paths comparable.
        torch.set_num_threads(1)
    family = resolve_family(model_dir)
    processor = family.load_processor(model_dir)
    # vlmtrain's paths decode in their collators; TRL's stock collator wants PIL images from the dataset.
    dataset = load_split(data_dir, "train", decode=path == "stock")
    common = dict(
        output_dir=tempfile.mkdtemp(prefix=f"bench-{path}-"),
        per_device_train_batch_size=batch_size,
        num_train_epochs=1,
        learning_rate=1e-4,
        lr_scheduler_type="constant",
        save_strategy="no",
        report_to=[],
        logging_steps=10_000,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=seed,
        max_length=None,
        gradient_checkpointing=cuda,
        use_cpu=not cuda,
        bf16=cuda,
    )
    cfg = {"model_name_or_path": model_dir, "method": method, "bf16": cuda}
    precision = resolve_precision(cfg)
    lengths, count_s = None, 0.0
    if path != "stock":
        t0 = time.perf_counter()
        lengths = record_lengths(dataset, processor, family)
        count_s = time.perf_counter() - t0
    rows_per_step = batch_size
    if path == "packed":
        rows_per_step = pack_rows or pack_rows_for(lengths, batch_size, pack_length)
        common = {**common, "per_device_train_batch_size": rows_per_step}
    margs = VlmTrainConfig(
        **common,
        model_name_or_path=model_dir,
        method=method,
        attn_implementation=attn,
        packing=path == "packed",
    )
    transformers.set_seed(seed)
    model = apply_method(load_model(margs, family, precision), margs, family)
    if cuda and method != "qlora":  # bitsandbytes puts 4-bit weights on the GPU when loading
        model.to("cuda")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    image_ids = family.image_token_ids(processor)

    if path == "ours":
        trainer = grouped_trainer_class()(
            model=model,
            args=margs,
            train_dataset=dataset,
            processing_class=processor,
            data_collator=VLMCollator(processor, family),
            train_lengths=lengths,
        )
    elif path == "packed":
        t0 = time.perf_counter()
        rows = plan_rows(lengths, pack_length, seed)
        count_s += time.perf_counter() - t0
        if attn == "sdpa":  # as `vlmtrain run` does (vlmtrain.packing.packed_training)
            use_packed_sdpa(model)
            kernel = PACKED_SDPA
        collator = PackedCollator(
            processor, family, pack_length, model_config=model.config, flatten=flat_rows(kernel)
        )
        trainer = packed_trainer_class()(
            model=model,
            args=margs,
            train_dataset=dataset,
            processing_class=processor,
            data_collator=collator,
            train_lengths=lengths,
            pack_rows=rows,
            pack_lengths=lengths,
        )
    else:
        trainer = SFTTrainer(
            model=model, args=SFTConfig(**common), train_dataset=dataset, processing_class=processor
        )
    stock_collator = type(trainer.data_collator).__name__
    sampler = "PackedRowSampler" if path == "packed" else type(trainer._get_train_sampler()).__name__
    stats = StatsCollator(trainer.data_collator, image_ids, tokenizer_of(processor).pad_token_id)
    trainer.data_collator = stats

    # Untimed warm-up: one forward/backward on the first two records (lazy init, allocator); packed: one row.
    first = [dataset[0], dataset[1]]
    warm = stats.collator([first] if path == "packed" else first)
    warm = {k: v.to(model.device) if hasattr(v, "to") else v for k, v in warm.items()}
    model(**warm, use_cache=False).loss.backward()
    model.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rss_before = _rss_mb()

    t0, c0 = time.perf_counter(), time.process_time()
    result = trainer.train()
    if cuda:
        torch.cuda.synchronize()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0

    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _rss_mb("VmHWM")
    batches = stats.batches
    samples = sum(b["samples"] for b in batches)
    real = sum(b["real"] for b in batches)
    padded = sum(b["rows"] * b["width"] for b in batches)
    label = sum(b["label"] for b in batches)
    image_label = sum(b["image_label"] for b in batches)
    # Assistant tokens per record (what vlmtrain trains on), counted after the timed run.
    by_key = {record_key(r): r for r in dataset}
    seen = [k for b in batches for k in b["keys"]]
    assistant = sum(int((family.encode_one(processor, by_key[k])["labels"] != -100).sum()) for k in set(seen))
    return {
        "path": path,
        "collator": type(stats.collator).__name__ if path != "stock" else stock_collator,
        "sampler": sampler,
        "attn_implementation": kernel,
        "method": method,
        "trainable_params": trainable,
        "steps": trainer.state.global_step,
        "rows_per_step": rows_per_step,
        "pack_length": pack_length if path == "packed" else None,
        "rows": sum(b["rows"] for b in batches),
        "samples": samples,
        "distinct_samples": len(set(seen)),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "real_tokens_per_cpu_s": round(real / cpu_seconds, 1),
        "samples_per_cpu_s": round(samples / cpu_seconds, 3),
        "collate_seconds": round(stats.seconds, 3),
        "samples_per_s": round(samples / seconds, 3),
        "real_tokens_per_s": round(real / seconds, 1),
        "padded_tokens_per_s": round(padded / seconds, 1),
        "real_tokens": real,
        "padded_tokens": padded,
        "pad_fraction": round((padded - real) / padded, 4),
        "label_tokens": label,
        "label_image_tokens": image_label,
        "label_prompt_tokens": label - image_label - assistant,
        "label_assistant_tokens": assistant,
        "label_fraction_image_or_prompt": round((label - assistant) / label, 4),
        "length_count_seconds": round(count_s, 3),
        "train_loss": round(result.training_loss, 4),
        "peak_memory_mb": round(peak, 1),
        "memory_kind": "torch.cuda.max_memory_allocated" if cuda else "peak RSS (VmHWM)",
        "rss_before_train_mb": round(rss_before, 1),
    }


# ---- the data path alone (--data-path-only) -----------------------------------------------------------
# Real images, byte for byte from the repo's fixtures (copied from public repositories: see
# fixtures/real_data/ORIGIN.md): JPEG and PNG photos, 300x166 to 1080x600 pixels.
FIXTURES = HERE.parent / "fixtures" / "real_data"
REAL_PHOTOS = [
    "lf-mllm-demo/mllm_demo_data/1.jpg",
    "lf-mllm-demo/mllm_demo_data/2.jpg",
    "lf-mllm-demo/mllm_demo_data/3.jpg",
    "lf-mllm-example-parquet/data/images/2.jpg",
    "lf-mllm-example-parquet/data/images/3.jpg",
    "qwen3vl-single-images/demo/images/10095.png",
    "qwen3vl-single-images/demo/images/10149.png",
    "xtuner/resource/mscoco_dog_000000319154.jpg",
    "xtuner/resource/mscoco_twocat_000000039769.jpg",
]
# The "doc" samples' images (the_cauldron's docvqa/chartqa pages are large): the largest photo as it is
# and two photos upscaled (LANCZOS, saved as JPEG quality 90) at run time: (photo, scale).
LARGE_PHOTOS = [
    ("lf-mllm-example-parquet/data/images/3.jpg", 1),
    ("lf-mllm-example-parquet/data/images/3.jpg", 2),
    ("xtuner/resource/mscoco_twocat_000000039769.jpg", 3),
]
DATA_PATH_CALLS = [
    "vlmtrain.config.to_training_args(cfg)",
    "vlmtrain.families.resolve_family(model_dir).load_processor(model_dir)",
    "vlmtrain.data.load_split(data_dir, 'train', max_train_samples)",
    "vlmtrain.data.preflight(args, dataset, processor, family, 'train', notices)",
    "vlmtrain.data.training_collator(args, processor, family): CappedCollator(VLMCollator(processor, family, max_length, "
    "train_on_prompt, keep_vision=False), max_pixels)",
    "torch.utils.data.DataLoader(dataset, batch_size, collate_fn=collator, num_workers=0): per batch "
    "Dataset.__getitems__ (rows with images as {bytes, path}) -> CappedCollator (each image decoded once, "
    "then capped) -> VLMCollator -> family.encode_one (processor) -> family.collate",
]


def real_image_pool() -> dict[str, list[dict]]:
    """{"photos": [...], "large": [...]}, each {"name", "bytes", "size", "format", "source"}."""
    from PIL import Image

    def entry(name: str, rel: str, scale: int) -> dict:
        data = (FIXTURES / rel).read_bytes()
        im = Image.open(io.BytesIO(data))
        fmt = im.format
        if scale != 1:
            im = im.convert("RGB").resize((im.width * scale, im.height * scale), Image.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=90)
            data, fmt = buf.getvalue(), "JPEG"
        name += "." + fmt.lower().replace("jpeg", "jpg")
        return {
            "name": name,
            "bytes": data,
            "size": list(im.size),
            "format": fmt,
            "source": rel,
            "scale": scale,
        }

    return {
        "photos": [entry(f"photo{k}", p, 1) for k, p in enumerate(REAL_PHOTOS)],
        "large": [entry(f"large{k}", p, s) for k, (p, s) in enumerate(LARGE_PHOTOS)],
    }


def data_path_pieces(model_dir: str, data_dir: str, output_dir: str, batch_size: int, max_pixels: int | None):
    """(train dataset, collator, setup seconds) built as `vlmtrain run` builds them for its train DataLoader
    (vlmtrain.train._train, one process): the checked config -> training args, the family's processor, the
    split read by `load_split`, `preflight` (exact token counts, over-length filter, `length` column) and
    the run's collator, `training_collator` (the one train.py builds). Setup: load_split + preflight.
    When the refactor moves these, this is the one function to follow it."""
    from vlmtrain.config import to_training_args
    from vlmtrain.data import load_split, preflight, training_collator
    from vlmtrain.families import resolve_family

    cfg = {
        "model_name_or_path": model_dir,
        "data_dir": data_dir,
        "output_dir": output_dir,
        "method": "lora",
        "per_device_train_batch_size": batch_size,
        "max_pixels": max_pixels,
        "max_length": 4096,
        "use_cpu": True,
        "report_to": [],
    }
    args = to_training_args(cfg)
    family = resolve_family(model_dir)
    processor = family.load_processor(args.model_name_or_path)
    t0 = time.perf_counter()
    dataset = load_split(args.data_dir, args.train_split, args.max_train_samples)
    dataset = preflight(args, dataset, processor, family, args.train_split, [])
    setup = time.perf_counter() - t0
    collator = training_collator(args, processor, family)
    return dataset, collator, setup


def run_data_path(model_dir: str, data_dir: str, batch_size: int, max_pixels: int | None) -> dict:
    """One epoch through the data path alone, in this process (no DataLoader workers, no model): the rows
    fetched as the Trainer's DataLoader fetches them (`Dataset.__getitems__`, images decoded by `datasets`)
    and collated by the run's collator. Returns samples/s and what the batches held (a fingerprint that
    must not change with a refactor of the path)."""
    import hashlib

    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    output_dir = tempfile.mkdtemp(prefix="bench-data-path-")
    dataset, collator, setup = data_path_pieces(model_dir, data_dir, output_dir, batch_size, max_pixels)
    collate_s = 0.0

    def timed(records):
        nonlocal collate_s
        t = time.perf_counter()
        out = collator(records)
        collate_s += time.perf_counter() - t
        return out

    collator(dataset.__getitems__([0, 1]))  # untimed warm-up: lazy imports, processor first call
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=timed, num_workers=0)
    digest = hashlib.sha256()
    totals = {"batches": 0, "samples": 0, "real_tokens": 0, "label_tokens": 0, "pixel_rows": 0}
    pixel_sum = 0.0
    aside = 0.0  # time spent on the fingerprint, taken out of the epoch's time
    t0, c0 = time.perf_counter(), time.process_time()
    for batch in loader:
        t = time.perf_counter()
        digest.update(batch["input_ids"].numpy().tobytes())
        digest.update(batch["labels"].numpy().tobytes())
        totals["batches"] += 1
        totals["samples"] += int(batch["input_ids"].shape[0])
        totals["real_tokens"] += int(batch["attention_mask"].sum())
        totals["label_tokens"] += int((batch["labels"] != -100).sum())
        if "pixel_values" in batch:
            totals["pixel_rows"] += int(batch["pixel_values"].shape[0])
            pixel_sum += float(batch["pixel_values"].double().sum())
        aside += time.perf_counter() - t
    seconds = time.perf_counter() - t0 - aside
    cpu_seconds = time.process_time() - c0
    samples = totals["samples"]
    return {
        "samples": samples,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "samples_per_s": round(samples / seconds, 3),
        "samples_per_cpu_s": round(samples / cpu_seconds, 3),
        "collate_seconds": round(collate_s, 3),
        "fetch_seconds": round(seconds - collate_s, 3),
        "setup_seconds_load_split_and_preflight": round(setup, 3),
        "peak_rss_mb": round(_rss_mb("VmHWM"), 1),
        "fingerprint": {**totals, "pixel_sum": round(pixel_sum, 1), "sha256_ids_labels": digest.hexdigest()},
    }


def wait_for_quiet(max_load: float, max_wait: float) -> float:
    """Sleep until the 1-minute load average is at most max_load (other jobs share the machine), at most
    max_wait seconds; returns the seconds waited."""
    t0 = time.monotonic()
    while os.getloadavg()[0] > max_load and time.monotonic() - t0 < max_wait:
        time.sleep(5)
    return round(time.monotonic() - t0, 1)


def data_path_bench(ns) -> dict:
    """--data-path-only: `ns.repeats` epochs, each in a fresh process with a fresh `datasets` cache."""
    real = real_image_pool()
    records = cauldron_records(ns.samples, ns.seed, real)
    counts = [len(r["images"]) for r in records]
    used: dict[str, int] = {}
    for r in records:
        for im in r["images"]:
            name = im["path"].split("-", 2)[2]
            used[name] = used.get(name, 0) + 1
    by_name = {im["name"]: im for pool in real.values() for im in pool}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    runs, loads = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_dir = write_data(tmp / "data", ns.samples, ns.seed, real)
        model_dir = make_model("tiny", tmp / "model")
        for rep in range(ns.repeats):
            res = tmp / f"data-path-{rep}.json"
            cmd = [sys.executable, __file__, "--worker", "data_path", "--worker-out", str(res),
                   "--model-dir", str(model_dir), "--data-dir", str(data_dir),
                   "--batch-size", str(ns.batch_size), "--max-pixels", str(ns.max_pixels)]  # fmt: skip
            waited = wait_for_quiet(ns.quiet_load, ns.quiet_wait)
            before = os.getloadavg()
            rep_env = {**env, "HF_DATASETS_CACHE": str(tmp / f"hf-cache-{rep}")}
            subprocess.run(cmd, check=True, env=rep_env)
            after = os.getloadavg()
            loads.append(
                {
                    "waited_s": waited,
                    "before": [round(x, 2) for x in before],
                    "after": [round(x, 2) for x in after],
                }
            )
            runs.append(json.loads(res.read_text()))
            print(f"data path rep {rep}: {runs[-1]['samples_per_s']} samples/s", file=sys.stderr)
    prints = {json.dumps(r["fingerprint"], sort_keys=True) for r in runs}
    if len(prints) != 1:
        raise SystemExit(f"the repeats' batches differ: {sorted(prints)}")
    rates = [r["samples_per_s"] for r in runs]
    cpu_rates = [r["samples_per_cpu_s"] for r in runs]
    mid = sorted(runs, key=lambda r: r["samples_per_s"])[len(runs) // 2]
    import torch
    import transformers

    return {
        "benchmark": "train_throughput data path (dataset + collator, no model)",
        "label": ns.label,
        "samples_per_s_median": statistics.median(rates),
        "samples_per_s_all": rates,
        "samples_per_s_spread": [min(rates), max(rates)],
        "samples_per_cpu_s_median": statistics.median(cpu_rates),
        "samples_per_cpu_s_all": cpu_rates,
        "median_run": mid,
        "runs": runs,
        "load_average_1_5_15": loads,
        "calls": DATA_PATH_CALLS,
        "setup": {
            "family": "qwen2_vl",
            "model": "vlmtrain.tiny qwen2_vl (make_tiny_model), processor max_pixels raised to "
            f"{CAP_PIXELS} (as the throughput bench); no model forward",
            "batch_size": ns.batch_size,
            "run_max_pixels": ns.max_pixels,
            "order": "sequential batches (the run's length-grouped sampler changes the order, not the work)",
            "quiet_load": {"max_load_1min": ns.quiet_load, "max_wait_s": ns.quiet_wait},
            "process": "one process per repeat, DataLoader num_workers=0, one torch thread, fresh "
            "HF_DATASETS_CACHE (the split is read as a first run reads it)",
        },
        "dataset": {
            "samples": ns.samples,
            "seed": ns.seed,
            "images": sum(counts),
            "images_per_sample_mean": round(sum(counts) / len(counts), 3),
            "images_per_sample_counts": {str(k): counts.count(k) for k in sorted(set(counts))},
            "image_source": "real photos from fixtures/real_data (byte for byte); the 'doc' samples' large "
            "images: the largest photo and two photos upscaled x2/x3 (LANCZOS, JPEG q90)",
            "images_used": [
                {
                    "name": n,
                    "source": by_name[n]["source"],
                    "scale": by_name[n]["scale"],
                    "format": by_name[n]["format"],
                    "size": by_name[n]["size"],
                    "bytes": len(by_name[n]["bytes"]),
                    "uses": used[n],
                }
                for n in sorted(used)
            ],  # fmt: skip
            "mix": [{"kind": k, "share": s, "images": i, "answer_words": a} for k, s, i, a, _t in MIX],
        },
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
        },
    }


# ---- the run ------------------------------------------------------------------------------------------
def sampler_padding(
    data_dir: Path, model_dir: Path, batch_size: int, seed: int, pack_length: int, pack_rows: int | None
) -> dict:
    """Pad fraction of a whole epoch from the exact lengths alone: grouped order vs random orders, and the
    packed rows (`vlmtrain.packing.packing_stats`)."""
    from vlmtrain.data import load_split
    from vlmtrain.families import resolve_family
    from vlmtrain.sampling import LengthGroupedSampler, record_lengths
    from vlmtrain.stats import batch_padding, packing_stats

    family = resolve_family(model_dir)
    processor = family.load_processor(model_dir)
    lengths = record_lengths(load_split(data_dir, "train"), processor, family)
    grouped = batch_padding(lengths, list(LengthGroupedSampler(lengths, batch_size, seed=seed)), batch_size)
    randoms = []
    for s in range(20):
        order = list(range(len(lengths)))
        random.Random(s).shuffle(order)
        randoms.append(batch_padding(lengths, order, batch_size)["pad_fraction"])
    return {
        "lengths": {"min": min(lengths), "median": statistics.median(lengths), "max": max(lengths)},
        "grouped_pad_fraction": round(grouped["pad_fraction"], 4),
        "random_pad_fraction_mean_of_20": round(statistics.mean(randoms), 4),
        "packed": {
            "pack_length": pack_length,
            **packing_stats(
                lengths, pack_length, pack_rows or pack_rows_for(lengths, batch_size, pack_length), seed
            ),
        },
    }


def _worker(ns) -> None:
    if ns.worker == "data_path":
        out = run_data_path(ns.model_dir, ns.data_dir, ns.batch_size, ns.max_pixels or None)
        Path(ns.worker_out).write_text(json.dumps(out))
        return
    (method,) = ns.method  # one method per worker
    out = run_path(
        ns.worker,
        ns.model_dir,
        ns.data_dir,
        ns.device,
        method,
        ns.batch_size,
        ns.seed,
        pack_length=ns.pack_length,
        pack_rows=ns.pack_rows,
    )
    Path(ns.worker_out).write_text(json.dumps(out))


def compare(runs: dict[str, list[dict]]) -> dict:
    """Median run of each path (by real tokens/s) and the ratios the issue's targets are about."""

    def median_run(items: list[dict]) -> dict:
        mid = sorted(items, key=lambda r: r["real_tokens_per_s"])[len(items) // 2]
        return {**mid, "real_tokens_per_s_all": [r["real_tokens_per_s"] for r in items]}

    ours, stock = median_run(runs["ours"]), median_run(runs["stock"])
    pad_ratio = ours["pad_fraction"] / stock["pad_fraction"]
    speedup = ours["real_tokens_per_s"] / stock["real_tokens_per_s"]
    out = {
        "ours": ours,
        "stock": stock,
        "pad_fraction_ratio_ours_over_stock": round(pad_ratio, 4),
        "real_tokens_per_s_speedup": round(speedup, 3),
        "real_tokens_per_cpu_s_speedup": round(
            ours["real_tokens_per_cpu_s"] / stock["real_tokens_per_cpu_s"], 3
        ),
        "targets": {
            "pad_fraction_at_most_third_of_stock": pad_ratio <= 1 / 3,
            "real_tokens_per_s_at_least_1.3x": speedup >= 1.3,
        },
    }
    if runs.get("packed"):
        packed = median_run(runs["packed"])
        over_grouped = packed["real_tokens_per_s"] / ours["real_tokens_per_s"]
        over_stock = packed["real_tokens_per_s"] / stock["real_tokens_per_s"]
        out["packed"] = packed
        out["packed_real_tokens_per_s_over_grouped"] = round(over_grouped, 3)
        out["packed_real_tokens_per_s_over_stock"] = round(over_stock, 3)
        out["packed_real_tokens_per_cpu_s_over_grouped"] = round(
            packed["real_tokens_per_cpu_s"] / ours["real_tokens_per_cpu_s"], 3
        )
        out["targets"]["packed_at_least_grouped"] = over_grouped >= 1.0
        out["targets"]["packed_at_least_1.3x_stock"] = over_stock >= 1.3
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--family", default="qwen2_vl", choices=["qwen2_vl"])
    ap.add_argument("--method", nargs="+", default=None, help="full lora qlora freeze (default: lora full)")
    ap.add_argument("--samples", type=int, default=None, help="records (default: cpu 128, cuda 512)")
    ap.add_argument(
        "--model", choices=["tiny", "small", "2b"], default=None, help="default: cpu small, cuda 2b"
    )
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--pack-length", type=int, default=1024, help="packed path: tokens per row (max_length)")
    ap.add_argument(
        "--pack-rows",
        type=int,
        default=None,
        help="packed path: rows per step (default: the grouped batch's tokens)",
    )
    ap.add_argument(
        "--paths", nargs="+", default=["stock", "ours", "packed"], choices=["stock", "ours", "packed"]
    )
    ap.add_argument("--repeats", type=int, default=None, help="default: 2 (--data-path-only: 5)")
    ap.add_argument(
        "--data-path-only",
        action="store_true",
        help="measure the data path alone (dataset + collator, real images, no model) -> "
        "bench/results/train_data_path_<label>.json",
    )
    ap.add_argument(
        "--quiet-load", type=float, default=1.5, help="--data-path-only: wait for this 1-min load"
    )
    ap.add_argument("--quiet-wait", type=float, default=240, help="--data-path-only: at most this long (s)")
    ap.add_argument("--label", default="before", help="--data-path-only: before | after (the refactor)")
    ap.add_argument(
        "--max-pixels", type=int, default=CAP_PIXELS, help="--data-path-only: the run's max_pixels (0: none)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    for hidden in ("--worker", "--worker-out", "--model-dir", "--data-dir"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    ns = ap.parse_args(argv)
    if ns.worker:
        return _worker(ns)
    if ns.data_path_only:
        ns.repeats = ns.repeats or 5
        ns.samples = ns.samples or 512
        out = Path(ns.out or HERE / "results" / f"train_data_path_{ns.label}.json")
        report = data_path_bench(ns)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_name(out.name + ".tmp")
        tmp_out.write_text(json.dumps(report, indent=2) + "\n")
        tmp_out.replace(out)
        keys = (
            "samples_per_s_median",
            "samples_per_s_all",
            "samples_per_cpu_s_median",
            "load_average_1_5_15",
        )
        print(json.dumps({k: report[k] for k in keys}, indent=2))
        return None
    ns.repeats = ns.repeats or 2
    methods = ns.method or (["lora", "full"] if ns.device == "cpu" else ["lora", "qlora"])
    samples = ns.samples or (128 if ns.device == "cpu" else 512)
    ns.model = ns.model or ("small" if ns.device == "cpu" else "2b")
    out = Path(ns.out or HERE / "results" / f"train_throughput_{ns.device}.json")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if ns.device == "cpu":
        env["OMP_NUM_THREADS"] = "1"

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_dir = write_data(tmp / "data", samples, ns.seed)
        model_dir = make_model(ns.model, tmp / "model")
        for method in methods:
            runs: dict[str, list[dict]] = {p: [] for p in ns.paths}
            for rep in range(ns.repeats):
                for path in ns.paths if rep % 2 == 0 else ns.paths[::-1]:
                    res = tmp / f"{method}-{path}-{rep}.json"
                    cmd = [sys.executable, __file__, "--worker", path, "--worker-out", str(res),
                           "--model-dir", str(model_dir), "--data-dir", str(data_dir), "--device", ns.device,
                           "--method", method, "--batch-size", str(ns.batch_size), "--seed", str(ns.seed),
                           "--pack-length", str(ns.pack_length)]  # fmt: skip
                    if ns.pack_rows:
                        cmd += ["--pack-rows", str(ns.pack_rows)]
                    subprocess.run(cmd, check=True, env=env)
                    runs[path].append(json.loads(res.read_text()))
                    rate = runs[path][-1]["real_tokens_per_s"]
                    print(f"{method} {path} rep {rep}: {rate} real tokens/s", file=sys.stderr)
            results[method] = compare(runs)
        padding = sampler_padding(data_dir, model_dir, ns.batch_size, ns.seed, ns.pack_length, ns.pack_rows)

    import torch
    import transformers
    import trl

    report = {
        "benchmark": "train_throughput",
        "device": ns.device,
        "family": ns.family,
        "model": {
            "tiny": "vlmtrain.tiny qwen2_vl (0.4M params)",
            "2b": "Qwen2-VL-2B config, random weights",
            "small": f"qwen2_vl 6.1M params {ARCHS['small']}, random weights",
        }[ns.model],  # fmt: skip
        "dataset": {
            "samples": samples,
            "mix": [{"kind": k, "share": s, "images": i, "answer_words": a} for k, s, i, a, _t in MIX],
            "image_sizes": SIZES,
            "max_pixels": CAP_PIXELS,
        },  # fmt: skip
        "batch_size": ns.batch_size,
        "repeats": ns.repeats,
        "epoch_padding_from_lengths": padding,
        "methods": results,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "cpu_count": os.cpu_count(),
            "torch_threads": 1 if ns.device == "cpu" else None,
            "machine": platform.machine(),
        },
        "pack_length": ns.pack_length,
        "notes": "Same model init, data, batch size and optimizer in all paths (packed: rows_per_step rows of "
        "pack_length tokens, as many tokens per step as the grouped batch on average); each path trains one full "
        "epoch (every sample once) in its own process; paths alternate; median of the repeats by real "
        "tokens/s (wall clock). real_tokens_per_cpu_s uses process CPU time (one torch thread), which other "
        "load on a shared machine does not inflate. The stock path's loss includes image placeholders and "
        "prompts (label_fraction_image_or_prompt); ours only assistant turns.",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text(json.dumps(report, indent=2) + "\n")
    tmp_out.replace(out)
    keys = (
        "pad_fraction_ratio_ours_over_stock",
        "real_tokens_per_s_speedup",
        "packed_real_tokens_per_s_over_grouped",
        "packed_real_tokens_per_s_over_stock",
        "targets",
    )
    print(json.dumps({m: {k: r[k] for k in keys if k in r} for m, r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
