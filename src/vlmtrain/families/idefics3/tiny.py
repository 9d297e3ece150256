"""Tiny Idefics3: Llama text 64 x 2 layers, SigLIP-like vision 32 x 1 layer, 32 px images, patch 8,
no image splitting -> (32/8)^2 / 2^2 = 4 `<image>` tokens per image."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer, vision_config

IMAGE_SIZE, PATCH, SCALE = 32, 8, 2
IMAGE_SEQ_LEN = (IMAGE_SIZE // PATCH) ** 2 // SCALE**2
END_OF_TURN = "<end_of_utterance>"


def chat_template(bos: str) -> str:
    # HuggingFaceM4/Idefics3-8B-Llama3's template (SmolVLM's is the same with its own BOS).
    return (
        bos + "{% for message in messages %}{{message['role'] | capitalize}}"
        "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
        "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
        "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
        "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
    )


def specials(bos: str, eos: str, pad: str) -> list[str]:
    rows = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    return [
        pad,
        bos,
        eos,
        "<fake_token_around_image>",
        "<image>",
        "<end_of_utterance>",
        "<global-img>",
        *rows,
    ]


def configs(tok, image_token_id: int) -> dict:
    text = text_config(tok, model_type="llama")
    vision = vision_config(
        image_size=IMAGE_SIZE,
        patch_size=PATCH,
    )
    return dict(text_config=text, vision_config=vision, scale_factor=SCALE, image_token_id=image_token_id)


def image_processor_kwargs() -> dict:
    return dict(
        do_image_splitting=False,
        size={"longest_edge": IMAGE_SIZE},
        max_image_size={"longest_edge": IMAGE_SIZE},
    )


def build(out: Path) -> None:
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    bos, eos, pad = "<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad_id|>"
    tok = train_tokenizer(specials(bos, eos, pad), bos_token=bos, eos_token=eos, pad_token=pad)
    ip = Idefics3ImageProcessorPil(**image_processor_kwargs())
    processor = Idefics3Processor(ip, tok, image_seq_len=IMAGE_SEQ_LEN, chat_template=chat_template(bos))
    config = Idefics3Config(
        **configs(tok, tok.convert_tokens_to_ids("<image>")), pad_token_id=tok.pad_token_id
    )
    save(out, Idefics3ForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
