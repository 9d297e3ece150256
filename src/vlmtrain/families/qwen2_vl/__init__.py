"""Qwen2-VL: `<|vision_start|><|image_pad|>*N<|vision_end|>`, N = prod(image_grid_thw) / merge_size^2.

pixel_values come flattened over all images (rows = patches) with `image_grid_thw` (images, 3), so the
default collate (concatenate along dim 0) is right. M-RoPE position ids are computed by the model from
input_ids, so right padding is fine. Header rule: tokens.py (smart_resize); tiny model: tiny.py; packed
rows take 4-row position ids (text row + the model's own M-RoPE rows per sample): packing.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import Family
from vlmtrain.families.qwen2_vl import packing, tiny, tokens


@dataclass
class Qwen2VLFamily(Family):
    # The transformers class whose get_rope_index builds this family's M-RoPE ids (packed rows).
    rope_index_class: str = "Qwen2VLModel"

    def packed_position_ids(self, feat, model_config=None):
        return packing.position_ids(self.rope_index_class, feat, model_config)

    def count_unsupported(self, processor):
        return tokens.unsupported(processor)

    def expand_image(self, processor, width, height):
        return tokens.expand(processor, width, height)

    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = Qwen2VLFamily(
    name="qwen2_vl",
    model_types=("qwen2_vl",),
    image_token="<|image_pad|>",
    image_related_tokens=("<|vision_start|>", "<|vision_end|>", "<|video_pad|>"),
    vision_tower="model.visual",
    projector="model.visual.merger",
    language_model="model.language_model",
    lm_layers="model.language_model.layers",
    fsdp_wrap_classes=("Qwen2VLDecoderLayer", "Qwen2VLVisionBlock"),
    model_class="Qwen2VLForConditionalGeneration",
    processor_class="Qwen2VLProcessor",
    tiny_end_of_turn=tiny.END_OF_TURN,
    packing="mrope",
)
