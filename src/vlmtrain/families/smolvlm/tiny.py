"""Tiny SmolVLM: the tiny Idefics3 recipe with SmolVLM's classes (processor without video processor)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families.idefics3.tiny import (
    END_OF_TURN,
    IMAGE_SEQ_LEN,
    configs,
    image_processor_kwargs,
    specials,
)
from vlmtrain.tiny.common import VIDEO_PROCESSOR_DEFAULTS, TinyModel, save, train_tokenizer

__all__ = ["END_OF_TURN", "TINY", "build"]


def video_processor_config() -> dict:
    """`SmolVLMVideoProcessor` with the tiny image sizes, as its save_pretrained writes it."""
    sizes = image_processor_kwargs()
    return {
        **VIDEO_PROCESSOR_DEFAULTS,
        "do_pad": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "max_image_size": sizes["max_image_size"],
        "resample": 1,
        "size": sizes["size"],
        # SmolVLM2's sampling (its preprocessor_config.json `video_sampling`: 1 fps, at most 64 frames)
        "video_sampling": {"fps": 1, "max_frames": 64, "video_size": sizes["size"]},
        # transformers 5.25 writes them out of video_sampling too
        "fps": 1,
        "num_frames": 64,
        "video_processor_type": "SmolVLMVideoProcessor",
    }


def build(out: Path) -> None:
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMProcessor
    from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

    from vlmtrain.encoding.compat import no_video_subclass

    bos, eos, pad = "<|im_start|>", "<|im_end|>", "<|im_end|>"
    tok = train_tokenizer(specials(bos, eos, "<|endoftext|>"), bos_token=bos, eos_token=eos, pad_token=pad)
    ip = SmolVLMImageProcessorPil(**image_processor_kwargs())
    # no template here: the family's real one is written into the folder (`Family.build_tiny`)
    processor = no_video_subclass(SmolVLMProcessor)(
        image_processor=ip, tokenizer=tok, image_seq_len=IMAGE_SEQ_LEN
    )
    config = SmolVLMConfig(
        **configs(tok, tok.convert_tokens_to_ids("<image>")), pad_token_id=tok.pad_token_id
    )
    save(out, SmolVLMForConditionalGeneration(config), processor, END_OF_TURN, video_processor_config())


TINY = TinyModel(build, END_OF_TURN)
