"""Tiny Gemma3: text 64 x 2 layers, SigLIP 32 x 1 layer at 32 px / patch 8, pooled to 4 soft tokens per image
(`mm_tokens_per_image` equals the processor's `image_seq_length`)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer, vision_config

END_OF_TURN = "<end_of_turn>"
IMAGE_SIZE, PATCH, MM_TOKENS = 32, 8, 4


def build(out: Path) -> None:
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3Processor
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    specials = [
        "<pad>",
        "<eos>",
        "<bos>",
        "<unk>",
        "<start_of_turn>",
        "<end_of_turn>",
        "<start_of_image>",
        "<end_of_image>",
        "<image_soft_token>",
    ]
    tok = train_tokenizer(
        specials,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
        },
    )
    ip = Gemma3ImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = Gemma3Processor(
        image_processor=ip,
        tokenizer=tok,
        image_seq_length=MM_TOKENS,  # template: `Family.build_tiny`
    )
    ids = tok.convert_tokens_to_ids
    config = Gemma3Config(
        vision_config=vision_config(
            model_type="siglip_vision_model",
            image_size=IMAGE_SIZE,
            patch_size=PATCH,
        ),
        text_config=text_config(tok, num_key_value_heads=1, head_dim=16, sliding_window=32),
        mm_tokens_per_image=MM_TOKENS,
        boi_token_index=ids("<start_of_image>"),
        eoi_token_index=ids("<end_of_image>"),
        image_token_index=ids("<image_soft_token>"),
    )
    save(out, Gemma3ForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
