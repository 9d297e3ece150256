"""GLM-OCR (`glm_ocr`, zai-org/GLM-OCR; GlmOcrForConditionalGeneration): a GLM-4.1V-shaped 0.9B
document model whose checkpoint configures GLM-4.6V's processor classes (preprocessor_config.json:
Glm46VProcessor, Glm46VImageProcessor, patch 14, merge 2, 12544 .. 9633792 pixels).

    <|begin_of_image|><|image|> x N<|end_of_image|>, N = prod(image_grid_thw) / 4 (tokens.py: glm4v's rule)

Behaviour from glm4v (see its docstring): "[gMASK]<sop>" once, no closing token after an answer, so an
earlier answer trains through the "<|user|>" that follows it and the final one gets <|endoftext|>
appended; system and assistant turns as strings; LoRA on attention, `gate_up_proj` and `down_proj` inside
the language model; M-RoPE packing with 4-row ids from GlmOcrModel.get_rope_index (Glm4vModel's). Video
parts are refused: GlmOcrModel is Glm4vModel, which matches image features against video frames' tokens
too (the same <|image|>). Template: unverified (one copy of GLM-OCR's found, no second copy or hash; the
tiny model carries GLM-4.1V-9B-Thinking's, tiny.py).
"""

from __future__ import annotations

from dataclasses import replace

from vlmtrain.families.glm4v import FAMILY as GLM4V
from vlmtrain.families.glm_ocr import tiny, tokens

FAMILY = GLM4V.derive(
    name="glm_ocr",
    model_types=("glm_ocr",),
    fsdp_wrap_classes=("GlmOcrTextDecoderLayer", "GlmOcrVisionBlock"),
    model_class="GlmOcrForConditionalGeneration",
    model_classes={},
    processor_class="Glm46VProcessor",
    tiny=tiny.TINY,
    rule=replace(GLM4V.rule, expand=tokens.expand),
    rope_index_class="GlmOcrModel",
    rope_index_classes={},
)
