"""Shared by test_predict and test_merge: canonical shards, a LoRA adapter trained a few steps, and an
adapter made for a different base model."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def png(color: str, size: int = 32) -> dict:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": f"{color}.png"}


def qa(rid: str, question: str, answer: str, color: str, size: int = 32) -> dict:
    return {
        "id": rid,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "text": None}, {"type": "text", "text": question}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ],
        "images": [png(color, size)],
        "source": "test",
    }


# Different prompt lengths and image sizes (32 px -> 1 image token, 56 px -> 4), so batches need padding.
RECORDS = [
    qa("r0", "What is in the image?", "A red square.", "red"),
    qa("r1", "Describe this picture.", "A small blue circle.", "blue", 56),
    qa("r2", "How many objects are there? Compare the two images.", "There are two objects.", "green"),
    qa("r3", "What is it?", "A red square.", "white", 56),
    qa("r4", "Describe this picture. What is in the image?", "The first one is red.", "black"),
]


def write_shards(folder: Path, records: list[dict], split: str = "validation") -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(records, schema=ARROW_SCHEMA)
    pq.write_table(table, folder / f"{split}-00000-of-00001.parquet")
    return folder


def train_lora(base: Path, out: Path, steps: int = 3) -> Path:
    """A LoRA adapter on the language model, trained `steps` AdamW steps on RECORDS (B starts non-zero, so
    the adapter changes outputs even before training)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from vlmtrain.families import resolve_family

    family = resolve_family(base)
    processor = family.load_processor(base)
    model = family.load_model(base)
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=family.lora_target_modules, init_lora_weights=False)
    model = get_peft_model(model, config)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    batch = family.encode(processor, RECORDS)
    for _ in range(steps):
        loss = model(**batch).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    model.save_pretrained(out)
    return out


def foreign_adapter(out: Path) -> Path:
    """A LoRA adapter for a tiny *text-only Llama* (hidden 32): its q_proj/v_proj shapes fit no Qwen2-VL."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2
    )
    model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    model.save_pretrained(out)
    return out


def narrower_qwen_adapter(out: Path) -> Path:
    """A LoRA adapter for a Qwen2-VL whose text model is 32 wide (the tiny one is 64): same module names,
    other shapes, as when an adapter for a 2B model meets a 7B one."""
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    from vlmtrain.families import resolve_family
    from vlmtrain.families.qwen2_vl import tiny as tiny_qwen

    tok, _ = tiny_qwen.tokenizer_and_image_processor()
    text = tiny_qwen.text_config(tok)
    text.update(
        hidden_size=32,
        intermediate_size=64,
        rope_parameters={**text["rope_parameters"], "mrope_section": [2, 1, 1]},
    )
    config = Qwen2VLConfig(
        text_config=text,
        vision_config=dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=14),
        **tiny_qwen.special_ids(tok),
    )
    lora = LoraConfig(r=2, target_modules=resolve_family("qwen2_vl").lora_target_modules)
    get_peft_model(Qwen2VLForConditionalGeneration(config), lora).save_pretrained(out)
    return out
