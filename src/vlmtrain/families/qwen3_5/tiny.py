"""Tiny Qwen3.5: a hybrid text model of 2 layers (one Gated DeltaNet linear-attention layer, one full
attention layer; hidden 64, head_dim 16, interleaved mrope 2+3+3), Qwen3-VL's tiny vision tower
without DeepStack, Qwen3-VL's processor and image
settings; the template is the family's real one (`Family.build_tiny`)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families.qwen3_vl.tiny import (
    END_OF_TURN,
    VISION_CONFIG,
    processor,
    special_ids,
    text_config,
    tokenizer_and_image_processor,
    video_processor_config,
)
from vlmtrain.tiny.common import TinyModel, save

__all__ = ["END_OF_TURN", "TINY", "build"]


def build(out: Path) -> None:
    from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration

    tok, ip = tokenizer_and_image_processor()
    tc = text_config(
        tok,
        layer_types=["linear_attention", "full_attention"],  # real: 3 linear then 1 full, repeated
        linear_key_head_dim=16,
        linear_value_head_dim=16,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
    )
    vision = {k: v for k, v in VISION_CONFIG.items() if k != "deepstack_visual_indexes"}
    config = Qwen3_5Config(text_config=tc, vision_config=vision, **special_ids(tok))
    model = Qwen3_5ForConditionalGeneration(config)
    save(out, model, processor(tok, ip), END_OF_TURN, video_processor=video_processor_config())


TINY = TinyModel(build, END_OF_TURN)
