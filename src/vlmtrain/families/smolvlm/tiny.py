"""Tiny SmolVLM: the tiny Idefics3 recipe with SmolVLM's classes (processor without video processor)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families._tiny_common import save, train_tokenizer
from vlmtrain.families.idefics3.tiny import (
    END_OF_TURN,
    IMAGE_SEQ_LEN,
    chat_template,
    configs,
    image_processor_kwargs,
    specials,
)

__all__ = ["END_OF_TURN", "build"]


def build(out: Path) -> None:
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMProcessor
    from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

    from vlmtrain.families._compat import no_video_subclass

    bos, eos, pad = "<|im_start|>", "<|im_end|>", "<|im_end|>"
    tok = train_tokenizer(specials(bos, eos, "<|endoftext|>"), bos_token=bos, eos_token=eos, pad_token=pad)
    ip = SmolVLMImageProcessorPil(**image_processor_kwargs())
    processor = no_video_subclass(SmolVLMProcessor)(
        image_processor=ip, tokenizer=tok, image_seq_len=IMAGE_SEQ_LEN, chat_template=chat_template(bos)
    )
    config = SmolVLMConfig(
        **configs(tok, tok.convert_tokens_to_ids("<image>")), pad_token_id=tok.pad_token_id
    )
    save(out, SmolVLMForConditionalGeneration(config), processor, END_OF_TURN)
