"""PaddleOCR-VL (PaddlePaddle/PaddleOCR-VL, -1.5): a NaViT SigLIP encoder and ERNIE-4.5-0.3B; built on
Qwen2-VL's family (its layout, M-RoPE packing) with its own tokens, modules and classes:

    <|IMAGE_START|><|IMAGE_PLACEHOLDER|> x prod(image_grid_thw) / 4 <|IMAGE_END|>

Header rule: tokens.py (Qwen2-VL's smart_resize after PaddleOCR-VL's raising of short sides, so 1 px
images count instead of being refused). The processor returns `mm_token_type_ids` (1 on image tokens),
which the model needs for its M-RoPE; padded like input_ids. Packed rows take 4-row position ids (the
text row + the model's own M-RoPE rows, `PaddleOCRVLModel.get_rope_index`), which its text model reads as
Qwen2-VL's does. The image processor is PIL- or torchvision-backed; nothing needs torchvision. Videos:
PaddleOCRVLProcessor takes none. Template: PaddleOCR-VL's published one is not held verbatim here
(real_models/ORIGIN.md), so the tiny model carries its own in the same layout (tiny.py).
"""

from __future__ import annotations

from vlmtrain.families.paddleocr_vl import tiny, tokens
from vlmtrain.families.qwen2_vl import FAMILY as QWEN2_VL

FAMILY = QWEN2_VL.derive(
    name="paddleocr_vl",
    model_types=("paddleocr_vl",),
    image_token="<|IMAGE_PLACEHOLDER|>",
    image_related_tokens=("<|IMAGE_START|>", "<|IMAGE_END|>"),
    vision_tower="model.visual",
    projector="model.projector",
    fsdp_wrap_classes=("PaddleOCRDecoderLayer", "PaddleOCRVisionEncoderLayer"),
    model_class="PaddleOCRVLForConditionalGeneration",
    processor_class="PaddleOCRVLProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    rope_index_class="PaddleOCRVLModel",
    video=None,
    video_refusal="PaddleOCRVLProcessor takes images only (no video processor)",
)
