"""Mllama (Llama 3.2 Vision): one `<|image|>` per image, read through cross-attention layers.

Inputs per row: pixel_values (rows, images, tiles, 3, H, W), aspect_ratio_ids/mask, and
cross_attention_mask (rows, seq, images, tiles). Its processor refuses a call that mixes rows with and
without images, so rows are always encoded one by one (the default) and text-only rows get zeros for
all four (`per_row_keys`); zero cross-attention rows attend to nothing. No FlashAttention-2.
Header rule: tokens.py (one token per image); tiny model: tiny.py.

meta-llama/Llama-3.2-11B-Vision-Instruct's template writes the system text with `messages[0]['content']
|trim` (a list of parts would print as a Python list), so the system turn is passed as a string; user and
assistant turns take typed parts. It opens with a system header holding "Cutting Knowledge Date: December
2023" and "Today Date: <strftime_now>" whenever the user gives a system turn or no turn has an image.
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.mllama import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = Family(
    name="mllama",
    model_types=("mllama",),
    image_token="<|image|>",
    vision_tower="model.vision_model",
    fsdp_wrap_classes=(
        "MllamaSelfAttentionDecoderLayer",
        "MllamaCrossAttentionDecoderLayer",
        "MllamaVisionEncoderLayer",
    ),
    model_class="MllamaForConditionalGeneration",
    processor_class="MllamaProcessor",
    string_content_roles=("system",),
    template=RealTemplate(
        "meta-llama/Llama-3.2-11B-Vision-Instruct", "huggingface.js test; its GGUF's template"
    ),
    tiny=tiny.TINY,
    rule=tokens.RULE,
    supports_flash_attention_2=False,
    per_row_keys=("pixel_values", "aspect_ratio_ids", "aspect_ratio_mask", "cross_attention_mask"),
    packing=None,
    packing_refusal="its cross-attention layers read a row's images through one cross_attention_mask per row, "
    "so samples packed into a row would attend to each other's images",
)
