"""HunyuanOCR and Ovis2.5 behaviour the parametrized suites do not reach: HunyuanOCR's xD-RoPE image
index per row of a padded training batch (transformers' own counts images across the batch), and Ovis2.5
strips that its smart_resize shrinks to a zero side, refused by name where the processor raises."""

from __future__ import annotations

import pytest
import torch
from family_records import LATER_IMAGE, MULTI_IMAGE, SINGLE, TEXT_ONLY
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from vlmtrain.errors import VlmTrainError
from vlmtrain.families import resolve_family

pytestmark = pytest.mark.train
RECORDS = [TEXT_ONLY, SINGLE, MULTI_IMAGE, LATER_IMAGE]  # row 2's images follow row 1's in the batch


def _row_logits(model, family, processor, records):
    batch = family.encode(processor, records)
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    return [logits[i][batch["attention_mask"][i].bool()] for i in range(len(records))]


def test_hunyuan_padded_batch_equals_rows_one_by_one(tiny_loaded):
    family, processor, model = tiny_loaded("hunyuan_vl")
    model.eval()
    batched = _row_logits(model, family, processor, RECORDS)
    for record, row in zip(RECORDS, batched, strict=True):
        (alone,) = _row_logits(model, family, processor, [record])
        torch.testing.assert_close(row, alone, atol=1e-5, rtol=1e-4)


def test_hunyuan_stock_rope_index_numbers_images_across_the_batch(tiny_model):
    """What the family's per-row positions fix: the stock model's batch rows differ from themselves alone."""
    import transformers

    family = resolve_family("hunyuan_vl")
    path = tiny_model("hunyuan_vl")
    processor = family.load_processor(path)
    stock = transformers.HunYuanVLForConditionalGeneration.from_pretrained(str(path)).eval()
    batch = family.encode(processor, [SINGLE, SINGLE])
    pos, _ = stock.model.get_rope_index(
        batch["input_ids"], batch["mm_token_type_ids"], batch["image_grid_thw"], batch["attention_mask"]
    )
    # the grid inside each image's run (its first and last token hold the begin/end features, text positions)
    grid = [row.nonzero()[1:-1, 0] for row in batch["mm_token_type_ids"].bool()]
    assert set(pos[-1, 0, grid[0]].tolist()) == {0} and set(pos[-1, 1, grid[1]].tolist()) == {1}
    fixed, _ = family.load_model(path).model.get_rope_index(
        batch["input_ids"], batch["mm_token_type_ids"], batch["image_grid_thw"], batch["attention_mask"]
    )
    assert torch.equal(fixed[:, 0], fixed[:, 1]) and set(fixed[-1, 1, grid[1]].tolist()) == {0}


@pytest.mark.parametrize("size", [(2, 1000), (1000, 2)])
def test_ovis_strip_shrunk_to_zero_is_refused_by_name(tiny_loaded, size):
    family, processor, _ = tiny_loaded("ovis2_5")
    with pytest.raises(ValueError, match="Size must contain"):  # what the processor itself says
        processor(text=[processor.image_token], images=[Image.new("RGB", size)])
    record = {**SINGLE, "images": [Image.new("RGB", size)]}
    with pytest.raises(VlmTrainError, match=rf"\$\.images\[0\]: image is {size[0]}x{size[1]} px; Ovis2.5"):
        family.encode_one(processor, record)
    with pytest.raises(ValueError, match="Ovis2.5's smart_resize"):
        family.expand_image(processor, *size)


def _real_tokens(family, processor, width: int, height: int) -> int:
    """Tokens the processor writes for one image placeholder (the start/end Ovis2.5's writes included;
    HunyuanOCR's template writes its own around the placeholder, not counted)."""
    wrap = family.name == "hunyuan_vl"
    text = processor.image_token
    if wrap:
        text = processor.image_start_token + text + processor.image_end_token
    out = processor(text=[text], images=[Image.new("RGB", (width, height))])
    return len(out["input_ids"][0]) - (2 if wrap else 0)


@pytest.fixture(scope="module", params=["hunyuan_vl", "ovis2_5"])
def at_checkpoint(request, tiny_loaded):
    from real_processors import REAL

    family, processor, _ = tiny_loaded(request.param)
    return family, REAL[request.param](processor, "pil")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(width=st.integers(1, 5000), height=st.integers(1, 5000), strip=st.booleans())
@example(width=1, height=4000, strip=False)  # HunyuanOCR: aspect 4000 refused; Ovis2.5: a zero side
@example(width=4000, height=3000, strip=False)
@example(width=1, height=1, strip=False)
def test_rule_equals_processor_at_checkpoint_settings(at_checkpoint, width, height, strip):
    """Random sizes (every other one a thin strip) at the checkpoints' budgets: the rule's count, or its
    refusal exactly where the processor raises."""
    family, processor = at_checkpoint
    if strip:
        width = max(1, width // 500)
    try:
        expected = _real_tokens(family, processor, width, height)
    except ValueError:
        assert family.image_refusal(processor, width, height)
        return
    assert family.image_refusal(processor, width, height) is None
    expansion = family.expand_image(processor, width, height)
    text = len(processor.tokenizer(expansion.text, add_special_tokens=False)["input_ids"])
    assert text + expansion.extra == expected
