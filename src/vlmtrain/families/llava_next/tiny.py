"""Tiny LLaVA-NeXT: the tiny LLaVA text/CLIP configs, anyres over 32 px tiles (pinpoints up to 64x64),
Granite Vision's chat template (`<|assistant|>\\n text<|end_of_text|>`)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families.llava.tiny import IMAGE_SIZE, config_kwargs, llama_tokenizer, processor_kwargs
from vlmtrain.tiny.common import TinyModel, save

END_OF_TURN = "<|end_of_text|>"
PINPOINTS = [[32, 32], [32, 64], [64, 32], [64, 64]]
# ibm-granite/granite-vision-3.x's template without its tool roles.
CHAT_TEMPLATE = (
    "{%- for message in messages if message['role'] == 'system'%}{% else %}<|system|>\n"
    "A chat between a curious user and an artificial intelligence assistant.\n{% endfor %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{{- '<|system|>\n' + message['content'][0]['text'] + '\n' }}{%- elif message['role'] == 'user' %}<|user|>\n"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + '\n' }}"
    "{% endfor %}{%- elif message['role'] == 'assistant' %}"
    "{{- '<|assistant|>\n' + message['content'][0]['text'] + '<|end_of_text|>' }}{%- endif %}"
    "{%- if loop.last and add_generation_prompt %}{{- '<|assistant|>\n' }}{%- endif %}{%- endfor %}"
)


def build(out: Path) -> None:
    from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    tok = llama_tokenizer(["<|system|>", "<|user|>", "<|assistant|>", "<|end_of_text|>"])
    tok.eos_token = "<|end_of_text|>"
    ip = LlavaNextImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_grid_pinpoints=PINPOINTS,
    )
    processor = LlavaNextProcessor(image_processor=ip, **processor_kwargs(tok, CHAT_TEMPLATE))
    config = LlavaNextConfig(**config_kwargs(tok), image_grid_pinpoints=PINPOINTS)
    save(out, LlavaNextForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
