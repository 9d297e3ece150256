"""LFM2-VL: the template writes `<image>`; the processor expands it to the image's tiles (row/column
tags, a thumbnail) or one resized tile, delimited by `<|image_start|>`/`<|image_end|>` (header rule in
tokens.py). The LFM2 language model is a hybrid of short-convolution and attention layers whose
projections are named in_proj/out_proj (convolutions), q/k/v/out_proj (attention) and w1/w2/w3 (MLP):
LoRA targets those, inside the language model only. The image processor exists only with torchvision.
Packing is refused: a convolution layer mixes each token with the two before it, and position ids do
not reset it at a packed sample's start. Tiny model: tiny.py.

The tiny model carries LiquidAI/LFM2-VL-450M's chat_template.jinja as a Hub download of August 2025 holds
it (vlmtrain/real_models/): ChatML after the BOS, every role's text parts in place, `<image>` per image.
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.lfm2_vl import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = Family(
    name="lfm2_vl",
    model_types=("lfm2_vl",),
    image_token="<image>",
    image_related_tokens=("<|image_start|>", "<|image_end|>", "<|img_thumbnail|>"),
    image_related_pattern=r"<\|img_row_\d+_col_\d+\|>",
    lora_projections=("q_proj", "k_proj", "v_proj", "out_proj", "in_proj", "w1", "w2", "w3"),
    fsdp_wrap_classes=("Lfm2DecoderLayer", "Siglip2EncoderLayer"),
    model_class="Lfm2VlForConditionalGeneration",
    processor_class="Lfm2VlProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    image_backends=("torchvision",),
    template=RealTemplate("LiquidAI/LFM2-VL-450M", "a committed Hub download of 2025-08, one copy"),
    packing=None,
    packing_refusal="its short-convolution layers mix each token with the ones before it, and restarting "
    "position ids does not reset the convolution at a packed sample's start",
)
