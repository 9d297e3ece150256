"""Tiny GLM-4.6V (`Glm46VForConditionalGeneration`): GLM-4.1V's tiny text and vision towers (glm4v/tiny.py:
text hidden 64 x 2 layers, fused gate_up_proj, partial rotary 0.5 with mrope 2+1+1; vision 32 wide x 1
block, patch 14) inside the `glm46v` classes, with `Glm46VProcessor` and its image processor.

Template: GLM-4.6V's own is not held (ORIGIN.md), so the tiny model carries the nearest verified one,
zai-org/GLM-4.1V-9B-Thinking's (same special tokens, same image placeholder and turn markers)."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.families.glm4v import tiny as glm4v_tiny
from vlmtrain.families.real_template import RealTemplate
from vlmtrain.tiny.common import TinyModel, save

# The nearest verified template (see the module docstring): the tiny model's own, not GLM-4.6V's.
NEAREST_TEMPLATE = RealTemplate("zai-org/GLM-4.1V-9B-Thinking", "hash-verified; GLM-4.6V's own not held")


def video_processor_config() -> dict:
    """GLM-4.1V's tiny video processor settings, as `Glm46VVideoProcessor` (its own frame sampling)."""
    return {**glm4v_tiny.video_processor_config(), "video_processor_type": "Glm46VVideoProcessor"}


def build(out: Path) -> None:
    from transformers import Glm46VConfig, Glm46VForConditionalGeneration, Glm46VProcessor
    from transformers.models.glm46v.image_processing_pil_glm46v import Glm46VImageProcessorPil

    from vlmtrain.encoding.compat import no_video_subclass

    tok, ip = glm4v_tiny.tokenizer_and_image_processor(Glm46VImageProcessorPil)
    processor = no_video_subclass(Glm46VProcessor)(
        image_processor=ip, tokenizer=tok, chat_template=NEAREST_TEMPLATE.text()
    )
    text = glm4v_tiny.text_config(tok, model_type="glm4v_text")
    vision = _common.merger_vision_config(model_type="glm4v_vision", patch_size=14, image_size=28)
    config = Glm46VConfig(text_config=text, vision_config=vision, **glm4v_tiny.special_ids(tok))
    model = Glm46VForConditionalGeneration(config)
    save(out, model, processor, END_OF_TURN, video_processor=video_processor_config(), stops=STOPS)


END_OF_TURN = glm4v_tiny.END_OF_TURN  # the template closes no assistant turn (glm4v/tiny.py)
STOPS = glm4v_tiny.STOPS

TINY = TinyModel(build, END_OF_TURN)
