"""Tiny LLaVA-1.5: Llama text 64 x 2 layers, CLIP vision 32 x 2 layers at 32 px / patch 8 -> 16 image
tokens ("default" strategy drops CLS); llava-hf's template; the tokenizer adds BOS like Llama's."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.tiny.common import TinyModel, save, train_tokenizer, vision_config

IMAGE_SIZE, PATCH = 32, 8
END_OF_TURN = "</s>"  # appended by the family after a final answer: llava-hf's template writes none


def text_config(tok) -> dict:
    # anyres (llava_next) images expand to many tokens: room for long sequences
    return _common.text_config(tok, model_type="llama", max_position_embeddings=4096)


def clip_config(image_size: int = IMAGE_SIZE) -> dict:
    return vision_config(
        model_type="clip_vision_model",
        num_hidden_layers=2,
        image_size=image_size,
        patch_size=PATCH,
        projection_dim=32,
    )


def llama_tokenizer(extra: list[str] = ()):
    return train_tokenizer(
        ["<unk>", "<s>", "</s>", "<pad>", "<image>", *extra],
        add_bos=True,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )


def processor_kwargs(tok, chat_template: str | None) -> dict:
    """The tiny LLaVA processor settings (LLaVA-NeXT's processor takes the same)."""
    return dict(
        tokenizer=tok,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        chat_template=chat_template,
        num_additional_image_tokens=1,
    )


def config_kwargs(tok) -> dict:
    """The tiny LLaVA model settings (LLaVA-NeXT's config takes the same, plus its pinpoints)."""
    return dict(
        text_config=text_config(tok),
        vision_config=clip_config(),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        image_seq_length=(IMAGE_SIZE // PATCH) ** 2,
    )


def build(out: Path) -> None:
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tok = llama_tokenizer()
    ip = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    # no template here: the family's real one is written into the folder (`Family.build_tiny`)
    processor = LlavaProcessor(image_processor=ip, **processor_kwargs(tok, None))
    config = LlavaConfig(**config_kwargs(tok))
    save(out, LlavaForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
