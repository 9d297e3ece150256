"""Tiny Ovis2.5: a Qwen3 text model, hidden 64 x 2 layers (head_dim 16, q/k norms); the NaViT vision tower
32 wide x 1 layer, patch 16, 2x2 merge, and the visual tokenizer's soft lookup into a 64-row visual
embedding table (its last 4 rows the image/video start/end indicators); images resized into
32*32 .. 300*32*32 pixels (a 32 px image: a 2x2 patch grid -> 1 token, + start/end).

Qwen3's special tokens plus the visual ones: `<|image_pad|>`/`<|video_pad|>` (Qwen's, ids 151655/151656 in the
real vocab: the config's image/video token ids) and the start/end tokens at the config's 151670..151673,
named as the Ovis2.5 checkpoints name them (`<ovis_image_start>` ..., a transformers conversion script's
VISUAL_SPECIAL_TOKENS). The template is this family's own ChatML (unverified, see the
family docstring). Ovis2_5VideoProcessor's config is written as its save_pretrained writes it, so stock
AutoProcessor loads the folder (the family refuses video parts)."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.tiny.common import TinyModel, save, train_tokenizer

END_OF_TURN = "<|im_end|>"
NAMED = {
    "image_token": "<|image_pad|>",
    "video_token": "<|video_pad|>",
    "image_start_token": "<ovis_image_start>",
    "image_end_token": "<ovis_image_end>",
    "video_start_token": "<ovis_video_start>",
    "video_end_token": "<ovis_video_end>",
}
SPECIALS = ["<|endoftext|>", "<|im_start|>", END_OF_TURN, "<think>", "</think>", *NAMED.values()]
# At most 300 tokens (32*32 px each): Ovis's smart_resize stretches a thin strip's short side to 32 px before
# fitting the budget, so a small budget would shrink a 2x34 strip to a zero side (refused) where the real one
# (1344*1792) takes it; with this one, images up to 600 px a side are refused only with a 1 px side.
MIN_PIXELS, MAX_PIXELS = 32 * 32, 300 * 32 * 32
NORM = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}  # the class's (ImageNet standard)

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}<|image_pad|>"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def video_processor_config() -> dict:
    """`Ovis2_5VideoProcessor(size=<the tiny pixel budget>)` as its save_pretrained writes it: the class
    defaults (no frame sampling, mean/std 0.5, bilinear, patch 16, merge 2, one frame a patch)."""
    return {
        **_common.VIDEO_PROCESSOR_DEFAULTS,
        **NORM,
        "merge_size": 2,
        "patch_size": 16,
        "resample": 2,
        "size": {"longest_edge": MAX_PIXELS, "shortest_edge": MIN_PIXELS},
        "temporal_patch_size": 1,
        "video_processor_type": "Ovis2_5VideoProcessor",
    }


def build(out: Path) -> None:
    from transformers import Ovis2_5Config, Ovis2_5ForConditionalGeneration, Ovis2_5Processor
    from transformers.models.ovis2_5.image_processing_pil_ovis2_5 import Ovis2_5ImageProcessorPil

    from vlmtrain.encoding.compat import no_video_subclass

    tok = train_tokenizer(
        SPECIALS, eos_token=END_OF_TURN, pad_token="<|endoftext|>", extra_special_tokens=NAMED
    )
    ip = Ovis2_5ImageProcessorPil(size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS})
    processor = no_video_subclass(Ovis2_5Processor)(
        image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE
    )
    ids = tok.convert_tokens_to_ids
    config = Ovis2_5Config(
        text_config=_common.text_config(tok, model_type="qwen3", head_dim=16),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=64,  # a 4x4 grid of position embeddings, interpolated to the image's grid
            window_size=32,
            vocab_size=64,
        ),
        **{f"{name[:-6]}_token_id": ids(token) for name, token in NAMED.items()},
    )
    save(out, Ovis2_5ForConditionalGeneration(config), processor, END_OF_TURN, video_processor_config())


TINY = TinyModel(build, END_OF_TURN)
