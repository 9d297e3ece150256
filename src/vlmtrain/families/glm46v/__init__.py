"""GLM-4.6V (`glm46v`, transformers' Glm46VForConditionalGeneration with Glm46VProcessor): GLM-4.1V's
token layout, rule, turn rendering and packing (glm4v/), with the glm46v classes.

    <|begin_of_image|><|image|> x N<|end_of_image|>, N = prod(image_grid_thw) / 4 (tokens.py: glm4v's rule)

Which checkpoints: zai-org/GLM-4.6V (106B MoE) and GLM-4.6V-Flash (9B dense) publish `config.json` with
model_type `glm4v_moe` and `glm4v` (Glm4vMoe/Glm4vForConditionalGeneration) and only their
preprocessor config names `Glm46VProcessor`/`Glm46VImageProcessor`; those model types are the glm4v
family's, which loads them with Glm4vProcessor: for images the same classes and the same count (the
Glm46V image processors override nothing; the processor differs only in video frame text). This family
is model_type `glm46v`, transformers' own GLM-4.6V classes (a GLM-4.1V-shaped text model), for folders
saved with them; its real-processor test builds `Glm46VProcessor` with GLM-4.6V's settings.

Behaviour from glm4v (see its docstring): "[gMASK]<sop>" once, no closing token after an answer, so an
earlier answer trains through the "<|user|>" that follows it and the final one gets <|endoftext|>
appended; system and assistant turns as strings; LoRA on attention, `gate_up_proj` and `down_proj`;
packing with 4-row ids from Glm46VModel.get_rope_index (Glm4vModel's). Video parts are refused: Glm46VModel
is Glm4vModel, which matches image features against video frames' tokens too (the same <|image|>).
Template: unverified (GLM-4.6V's own is not held; the tiny model carries GLM-4.1V-9B-Thinking's, tiny.py).
"""

from __future__ import annotations

from dataclasses import replace

from vlmtrain.families.glm4v import FAMILY as GLM4V
from vlmtrain.families.glm46v import tiny, tokens

FAMILY = GLM4V.derive(
    name="glm46v",
    model_types=("glm46v",),
    fsdp_wrap_classes=("Glm4vTextDecoderLayer", "Glm4vVisionBlock"),
    model_class="Glm46VForConditionalGeneration",
    model_classes={},
    processor_class="Glm46VProcessor",
    tiny=tiny.TINY,
    rule=replace(GLM4V.rule, expand=tokens.expand),
    rope_index_class="Glm46VModel",
    rope_index_classes={},
)
