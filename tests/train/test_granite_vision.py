"""The real Granite Vision processor (fixtures/granite_vision_processor, from fms-hf-tuning) through the
llava_next family: anyres token counts, exact labels, and a forward+backward on a shrunken model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from family_records import MULTI_TURN, assistant_texts, image

pytestmark = pytest.mark.train
GRANITE = Path(__file__).parents[2] / "fixtures" / "granite_vision_processor"


@pytest.fixture(scope="module")
def granite():
    from vlmtrain.families import resolve_family

    fam = resolve_family(GRANITE)
    return fam, fam.load_processor(GRANITE)


def _record(size):
    return {
        "id": f"granite-{size[0]}x{size[1]}",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "text": None}, {"type": "text", "text": "Describe it."}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "A gray picture."}]},
        ],
        "images": [image("gray").resize(size)],
    }


@pytest.mark.parametrize(("size", "n_image_tokens"), [((384, 384), 1485), ((640, 480), 2929)])
def test_granite_image_token_counts_and_labels(granite, size, n_image_tokens):
    fam, proc = granite
    assert fam.name == "llava_next"
    batch = fam.encode(proc, [_record(size)])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    image_ids = fam.image_token_ids(proc)
    assert sum(t in image_ids for t in ids.tolist()) == n_image_tokens
    assert proc.tokenizer.decode(labels[labels != -100]) == "A gray picture.<|end_of_text|>"
    assert batch["image_sizes"].tolist() == [[size[1], size[0]]]


def test_granite_multi_turn_labels(granite):
    fam, proc = granite
    labels = fam.encode(proc, [MULTI_TURN])["labels"][0]
    got = proc.tokenizer.decode(labels[labels != -100])
    assert got == "".join(t + "<|end_of_text|>" for t in assistant_texts(MULTI_TURN))


@pytest.mark.slow
def test_granite_forward_backward_on_shrunken_config(granite):
    import torch
    from transformers import LlavaNextConfig

    from vlmtrain.collator import VLMCollator

    fam, proc = granite
    cfg = json.loads((GRANITE / "config.json").read_text())
    cfg["text_config"].update(
        hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_key_value_heads=2
    )
    cfg["vision_config"].update(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2
    )
    cfg["vision_feature_layer"] = -1
    torch.manual_seed(0)
    model = getattr(__import__("transformers"), fam.model_class)(LlavaNextConfig(**cfg))
    assert type(model.get_submodule(fam.lm_layers)[0]).__name__ in fam.wrap_classes(model)
    assert "GraniteDecoderLayer" in fam.wrap_classes(model) and "SiglipEncoderLayer" in fam.wrap_classes(
        model
    )
    batch = VLMCollator(proc, fam)([_record((384, 384))])
    out = model(**batch)
    assert torch.isfinite(out.loss)
    out.loss.backward()
