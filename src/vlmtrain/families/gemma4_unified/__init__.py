"""Gemma 4 unified (google/gemma-4-12B, -12B-it; Gemma4UnifiedForConditionalGeneration): Gemma 4's
token layout with an encoder-free vision path. The template writes "<|image|>" for an image;
Gemma4UnifiedProcessor expands it to `<|image>` + `<|image|>` x n + `<image|>`, n from the same
aspect-preserving resize into the soft-token budget as Gemma 4 (280 on the checkpoint; the rule is
gemma4's, imported). The image processor exists only torchvision-backed. There is no vision tower: raw
48 px merged patches go through `model.embed_vision` (layer norms, one dense layer, factorized 2-D
position embeddings, then the projection `multimodal_embedder`), which is wrapped as one FSDP unit. LoRA
covers only the language model.

Packing is refused: with `use_bidirectional_attention="vision"` (the checkpoint's) each image's soft
tokens attend to each other both ways, found from `mm_token_type_ids` over the whole row. Video is
refused: the processor writes a per-frame "mm:ss" timestamp before each frame's soft tokens, frames
sampled by its own video processor; no rule here reproduces that sampling from the container header yet.
Audio parts are refused with the record's id, as Gemma 4's.

Template: unverified. One copy of a file named `google-gemma-4-12B-it.jinja` was found (a third-party
repository's `models/templates/`, 17832 characters, differing from google/gemma-4-31B-it's), with no second
copy or recorded hash to confirm it (ORIGIN.md). The tiny model carries google/gemma-4-31B-it's template
(held for gemma4), whose generation prompt opens the same empty thought channel, so the family keeps
Gemma 4's whole-conversation turn finding (`base.WholeConversationFamily`) and its system turn as a
string. Tiny model: tiny.py.
"""

from __future__ import annotations

from vlmtrain.families.gemma4 import FAMILY as GEMMA4
from vlmtrain.families.gemma4_unified import tiny, tokens

FAMILY = GEMMA4.derive(
    name="gemma4_unified",
    model_types=("gemma4_unified",),
    vision_tower="model.embed_vision",
    projector="model.embed_vision.multimodal_embedder",
    fsdp_wrap_classes=("Gemma4UnifiedTextDecoderLayer", "Gemma4UnifiedVisionEmbedder"),
    model_class="Gemma4UnifiedForConditionalGeneration",
    processor_class="Gemma4UnifiedProcessor",
    image_backends=("torchvision",),
    supports_flash_attention_2=False,  # the model refuses it: FA2 drops the bidirectional image mask
    tiny=tiny.TINY,
    rule=tokens.RULE,
    packing=None,
    packing_refusal="with use_bidirectional_attention='vision' (gemma-4-12B's) each image's soft tokens attend "
    "to each other in both directions, and the image blocks are found from mm_token_type_ids over the whole "
    "row, so packed samples' masks cannot be kept apart exactly",
    video=None,  # gemma4's video rule is not checked against Gemma4UnifiedVideoProcessor: refused
    video_refusal="Gemma4UnifiedProcessor writes a timestamp before each sampled frame's soft tokens, frames "
    "chosen by its own video processor; vlmtrain has no exact rule for that sampling yet",
)
