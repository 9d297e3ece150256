"""Tiny Qwen2.5-VL: the Qwen2-VL tokenizer/template/text config, vision 32 wide x 2 blocks (one full-attn)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families.qwen2_vl.tiny import (
    CHAT_TEMPLATE,
    END_OF_TURN,
    special_ids,
    text_config,
    tokenizer_and_image_processor,
    video_processor_config,
)
from vlmtrain.tiny.common import save

__all__ = ["END_OF_TURN", "build"]


def build(out: Path) -> None:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor

    from vlmtrain.encoding.compat import no_video_subclass

    tok, ip = tokenizer_and_image_processor()
    processor = no_video_subclass(Qwen2_5_VLProcessor)(
        image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE
    )
    config = Qwen2_5_VLConfig(
        text_config=text_config(tok),
        vision_config=dict(
            depth=2,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            out_hidden_size=64,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=56,
            fullatt_block_indexes=[1],
        ),
        **special_ids(tok),
    )
    save(out, Qwen2_5_VLForConditionalGeneration(config), processor, END_OF_TURN, video_processor_config())
