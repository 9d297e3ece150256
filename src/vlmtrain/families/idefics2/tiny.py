"""Tiny Idefics2: Mistral text 64 x 2 layers, SigLIP-like vision 32 x 1 layer at 32 px / patch 8, a
one-layer perceiver with 4 latents (image_seq_len 4), image splitting on as in the real checkpoint ->
5 * 4 + 6 = 26 tokens per image. The tokenizer adds BOS (Mistral's); the template writes none."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer, vision_config

IMAGE_SIZE, PATCH, LATENTS = 32, 8, 4
END_OF_TURN = "<end_of_utterance>"


def build(out: Path) -> None:
    from transformers import Idefics2Config, Idefics2ForConditionalGeneration, Idefics2Processor
    from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil

    tok = train_tokenizer(
        ["<unk>", "<s>", "</s>", "<fake_token_around_image>", "<image>", END_OF_TURN],
        add_bos=True,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<unk>",  # idefics2-8b pads with <unk> (id 0)
        unk_token="<unk>",
    )
    ip = Idefics2ImageProcessorPil(
        do_image_splitting=True, size={"shortest_edge": IMAGE_SIZE, "longest_edge": IMAGE_SIZE}
    )
    # template: `Family.build_tiny` writes the real one
    processor = Idefics2Processor(ip, tok, image_seq_len=LATENTS)
    text = text_config(tok, model_type="mistral", rms_norm_eps=1e-5)
    config = Idefics2Config(
        text_config=text,
        vision_config=vision_config(
            image_size=IMAGE_SIZE,
            patch_size=PATCH,
        ),
        perceiver_config=dict(
            hidden_size=text["hidden_size"],
            rms_norm_eps=1e-5,
            resampler_n_latents=LATENTS,
            resampler_depth=1,
            resampler_n_heads=2,
            resampler_head_dim=16,
            num_key_value_heads=1,
        ),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id,
    )
    save(out, Idefics2ForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
