"""Tiny Llama 4 (Scout's layout): text 64 wide x 2 layers (layer 0 RoPE with chunked attention, layer 1
NoPE with full attention, as Scout's 3-of-4 interleave), both MoE with 2 experts (top-1) plus the shared
expert; vision 32 wide (MLP 128) x 1 layer, 28 px tiles / patch 7 -> 16 patches, pixel-shuffled (ratio 0.5) to 4
tokens per tile; up to 16 tiles plus the global image, as the real image processor. Llama 4's special
tokens (`<|header_start|>`, `<|eot|>`, `<|image_start|>`, `<|patch|>`, ...); the template: Llama4Processor's
own (transformers' conversion script writes the same one), see the family's docstring."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

END_OF_TURN = "<|eot|>"
TILE, PATCH, PIXEL_SHUFFLE = 28, 7, 0.5
SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|header_start|>",
    "<|header_end|>",
    "<|eom|>",
    "<|eot|>",
    "<|python_start|>",
    "<|python_end|>",
    "<|finetune_right_pad|>",
    "<|image_start|>",
    "<|image_end|>",
    "<|tile_x_separator|>",
    "<|tile_y_separator|>",
    "<|image|>",
    "<|patch|>",
]


def build(out: Path) -> None:
    from transformers import Llama4Config, Llama4ForConditionalGeneration, Llama4Processor
    from transformers.models.llama4.image_processing_llama4 import Llama4ImageProcessor

    # The template writes BOS itself, so the tokenizer adds none: a bare processor(text=rendered) call
    # then has exactly one BOS, as the collator's ids do.
    tok = train_tokenizer(
        SPECIALS, bos_token="<|begin_of_text|>", eos_token="<|eot|>", pad_token="<|finetune_right_pad|>"
    )
    ip = Llama4ImageProcessor(size={"height": TILE, "width": TILE})
    # chat_template left out: Llama4Processor's default, the one transformers' conversion script writes
    processor = Llama4Processor(ip, tok, patch_size=PATCH, pixel_shuffle_ratio=PIXEL_SHUFFLE)
    ids = tok.convert_tokens_to_ids
    config = Llama4Config(
        vision_config=dict(
            hidden_size=32,
            intermediate_size=128,  # 4 x hidden: also the pixel-shuffled width the adapter takes
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=TILE,
            patch_size=PATCH,
            pixel_shuffle_ratio=PIXEL_SHUFFLE,
            projector_input_dim=64,
            projector_output_dim=64,
            vision_output_dim=64,
        ),
        text_config=text_config(
            tok,
            head_dim=16,
            intermediate_size=64,
            intermediate_size_mlp=128,
            num_local_experts=2,
            num_experts_per_tok=1,
            no_rope_layers=[1, 0],  # 1: RoPE (chunked attention), 0: NoPE (full attention)
            attention_chunk_size=8192,
            tie_word_embeddings=False,
        ),
        image_token_index=ids("<|patch|>"),
        boi_token_index=ids("<|image_start|>"),
        eoi_token_index=ids("<|image_end|>"),
    )
    save(out, Llama4ForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
