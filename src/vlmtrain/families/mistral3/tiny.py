"""Tiny Mistral Small 3.1: Mistral text 64 x 2 layers, Pixtral vision 32 x 1 layer, patch 14 with the real
2x2 spatial merge (28 px per image token) at longest_edge 112 -> at most 4 x 4 image tokens plus a
break/end token per row; Mistral Small 3.1's template and special tokens."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer, vision_config

END_OF_TURN = "</s>"
LONGEST_EDGE, PATCH, MERGE = 112, 14, 2
# mistralai/Mistral-Small-3.1-24B-Instruct-2503's chat_template.json, same rendering, with its long
# default system prompt shortened (it would make every tiny sequence hundreds of tokens long):
# "<s>[SYSTEM_PROMPT]...[/SYSTEM_PROMPT][INST][IMG]question[/INST]answer</s>[INST]..."; the assistant turn
# is its first text block then EOS; no generation prompt (the model answers right after [/INST]).
CHAT_TEMPLATE = (
    "{%- set default_system_message = 'You are a helpful assistant.' %}{{- bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' %}"
    "{%- if messages[0]['content'] is string %}{%- set system_message = messages[0]['content'] %}"
    "{%- else %}{%- set system_message = messages[0]['content'][0]['text'] %}{%- endif %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set system_message = default_system_message %}{%- set loop_messages = messages %}"
    "{%- endif %}{{- '[SYSTEM_PROMPT]' + system_message + '[/SYSTEM_PROMPT]' }}"
    "{%- for message in loop_messages %}{%- if message['role'] == 'user' %}"
    "{%- if message['content'] is string %}{{- '[INST]' + message['content'] + '[/INST]' }}"
    "{%- else %}{{- '[INST]' }}{%- for block in message['content'] %}"
    "{%- if block['type'] == 'text' %}{{- block['text'] }}"
    "{%- elif block['type'] == 'image' or block['type'] == 'image_url' %}{{- '[IMG]' }}"
    "{%- else %}{{- raise_exception('Only text and image blocks are supported in message content!') }}"
    "{%- endif %}{%- endfor %}{{- '[/INST]' }}{%- endif %}"
    "{%- elif message['role'] == 'system' %}{{- '[SYSTEM_PROMPT]' + message['content'] + '[/SYSTEM_PROMPT]' }}"
    "{%- elif message['role'] == 'assistant' %}{%- if message['content'] is string %}"
    "{{- message['content'] + eos_token }}{%- else %}{{- message['content'][0]['text'] + eos_token }}"
    "{%- endif %}{%- else %}{{- raise_exception('Only user, system and assistant roles are supported!') }}"
    "{%- endif %}{%- endfor %}"
)
# Tekken's control tokens the template and processor use (ids differ from the real vocabulary's).
SPECIALS = [
    "<unk>",
    "<s>",
    "</s>",
    "[INST]",
    "[/INST]",
    "[IMG]",
    "<pad>",
    "[IMG_BREAK]",
    "[IMG_END]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
]


def build(out: Path) -> None:
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, PixtralProcessor
    from transformers.models.pixtral.image_processing_pixtral import PixtralImageProcessor

    # The template writes BOS itself, so the tokenizer adds none (as Gemma3's tiny one): a bare
    # processor(text=rendered) call then has exactly one BOS, as the collator's ids do.
    tok = train_tokenizer(SPECIALS, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    ip = PixtralImageProcessor(
        size={"longest_edge": LONGEST_EDGE}, patch_size={"height": PATCH, "width": PATCH}, resample=3
    )
    processor = PixtralProcessor(
        image_processor=ip,
        tokenizer=tok,
        patch_size=PATCH,
        spatial_merge_size=MERGE,
        chat_template=CHAT_TEMPLATE,
    )
    config = Mistral3Config(
        text_config=text_config(tok, model_type="mistral", head_dim=16, sliding_window=None),
        vision_config=vision_config(
            model_type="pixtral",
            head_dim=16,
            patch_size=PATCH,
            image_size=LONGEST_EDGE,
        ),
        image_token_index=tok.convert_tokens_to_ids("[IMG]"),
        spatial_merge_size=MERGE,
        vision_feature_layer=-1,
        tie_word_embeddings=False,
    )
    save(out, Mistral3ForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
