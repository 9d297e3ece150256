"""Tiny Qwen3-VL: text hidden 64 x 2 layers (head_dim 16, interleaved mrope 2+3+3, q/k norms), vision
32 wide x 2 blocks with patch 16 and one deepstack merger (block 0's features added to LM layer 0)."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.families.qwen2_vl.tiny import SPECIALS as QWEN2_VL_SPECIALS
from vlmtrain.families.qwen2_vl.tiny import special_ids
from vlmtrain.tiny.common import TinyModel, merger_vision_config, save, train_tokenizer

# Qwen3's special tokens (ids in the real vocab: <|endoftext|> 151643 ... <|video_pad|> 151656, <think>).
SPECIALS = [*QWEN2_VL_SPECIALS, "<think>", "</think>"]
PATCH = 16  # Qwen3-VL's vision patch (Qwen2-VL: 14); merge 2, so sides are multiples of 32
# The checkpoints' image normalisation (preprocessor_config.json: image_mean = image_std = 0.5).
NORM = dict(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
MIN_PIXELS, MAX_PIXELS = 32 * 32, 64 * 64  # a 32 px image: a 2x2 patch grid -> 1 token; 56 px -> 4


def video_processor_config() -> dict:
    """`Qwen3VLVideoProcessor(size=<the tiny pixel budget>)` as its save_pretrained writes it (Qwen3.5
    uses the same class): the class defaults (patch 16, mean/std 0.5, 2 fps sampling, bicubic)."""
    return {
        **_common.VIDEO_PROCESSOR_DEFAULTS,
        "do_sample_frames": True,
        "fps": 2,
        **NORM,
        "max_frames": 768,
        "max_video_tokens": 768,
        "merge_size": 2,
        "min_frames": 4,
        "patch_size": PATCH,
        "resample": 3,
        "size": {"longest_edge": MAX_PIXELS, "shortest_edge": MIN_PIXELS},
        "temporal_patch_size": 2,
        "video_processor_type": "Qwen3VLVideoProcessor",
    }


def tokenizer_and_image_processor(specials=SPECIALS):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = train_tokenizer(specials, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    ip = Qwen2VLImageProcessorPil(patch_size=PATCH, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, **NORM)
    return tok, ip


def text_config(tok, **overrides) -> dict:
    return _common.text_config(
        tok,
        head_dim=16,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [2, 3, 3],  # sums to head_dim / 2 (the real 8B: 24+20+20 of 128)
            "mrope_interleaved": True,
        },
        bos_token_id=None,
        **overrides,
    )


VISION_CONFIG = merger_vision_config(
    depth=2,
    patch_size=PATCH,
    num_position_embeddings=16,  # a 4x4 grid, interpolated to the image's grid (real: 2304 = 48x48)
    deepstack_visual_indexes=[0],
)


def processor(tok, ip):
    """The tiny processor, without a template: the family's real one is written into the folder
    (`Family.build_tiny`)."""
    from transformers import Qwen3VLProcessor

    from vlmtrain.encoding.compat import no_video_subclass

    return no_video_subclass(Qwen3VLProcessor)(image_processor=ip, tokenizer=tok)


def build(out: Path) -> None:
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    tok, ip = tokenizer_and_image_processor()
    config = Qwen3VLConfig(text_config=text_config(tok), vision_config=VISION_CONFIG, **special_ids(tok))
    model = Qwen3VLForConditionalGeneration(config)
    save(out, model, processor(tok, ip), END_OF_TURN, video_processor=video_processor_config())


END_OF_TURN = "<|im_end|>"  # what the template closes an assistant turn with (tests check labels end with it)


TINY = TinyModel(build, END_OF_TURN)
