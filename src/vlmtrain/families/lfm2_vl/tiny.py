"""Tiny LFM2-VL: LFM2 text 64 x 2 layers (one short-convolution layer, one attention layer, as the real
hybrid stack alternates them), SigLIP2-NaFlex vision 32 wide x 1 layer at patch 8, pixel-unshuffle
projector. Images: 64 px tiles, 4..16 image tokens, 2..4 tiles plus a thumbnail, so a 100 x 100 image is
one resized tile and a 300 x 150 one is tiled. The image processor needs torchvision (transformers has
no PIL one for LFM2-VL).
"""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer, vision_config

END_OF_TURN = "<|im_end|>"
TILE, PATCH = 64, 8
SPECIALS = ["<|pad|>", "<|startoftext|>", "<|im_start|>", "<|im_end|>", "<image>"]
SPECIALS += ["<|image_start|>", "<|image_end|>", "<|img_thumbnail|>"]
# the real tokenizer's tile tags, rows and columns 1..10 (max_tiles 10)
SPECIALS += [f"<|img_row_{r}_col_{c}|>" for r in range(1, 11) for c in range(1, 11)]


def build(out: Path) -> None:
    from transformers import (
        Lfm2VlConfig,
        Lfm2VlForConditionalGeneration,
        Lfm2VlImageProcessor,
        Lfm2VlProcessor,
    )

    tok = train_tokenizer(
        SPECIALS,
        bos_token="<|startoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        extra_special_tokens={
            "image_token": "<image>",
            "image_start_token": "<|image_start|>",
            "image_end_token": "<|image_end|>",
            "image_thumbnail_token": "<|img_thumbnail|>",
        },
    )
    ip = Lfm2VlImageProcessor(
        tile_size=TILE,
        encoder_patch_size=PATCH,
        downsample_factor=2,
        min_image_tokens=4,
        max_image_tokens=16,
        min_tiles=2,
        max_tiles=4,
        use_thumbnail=True,
        max_pixels_tolerance=2.0,
    )
    # template: `Family.build_tiny` writes the real one
    processor = Lfm2VlProcessor(image_processor=ip, tokenizer=tok)
    config = Lfm2VlConfig(
        text_config=text_config(
            tok,
            model_type="lfm2",
            layer_types=["conv", "full_attention"],
            block_auto_adjust_ff_dim=False,
        ),
        vision_config=vision_config(
            model_type="siglip2_vision_model",
            patch_size=PATCH,
            num_patches=64,  # an 8 x 8 position grid, resized per image (NaFlex)
        ),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        projector_hidden_size=32,
        downsample_factor=2,
    )
    save(out, Lfm2VlForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
