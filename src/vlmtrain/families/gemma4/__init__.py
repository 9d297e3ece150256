"""Gemma4: the template writes "\\n\\n<|image|>\\n\\n" for an image; the processor expands `<|image|>` to
`<|image>` + `<|image|>` x n + `<image|>` with n from the image's size and the soft-token budget (70 ..
1120, 280 on the released checkpoints; header rule in tokens.py). It returns `mm_token_type_ids` (1 on
soft tokens): with `use_bidirectional_attention="vision"` (the larger checkpoints) each image's tokens
attend to each other both ways, so packing is refused. Audio and video parts are refused with the
record's id; LoRA covers only the language model. Tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.encoding.parts import ImageTextOnly
from vlmtrain.families.base import Family
from vlmtrain.families.gemma4 import tiny, tokens


@dataclass
class Gemma4Family(ImageTextOnly, Family):
    def count_unsupported(self, processor):
        return tokens.unsupported(processor)

    def expand_image(self, processor, width, height):
        return tokens.expand(processor, width, height)

    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = Gemma4Family(
    name="gemma4",
    model_types=("gemma4",),
    image_token="<|image|>",
    image_related_tokens=("<|image>", "<image|>"),
    vision_tower="model.vision_tower",
    projector="model.embed_vision",
    language_model="model.language_model",
    lm_layers="model.language_model.layers",
    fsdp_wrap_classes=("Gemma4TextDecoderLayer", "Gemma4VisionEncoderLayer", "Gemma4AudioLayer"),
    model_class="Gemma4ForConditionalGeneration",
    processor_class="Gemma4Processor",
    tiny_end_of_turn=tiny.END_OF_TURN,
    packing=None,
    packing_refusal="with use_bidirectional_attention='vision' (the larger checkpoints) each image's tokens "
    "attend to each other in both directions, and the image blocks are found from mm_token_type_ids over "
    "the whole row, so packed samples' masks cannot be kept apart exactly",
)
