"""HunyuanOCR (`hunyuan_vl`, HunYuanVLForConditionalGeneration): the template writes
`<｜hy_place▁holder▁no▁100｜><｜hy_place▁holder▁no▁102｜><｜hy_place▁holder▁no▁101｜>` per image and
HunYuanVLProcessor expands the middle token to rows * (cols + 1) + 2 image tokens (a newline feature per
row of merged patches, begin/end features; header rule in tokens.py, smart_resize with patch 16, merge 2).
The vision merger is the projector (`model.vision_tower.patch_merger`). The text model is Hunyuan's dense
decoder (q/k norms) with xD-RoPE: 4 rotary axes (position, width, height, image index) that the model
builds in its forward from `mm_token_type_ids` (1 on image tokens), which the processor returns and the
collator pads with input_ids (right padding: the model drops padded positions through attention_mask).
Tiny model: tiny.py.

In a padded batch transformers' `get_rope_index` numbers images across the whole batch (the image-index
axis of row 2's first image continues from row 1's images), while each sample alone, and at inference,
starts at 0. The family's `load_model` therefore runs the model's own get_rope_index row by row
(rope.py), so a padded batch, in training and in prediction, equals its rows one by one.

Packing is refused: a packed row would need the text row plus the model's 4 xD-RoPE rows, and the packed
layout holds the text row plus 3 M-RoPE rows.

Video: refused (HunYuanVLProcessor takes images only).

Template: unverified. No copy of tencent/HunyuanOCR's published chat template is proven byte for byte
(third-party reimplementations show its layout, BOS, the system prompt closed by
`<｜hy_place▁holder▁no▁3｜>`, user content closed by `<｜hy_User｜>`, and a script notes that an earlier
ModelScope revision wrote the image token without its start/end, which transformers 5 refuses), so the
tiny model carries the family's own template in that layout (tiny.py), typed parts in every role.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.encoding.expansion import TokenRule
from vlmtrain.families.base import Family
from vlmtrain.families.hunyuan_vl import rope, tiny, tokens
from vlmtrain.families.qwen2_vl.tokens import unsupported as pixel_budget_unsupported


@dataclass
class HunyuanVLFamily(Family):
    """HunyuanOCR: the loaded model computes xD-RoPE positions per row of a batch (see the module docstring)."""

    def load_model(self, path, **kwargs):
        return rope.per_row(super().load_model(path, **kwargs))


FAMILY = HunyuanVLFamily(
    name="hunyuan_vl",
    model_types=("hunyuan_vl",),
    image_token=tiny.IMAGE,
    image_related_tokens=(tiny.IMAGE_START, tiny.IMAGE_END),
    vision_tower="model.vision_tower",
    projector="model.vision_tower.patch_merger",
    fsdp_wrap_classes=("HunYuanVLDenseV1DecoderLayer", "HunYuanVLVisionBlock"),
    model_class="HunYuanVLForConditionalGeneration",
    processor_class="HunYuanVLProcessor",
    tiny=tiny.TINY,
    # Qwen2-VL's pixel-budget settings check, this family's count and refusal
    rule=TokenRule(unsupported=pixel_budget_unsupported, expand=tokens.expand, refusal=tokens.refusal),
    packing=None,
    packing_refusal=(
        "HunyuanOCR's xD-RoPE has 4 position axes (position, width, height, image index): a packed row would "
        "need 5 position rows, and packed rows hold the text row plus 3 M-RoPE rows"
    ),
    video_refusal="HunYuanVLProcessor takes images only",
)
