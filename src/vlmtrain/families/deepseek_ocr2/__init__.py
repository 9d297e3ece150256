"""DeepSeek-OCR-2 (deepseek-community/DeepSeek-OCR-2; DeepseekOcr2ForConditionalGeneration): the
template writes `<image>` per image; DeepseekOcr2Processor replaces it with one run of `<image>` tokens,
the image's 768 px local crops (2..6, only for an image over 768 px), its 1024 px global view (padded to
a square) and one view separator (header rule in tokens.py). Its vision tower (a SAM ViT-B whose patches
feed a Qwen2-like encoder of learned queries, bidirectional over the patches, causal over the queries)
is `model.vision_tower`, the linear projector `model.multi_modal_projector`; the language model
(`model.language_model`) is a causal DeepSeek-V2-style mixture of experts with ordinary multi-head
attention: routed experts are fused 3-D weights, not Linear layers, so LoRA's default targets are the
attention projections and the dense and shared-expert MLPs inside the language model only (the query
encoder's q/k/v/o are never targeted). No torchvision needed: the image processor exists PIL-backed too.

pixel_values are the global views (images, 3, 1024, 1024), pixel_values_local the crops of every image
(crops, 3, 768, 768, absent when no image has any) and num_local_patches the crops per image: all stack
image after image along dim 0, so the default collate is right for a batch.

Packing: "text". The language model is causal with 1-D RoPE and token-wise routing (no capacity, no
sequence-level term in the forward), and the images' features depend on their pixels alone, so a packed
sample sees what it sees alone (tests/train/test_packing.py checks the logits).

Video: refused, DeepseekOcr2Processor takes images only.

Known failure (upstream): a saved LoRA adapter does not reload (`predict --adapter`, `merge`, resuming).
peft 0.21.2 runs an adapter's keys through transformers 5.25's checkpoint renaming for deepseek_ocr2, whose
`(^|model\\.)layers\\.` -> `\\1language_model.layers.` also matches the model's own
`model.language_model.layers.`: the language model's LoRA weights come out renamed and are reported missing
(vlmtrain refuses with that message). Training, save and full-model merges of other runs are unaffected;
tests/train/test_merge.py marks it a strict known failure.

Template: unverified. transformers' convert_deepseek_ocr2_weights_to_hf builds the processor with no
chat_template argument, and the original checkpoint (deepseek-ai/DeepSeek-OCR-2) formats prompts in its
own code ("<image>\nFree OCR."); no published template is held, so the tiny model carries a
DeepSeek-VL2-style one of ours (tiny.py). It takes every role as typed parts.
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.deepseek_ocr2 import tiny, tokens

FAMILY = Family(
    name="deepseek_ocr2",
    model_types=("deepseek_ocr2",),
    image_token="<image>",
    fsdp_wrap_classes=(
        "DeepseekOcr2TextDecoderLayer",
        "DeepseekOcr2SamVisionLayer",
        "DeepseekOcr2VisionEncoderLayer",
    ),
    model_class="DeepseekOcr2ForConditionalGeneration",
    processor_class="DeepseekOcr2Processor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    video_refusal="DeepseekOcr2Processor takes images only",
)
