"""Tiny GLM-4.1V: text hidden 64 x 2 layers (GLM's extra post-attention/post-MLP norms, fused
gate_up_proj, partial rotary 0.5 with mrope 2+1+1), vision 32 wide x 1 block, patch 14."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.tiny.common import TinyModel, save, train_tokenizer

# GLM-4's special tokens (the real vocab has them at 151329 <|endoftext|> ... 151344 <|video|>).
SPECIALS = [
    "<|endoftext|>",
    "[MASK]",
    "[gMASK]",
    "[sMASK]",
    "<sop>",
    "<eop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|begin_of_image|>",
    "<|end_of_image|>",
    "<|begin_of_video|>",
    "<|end_of_video|>",
    "<|image|>",
    "<|video|>",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
]
MIN_PIXELS, MAX_PIXELS = 28 * 28, 56 * 56  # a 32 px image: a 2x2 patch grid -> 1 token; 56 px -> 4
# The checkpoints' normalisation (preprocessor_config.json: OpenAI CLIP mean/std).
NORM = _common.CLIP_NORM


def video_processor_config() -> dict:
    """`Glm4vVideoProcessor(size=<the tiny pixel budget>)` as its save_pretrained writes it: the class
    defaults (16 frames at 2 fps, at most 300 s, CLIP mean/std, bicubic)."""
    return {
        **_common.VIDEO_PROCESSOR_DEFAULTS,
        "do_sample_frames": True,
        "fps": 2,
        **NORM,
        "max_duration": 300,
        "max_image_size": {"longest_edge": 47040000},
        "merge_size": 2,
        "num_frames": 16,
        "patch_size": 14,
        "resample": 3,
        "size": {"longest_edge": 2 * MAX_PIXELS, "shortest_edge": 2 * MIN_PIXELS},
        "temporal_patch_size": 2,
        "video_processor_type": "Glm4vVideoProcessor",
    }


def tokenizer_and_image_processor(image_processor_class=None):
    """The tiny tokenizer and `image_processor_class` (default Glm4vImageProcessorPil; GLM-4.6V and GLM-OCR
    pass Glm46VImageProcessorPil) with the tiny pixel budget and the checkpoints' normalisation."""
    if image_processor_class is None:
        from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil

        image_processor_class = Glm4vImageProcessorPil
    tok = train_tokenizer(SPECIALS, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    # The budget counts a still image as two frames (temporal_patch_size * h * w).
    size = {"shortest_edge": 2 * MIN_PIXELS, "longest_edge": 2 * MAX_PIXELS}
    return tok, image_processor_class(size=size, **NORM)


def text_config(tok, **overrides) -> dict:
    """The tiny GLM text config: head_dim 16, rotary on half of it (real: 128 and 0.5, mrope 8+12+12 over
    the 32 pairs), no BOS; `overrides` (model_type, head_dim) on top."""
    return _common.text_config(
        tok,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 1, 1],
            "partial_rotary_factor": 0.5,
        },
        bos_token_id=None,
        **overrides,
    )


def special_ids(tok) -> dict:
    ids = tok.convert_tokens_to_ids
    return dict(
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        image_start_token_id=ids("<|begin_of_image|>"),
        image_end_token_id=ids("<|end_of_image|>"),
        video_start_token_id=ids("<|begin_of_video|>"),
        video_end_token_id=ids("<|end_of_video|>"),
    )


def build(out: Path) -> None:
    from transformers import Glm4vConfig, Glm4vForConditionalGeneration, Glm4vProcessor

    from vlmtrain.encoding.compat import no_video_subclass

    tok, ip = tokenizer_and_image_processor()
    # no template here: the family's real one is written into the folder (`Family.build_tiny`)
    processor = no_video_subclass(Glm4vProcessor)(image_processor=ip, tokenizer=tok)
    text = text_config(tok)
    # learned position grid 2x2, interpolated (real: 336 / 14 = 24x24)
    vision = _common.merger_vision_config(patch_size=14, image_size=28)
    config = Glm4vConfig(text_config=text, vision_config=vision, **special_ids(tok))
    model = Glm4vForConditionalGeneration(config)
    save(out, model, processor, END_OF_TURN, video_processor=video_processor_config(), stops=STOPS)


# The template closes no assistant turn; the family appends the tokenizer's EOS after a final answer
# (eos_after_final_answer) and trains an earlier one through the "<|user|>" that follows it.
END_OF_TURN = "<|endoftext|>"
# The checkpoints' generation_config stops on <|endoftext|>, <|user|> and <|observation|>.
STOPS = ("<|user|>", "<|observation|>")


TINY = TinyModel(build, END_OF_TURN)
