"""InternVL 3 / 3.5, transformers-native (OpenGVLab/InternVL3-*-hf, InternVL3_5-*-HF): each image becomes
`<img>` + `<IMG_CONTEXT>` x 256 per tile + `</img>`, tiles from crop_to_patches (tokens.py).

pixel_values are every tile of every image stacked (tiles, 3, H, W), the model matching them to the
`<IMG_CONTEXT>` runs in order, so the default collate (concatenate along dim 0) is right. The Qwen2/
Qwen3 decoder is `model.language_model`; the projector (pixel shuffle + MLP) `model.multi_modal_projector`.
Tiny model: tiny.py.
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.internvl import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = Family(
    name="internvl",
    model_types=("internvl",),
    image_token="<IMG_CONTEXT>",
    image_related_tokens=("<img>", "</img>", "<video>"),
    fsdp_wrap_classes=(
        "Qwen2DecoderLayer",
        "Qwen3DecoderLayer",
        "Qwen3MoeDecoderLayer",
        "InternVLVisionLayer",
    ),
    model_class="InternVLForConditionalGeneration",
    processor_class="InternVLProcessor",
    template=RealTemplate("OpenGVLab/InternVL3-1B-hf", "transformers' conversion script; Liger-Kernel"),
    tiny=tiny.TINY,
    rule=tokens.RULE,
)
