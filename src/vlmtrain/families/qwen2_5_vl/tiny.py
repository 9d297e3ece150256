"""Tiny Qwen2.5-VL: the Qwen2-VL tokenizer/template/text config, vision 32 wide x 2 blocks (one full-attn)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families.qwen2_vl.tiny import END_OF_TURN, build_with
from vlmtrain.tiny.common import TinyModel, merger_vision_config

__all__ = ["END_OF_TURN", "TINY", "build"]


def build(out: Path) -> None:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor

    vision = merger_vision_config(depth=2, patch_size=14, window_size=56, fullatt_block_indexes=[1])
    build_with(out, Qwen2_5_VLProcessor, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, vision)


TINY = TinyModel(build, END_OF_TURN)
