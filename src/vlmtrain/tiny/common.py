"""Shared pieces of the tiny builders: a locally trained BPE tokenizer, the tiny text dimensions, saving,
and `TinyModel`, what a family's `tiny.py` hands to the family contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TinyModel:
    """A family's tiny random-weight model: `tiny.py` defines `TINY = TinyModel(build, END_OF_TURN)`.

    build(out_dir): write the model into the existing empty folder `out_dir` (config.json,
        model.safetensors, tokenizer and processor files), offline, torch seeded by the caller.
    end_of_turn: what the tiny model's chat template closes an assistant turn with (tests check labels).
    """

    build: Callable[[Path], None]
    end_of_turn: str


# Sentences the tests use, so their texts tokenize into few tokens; any text still works (byte-level).
CORPUS = [
    "You are a helpful assistant.",
    "Describe this picture. What is in the image? Compare the two images.",
    "A red square on a white background. A small blue circle.",
    "The first one is red and the second one is blue.",
    "How many objects are there? There are two objects. Thank you! You are welcome.",
    "user assistant system model USER ASSISTANT User Assistant",
]


def train_tokenizer(special_tokens: list[str], vocab_size: int = 400, add_bos: bool = False, **named):
    """A byte-level BPE `PreTrainedTokenizerFast` with `special_tokens` as atomic added tokens.

    `named` are the tokenizer's named special tokens (bos_token="<s>", eos_token=..., pad_token=...,
    extra_special_tokens={...}); they must appear in `special_tokens`.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size + len(special_tokens),
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    if add_bos:  # Llama-style: the tokenizer, not the chat template, adds BOS
        from tokenizers.processors import TemplateProcessing

        bos = named["bos_token"]
        tok.post_processor = TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
        )
    return PreTrainedTokenizerFast(tokenizer_object=tok, **named)


def chatml_tokenizer(specials: tuple[str, ...] = (), named: dict | None = None):
    """`train_tokenizer` with ChatML's tokens: <|endoftext|> (pad), <|im_start|>, <|im_end|> (eos), then
    `specials` and the values of `named`, the processor's named tokens (saved as extra_special_tokens):
        chatml_tokenizer(("<image>",))  or  chatml_tokenizer(named={"image_token": "<|image_pad|>"})"""
    named_tokens = {"extra_special_tokens": named} if named else {}
    return train_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *specials, *(named or {}).values()],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        **named_tokens,
    )


# OpenAI CLIP's image normalisation (many checkpoints' preprocessor_config.json).
CLIP_NORM = {
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
}

# What every video processor's save_pretrained writes besides its own sizes (BaseVideoProcessor defaults).
VIDEO_PROCESSOR_DEFAULTS = {
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "do_sample_frames": False,
    "rescale_factor": 1 / 255,
    "return_metadata": False,
}


def save(
    out: Path,
    model,
    processor,
    end_of_turn: str,
    video_processor: dict | None = None,
    stops: tuple[str, ...] = (),
) -> None:
    """Save model and processor; generation stops at EOS, at the template's end-of-turn token and at
    `stops` (the real checkpoint's other stop tokens, e.g. GLM-4.1V's <|user|> and <|observation|>).

    video_processor: the video processor config of a processor that takes one (Qwen2-VL, SmolVLM),
    written as `video_preprocessor_config.json` exactly as `BaseVideoProcessor.save_pretrained` writes
    it, so stock `AutoProcessor.from_pretrained` loads the folder. Every video processor class needs
    torchvision, so the builders save the processor without one and write this JSON themselves.
    """
    tok = getattr(processor, "tokenizer", processor)
    ids = [tok.eos_token_id, *tok.convert_tokens_to_ids([end_of_turn, *stops])]
    model.generation_config.eos_token_id = list(dict.fromkeys(ids))
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    if video_processor is not None:
        text = json.dumps(video_processor, indent=2, sort_keys=True) + "\n"  # as transformers writes it
        (Path(out) / "video_preprocessor_config.json").write_text(text, encoding="utf-8")


def text_config(tok, **overrides) -> dict:
    """The tiny language model every builder uses (hidden 64, 2 layers), token ids from `tok`;
    `overrides` set what a family needs besides (model_type, rope, head_dim, cross-attention layers ...)."""
    return {
        "vocab_size": len(tok),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "pad_token_id": tok.pad_token_id,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        **overrides,
    }


def vision_config(**overrides) -> dict:
    """The tiny vision encoder of the ViT-style builders (width 32, MLP 64, one layer, two heads);
    `overrides` set what a family needs besides (model_type, image and patch size, more layers ...)."""
    return {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        **overrides,
    }


def merger_vision_config(**overrides) -> dict:
    """The tiny vision tower of the Qwen-VL-style builders (blocks 32 wide, MLP 64, two heads, a 2x2
    patch merger onto the text width 64, two frames a patch); `overrides` add depth, patch size ..."""
    return {
        "depth": 1,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": 64,  # the text hidden size
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        **overrides,
    }


def clip_video_processor_config(video_processor_type: str, size: dict, **extra) -> dict:
    """A video processor config as `save_pretrained` writes one whose class keeps the base defaults
    (CLIP mean/std, bicubic, no frame sampling) at `size`, plus the class's own `extra` keys; for the
    builders that hand-write video_preprocessor_config.json (see `save`)."""
    return {
        **VIDEO_PROCESSOR_DEFAULTS,
        **CLIP_NORM,
        "resample": 3,
        "size": size,
        "video_processor_type": video_processor_type,
        **extra,
    }
