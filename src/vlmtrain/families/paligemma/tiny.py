"""Tiny PaliGemma: Gemma text 64 x 2 layers, SigLIP 32 x 1 layer at 32 px / patch 8 -> 16 image tokens.
The processor adds 1,152 <loc>/<seg> tokens, so the vocab is sized from len(tokenizer) afterwards."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer, vision_config

END_OF_TURN = "<eos>"
IMAGE_SIZE, PATCH = 32, 8


def build(out: Path) -> None:
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tok = train_tokenizer(
        ["<pad>", "<eos>", "<bos>", "<unk>", "<image>"],
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    n_img = (IMAGE_SIZE // PATCH) ** 2
    ip = SiglipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_seq_length=n_img)
    processor = PaliGemmaProcessor(image_processor=ip, tokenizer=tok)
    config = PaliGemmaConfig(
        vision_config=vision_config(
            model_type="siglip_vision_model",
            image_size=IMAGE_SIZE,
            patch_size=PATCH,
            projection_dim=64,
        ),
        text_config=text_config(
            tok, model_type="gemma", vocab_size=len(processor.tokenizer), num_key_value_heads=1, head_dim=16
        ),
        projection_dim=64,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vocab_size=len(processor.tokenizer),
    )
    save(out, PaliGemmaForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
