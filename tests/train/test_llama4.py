"""Llama 4: the header rule against Llama4Processor at the released checkpoints' settings (336 px tiles,
patch 14, pixel shuffle 0.5, up to 16 tiles), and the language backbone trl's fused LM head trains through
(its loss equals the model's own)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from vlmtrain.families import resolve_family

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def llama4(tiny_model):
    return resolve_family("llama4"), tiny_model("llama4")


def checkpoint_processor(path, max_patches: int = 16):
    """Llama4Processor as Scout/Maverick configure it, on the tiny tokenizer (same special tokens)."""
    from transformers import AutoTokenizer, Llama4ImageProcessor, Llama4Processor

    ip = Llama4ImageProcessor(size={"height": 336, "width": 336}, max_patches=max_patches)
    return Llama4Processor(ip, AutoTokenizer.from_pretrained(path), patch_size=14, pixel_shuffle_ratio=0.5)


def real_count(processor, width: int, height: int) -> int:
    out = processor(text=["<|image|>"], images=[Image.new("RGB", (width, height))], add_special_tokens=False)
    return len(out["input_ids"][0])


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        # 1 tile: start + <|image|> + 144 + end; a 3 x 4 canvas adds 12 tiles and 12 separators
        ((1, 1), 147),
        ((336, 336), 147),
        ((640, 480), 727),  # 2 x 2 tiles
        ((4000, 3000), 1887),  # 3 x 4 tiles
        ((1920, 1080), 2322),  # 3 x 5 tiles
        ((5000, 1), 2322),  # 1 x 15 tiles: the smallest upscale (5040 / 5000), not 1 x 16
    ],
)
def test_checkpoint_counts_equal_the_processor(llama4, size, expected):
    fam, path = llama4
    proc = checkpoint_processor(path)
    assert fam.expand_image(proc, *size).image_tokens == real_count(proc, *size) == expected


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(w=st.integers(1, 4000), h=st.integers(1, 4000), max_patches=st.sampled_from([16, 4, 1]))
def test_rule_equals_the_processor_on_any_size(tiny_model, w, h, max_patches):
    fam, path = resolve_family("llama4"), tiny_model("llama4")
    proc = checkpoint_processor(path, max_patches)
    exp = fam.expand_image(proc, w, h)
    ids = proc.tokenizer(exp.text, add_special_tokens=False)["input_ids"]
    assert exp.image_tokens == len(ids) + exp.extra == real_count(proc, w, h)


def test_fused_lm_head_loss_equals_the_models_own(llama4):
    """trl's SFTTrainer computes the loss from `base_model`'s hidden states: the family's backbone gives the
    same loss as the model's forward, images included, and registers no module (names unchanged)."""
    import torch
    from family_records import ALL
    from trl.trainer.utils import add_fused_lm_head

    fam, path = llama4
    proc, model = fam.load_processor(path), fam.load_model(path).eval()
    names = [n for n, _ in model.named_modules()]
    batch = fam.encode(proc, [r for r in ALL if r["images"]][:2])
    assert batch["pixel_values"].dtype == torch.float32  # the processor's bfloat16, widened
    with torch.no_grad():
        native = model(**batch).loss
        add_fused_lm_head(model, outputs=("log_probs",))
        fused = model(**batch, fused_lm_head=True).loss
    assert torch.allclose(native, fused, atol=1e-5)
    assert [n for n, _ in model.named_modules()] == names
    assert type(model).__name__ == "Llama4ForConditionalGeneration"


def test_bfloat16_model_takes_the_collated_pixels_without_autocast(llama4):
    """The processor's bfloat16 pixels reach the collator as float32 (a float32 model takes them), and a
    bfloat16 model loaded by the family casts them to its vision tower's dtype itself."""
    import torch
    from family_records import ALL

    fam, path = llama4
    proc = fam.load_processor(path)
    batch = fam.encode(proc, [r for r in ALL if r["images"]][:1])
    with torch.no_grad():
        loss16 = fam.load_model(path, dtype=torch.bfloat16)(**batch).loss
        loss32 = fam.load_model(path)(**batch).loss
    assert torch.isfinite(loss16) and torch.isfinite(loss32)
    assert abs(loss16.item() - loss32.item()) < 0.05
