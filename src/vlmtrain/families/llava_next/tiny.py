"""Tiny LLaVA-NeXT: the tiny LLaVA text/CLIP configs, anyres over 32 px tiles (pinpoints up to 64x64),
Granite Vision's chat template (`<|assistant|>\\n text<|end_of_text|>`)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families.llava.tiny import IMAGE_SIZE, PATCH, clip_config, llama_tokenizer, text_config
from vlmtrain.tiny.common import save

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
    processor = LlavaNextProcessor(
        image_processor=ip,
        tokenizer=tok,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        chat_template=CHAT_TEMPLATE,
        num_additional_image_tokens=1,
    )
    config = LlavaNextConfig(
        text_config=text_config(tok),
        vision_config=clip_config(),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        image_grid_pinpoints=PINPOINTS,
        image_seq_length=(IMAGE_SIZE // PATCH) ** 2,
    )
    save(out, LlavaNextForConditionalGeneration(config), processor, END_OF_TURN)
