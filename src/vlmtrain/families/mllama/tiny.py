"""Tiny Mllama: text 64 wide, 2 layers (layer 1 cross-attention), vision 32 wide, 32 px / patch 8, one tile."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

END_OF_TURN = "<|eot_id|>"
SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|finetune_right_pad_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|image|>",
]


def build(out: Path) -> None:
    from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaProcessor
    from transformers.models.mllama.image_processing_pil_mllama import MllamaImageProcessorPil

    tok = train_tokenizer(
        SPECIALS, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", pad_token="<|finetune_right_pad_id|>"
    )
    ip = MllamaImageProcessorPil(size={"height": 32, "width": 32}, max_image_tiles=1)
    processor = MllamaProcessor(ip, tok)  # template: the family's real one (`Family.build_tiny`)
    config = MllamaConfig(
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_global_layers=1,
            attention_heads=2,
            image_size=32,
            patch_size=8,
            max_num_tiles=1,
            supported_aspect_ratios=[[1, 1]],
            intermediate_layers_indices=[0],
            vision_output_dim=64,
        ),
        text_config=text_config(tok, cross_attention_layers=[1]),
        image_token_index=tok.convert_tokens_to_ids("<|image|>"),
    )
    save(out, MllamaForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
