"""Tiny Qwen2-VL: text hidden 64 x 2 layers (head_dim 16, mrope_section 2+3+3), vision 32 wide x 1 block."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.tiny.common import TinyModel, save, train_tokenizer

SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


# 28..56 px a side: a 32 px image becomes a 2x2 patch grid -> 1 merged token, a 56 px one -> 4.
MIN_PIXELS, MAX_PIXELS = 28 * 28, 56 * 56


def tokenizer_and_image_processor():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = train_tokenizer(SPECIALS, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    ip = Qwen2VLImageProcessorPil(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    return tok, ip


def video_processor_config() -> dict:
    """`Qwen2VLVideoProcessor(size=<the tiny pixel budget>)` as its save_pretrained writes it (Qwen2.5-VL
    uses the same class); the class defaults, CLIP mean/std, bicubic."""
    return {
        **_common.VIDEO_PROCESSOR_DEFAULTS,
        **_common.CLIP_NORM,
        "max_frames": 768,
        "max_video_tokens": 128000,
        "merge_size": 2,
        "min_frames": 4,
        "patch_size": 14,
        "resample": 3,
        "size": {"longest_edge": MAX_PIXELS, "shortest_edge": MIN_PIXELS},
        "temporal_patch_size": 2,
        "video_processor_type": "Qwen2VLVideoProcessor",
    }


def text_config(tok, vocab_size=None):
    return _common.text_config(
        tok,
        vocab_size=vocab_size or len(tok),
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        bos_token_id=None,
    )


def special_ids(tok) -> dict:
    ids = tok.convert_tokens_to_ids
    return dict(
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )


def build_with(out: Path, processor_class, config_class, model_class, vision_config: dict) -> None:
    """The tiny Qwen2-VL recipe (tokenizer, image processor, text config) with a family's
    processor, config and model classes and vision config; Qwen2.5-VL builds with it too."""
    from vlmtrain.encoding.compat import no_video_subclass

    tok, ip = tokenizer_and_image_processor()
    # no template here: the family's real one is written into the folder (`Family.build_tiny`)
    processor = no_video_subclass(processor_class)(image_processor=ip, tokenizer=tok)
    config = config_class(text_config=text_config(tok), vision_config=vision_config, **special_ids(tok))
    save(out, model_class(config), processor, END_OF_TURN, video_processor_config())


def build(out: Path) -> None:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor

    vision = dict(
        depth=1,
        embed_dim=32,
        hidden_size=64,
        num_heads=2,
        mlp_ratio=2,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
    )
    build_with(out, Qwen2VLProcessor, Qwen2VLConfig, Qwen2VLForConditionalGeneration, vision)


END_OF_TURN = "<|im_end|>"  # what the template closes an assistant turn with (tests check labels end with it)


TINY = TinyModel(build, END_OF_TURN)
