"""Qwen3-VL, dense and MoE (`qwen3_vl`, `qwen3_vl_moe`): Qwen2-VL's token layout and header rule (see
qwen2_vl/) with patch 16, so image sides snap to multiples of 32:

    <|vision_start|><|image_pad|> x prod(image_grid_thw) / 4 <|vision_end|>

Both model types share `Qwen3VLProcessor`, the tokenizer and the chat template, and differ in the
text decoder (MoE layers: fused experts, LoRA then reaches attention only). The processor also returns
`mm_token_type_ids` (1 on image tokens), which the model needs for M-RoPE; it is padded like input_ids.
DeepStack adds features from inner vision blocks to the first LM layers through
`model.visual.deepstack_merger_list` (counted as vision tower: the contract has one projector prefix,
`model.visual.merger`). Packed rows take 4-row position ids from the model's own get_rope_index, as
Qwen2-VL's do (MoE checkpoints: their own model class's). Videos: tokens.py `VIDEO` (frames as
Qwen3VLVideoProcessor samples them, each temporal patch written with its `<t seconds>` timestamp).
Tiny model: tiny.py.
"""

from __future__ import annotations

from vlmtrain.families.qwen2_vl import FAMILY as QWEN2_VL
from vlmtrain.families.qwen3_vl import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = QWEN2_VL.derive(
    name="qwen3_vl",
    model_types=("qwen3_vl", "qwen3_vl_moe"),
    fsdp_wrap_classes=(
        "Qwen3VLTextDecoderLayer",
        "Qwen3VLVisionBlock",
        "Qwen3VLMoeTextDecoderLayer",
        "Qwen3VLMoeVisionBlock",
    ),
    model_class="Qwen3VLForConditionalGeneration",
    model_classes={"qwen3_vl_moe": "Qwen3VLMoeForConditionalGeneration"},
    processor_class="Qwen3VLProcessor",
    rope_index_class="Qwen3VLModel",
    rope_index_classes={"qwen3_vl_moe": "Qwen3VLMoeModel"},
    template=RealTemplate("Qwen/Qwen3-VL-8B-Instruct", "its GGUF's template, sha256-pinned in TensorSharp"),
    tiny=tiny.TINY,
    video=tokens.VIDEO,
)
