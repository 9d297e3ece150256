"""Gemma3n: the template writes `<image_soft_token>`; the processor expands each one to
"\\n\\n<start_of_image>" + "<image_soft_token>" x image_seq_length + "<end_of_image>\\n\\n" whatever the image
size (256 soft tokens on google/gemma-3n-E2B-it: the 768 px MobileNet-v5 output pooled to 16 x 16), so the
header rule is Gemma3's without pan-and-scan (imported from its package). It returns `token_type_ids`
(1 on soft tokens). The model also has an audio tower: audio parts are refused with the record's id, and
LoRA covers only the language model (never the vision/audio towers or their embedders). Its attention is
causal everywhere (token_type_ids are returned but not read for masking) and AltUp, LAuReL, per-layer
embeddings and activation sparsity act per token, so packing keeps the default "text" (tests/train/
test_packing.py proves packed loss, gradients and logits equal the padded batch's).

google/gemma-3n-E2B-it's template (vlmtrain/real_models/) is Gemma 3's with audio: it folds the system
text into the first user turn, a string whole but a list of parts by its first part's text only, so the
system turn is passed as a string (every part's text).
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import TokenRule, always_counted
from vlmtrain.families.base import Family
from vlmtrain.families.gemma3 import tokens
from vlmtrain.families.gemma3n import tiny
from vlmtrain.families.real_template import RealTemplate

FAMILY = Family(
    name="gemma3n",
    model_types=("gemma3n",),
    image_token="<image_soft_token>",
    image_related_tokens=("<start_of_image>", "<end_of_image>"),
    projector="model.embed_vision",
    # The vision tower is one unit at its transformers wrapper: TimmWrapperModel runs the timm encoder
    # through `forward_features`, a method call FSDP's hooks on MobileNetV5Encoder would never see.
    fsdp_wrap_classes=("Gemma3nTextDecoderLayer", "TimmWrapperModel", "Gemma3nAudioEncoder"),
    model_class="Gemma3nForConditionalGeneration",
    processor_class="Gemma3nProcessor",
    tiny=tiny.TINY,
    string_content_roles=("system",),
    template=RealTemplate("google/gemma-3n-E2B-it", "transformers' conversion script; an app's Swift copy"),
    # Gemma3's expansion without pan-and-scan: no cropping, a fixed count per image. The template writes
    # the soft token itself, so the placeholder is the processor's image token.
    rule=TokenRule(unsupported=always_counted, expand=tokens.expand),
    image_counts_size_independent=True,
)
