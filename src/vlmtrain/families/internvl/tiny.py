"""Tiny InternVL: Qwen2 text 64 x 2 layers, InternViT-like vision 32 x 1 layer at 32 px / patch 8,
pixel-shuffle 0.5 -> 4 `<IMG_CONTEXT>` tokens a tile, up to 6 tiles (+ thumbnail) per image; the -hf
checkpoints' chat template and the tokenizer's named image tokens."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import (
    TinyModel,
    chatml_tokenizer,
    clip_video_processor_config,
    save,
    text_config,
    vision_config,
)

IMAGE_SIZE, PATCH, DOWNSAMPLE = 32, 8, 0.5
IMAGE_SEQ_LENGTH = int((IMAGE_SIZE // PATCH) ** 2 * DOWNSAMPLE**2)
END_OF_TURN = "<|im_end|>"
# The tokenizer's named tokens InternVLProcessor reads (tokenizer_config.json extra_special_tokens).
NAMED = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}


def video_processor_config() -> dict:
    """`InternVLVideoProcessor(size=<the tiny tile>)` as its save_pretrained writes it (class defaults)."""
    return clip_video_processor_config(
        "InternVLVideoProcessor", {"height": IMAGE_SIZE, "width": IMAGE_SIZE}, initial_shift=True
    )


def build(out: Path) -> None:
    from transformers import InternVLConfig, InternVLForConditionalGeneration, InternVLProcessor
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

    from vlmtrain.encoding.compat import no_video_subclass

    tok = chatml_tokenizer(named=NAMED)
    # As the -hf checkpoints: crop_to_patches false here, turned on by the processor at call time.
    ip = GotOcr2ImageProcessorPil(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        crop_to_patches=False,
        min_patches=1,
        max_patches=6,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )
    processor = no_video_subclass(InternVLProcessor)(
        image_processor=ip,
        tokenizer=tok,
        image_seq_length=IMAGE_SEQ_LENGTH,  # template: `Family.build_tiny`
    )
    config = InternVLConfig(
        text_config=text_config(tok, model_type="qwen2", max_position_embeddings=2048),
        vision_config=vision_config(
            image_size=[IMAGE_SIZE, IMAGE_SIZE],
            patch_size=[PATCH, PATCH],
        ),
        image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=IMAGE_SEQ_LENGTH,
        downsample_ratio=DOWNSAMPLE,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    save(out, InternVLForConditionalGeneration(config), processor, END_OF_TURN, video_processor_config())


TINY = TinyModel(build, END_OF_TURN)
