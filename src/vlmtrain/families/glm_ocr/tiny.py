"""Tiny GLM-OCR (`GlmOcrForConditionalGeneration`): text hidden 64 x 2 layers (GLM's post-attention and
post-MLP norms, fused gate_up_proj, partial rotary 0.5 with mrope 2+1+1), vision 32 wide x 1 block with
q/k norms and biased projections, patch 14, no learned position grid (GLM-OCR's tower has none);
`Glm46VProcessor` with `Glm46VImageProcessorPil`, as the checkpoint's preprocessor config names them.

Template: GLM-OCR's own is not held (ORIGIN.md: one copy found), so the tiny model carries the nearest
verified one, zai-org/GLM-4.1V-9B-Thinking's (same special tokens, image placeholder and turn markers)."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.families.glm4v import tiny as glm4v_tiny
from vlmtrain.families.real_template import RealTemplate
from vlmtrain.tiny.common import TinyModel, save

# The nearest verified template (see the module docstring): the tiny model's own, not GLM-OCR's.
NEAREST_TEMPLATE = RealTemplate("zai-org/GLM-4.1V-9B-Thinking", "hash-verified; GLM-OCR's own not held")


def video_processor_config() -> dict:
    """GLM-4.1V's tiny video processor settings, as the Glm46V video processor GLM-OCR's processor takes."""
    return {**glm4v_tiny.video_processor_config(), "video_processor_type": "Glm46VVideoProcessor"}


def build(out: Path) -> None:
    from transformers import (
        Glm46VImageProcessorPil,
        Glm46VProcessor,
        GlmOcrConfig,
        GlmOcrForConditionalGeneration,
    )

    from vlmtrain.encoding.compat import no_video_subclass

    tok, ip = glm4v_tiny.tokenizer_and_image_processor(Glm46VImageProcessorPil)
    processor = no_video_subclass(Glm46VProcessor)(
        image_processor=ip, tokenizer=tok, chat_template=NEAREST_TEMPLATE.text()
    )
    text = glm4v_tiny.text_config(tok, model_type="glm_ocr_text", head_dim=16)
    vision = _common.merger_vision_config(model_type="glm_ocr_vision", patch_size=14, image_size=28)
    config = GlmOcrConfig(text_config=text, vision_config=vision, **glm4v_tiny.special_ids(tok))
    model = GlmOcrForConditionalGeneration(config)
    save(out, model, processor, END_OF_TURN, video_processor=video_processor_config(), stops=STOPS)


END_OF_TURN = glm4v_tiny.END_OF_TURN  # the template closes no assistant turn (glm4v/tiny.py)
# GLM-OCR's generation_config stops on 59246 and 59253 (<|endoftext|>, <|user|>): the tiny model stops on
# the same tokens plus <|observation|>, as GLM-4.1V's.
STOPS = glm4v_tiny.STOPS

TINY = TinyModel(build, END_OF_TURN)
