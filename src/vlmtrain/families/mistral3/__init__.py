"""Mistral Small 3.1/3.2 (Mistral3ForConditionalGeneration, Pixtral vision tower, PixtralProcessor): the
template writes one `[IMG]` per image; the processor expands it to rows of `[IMG]` closed by `[IMG_BREAK]`
(the last by `[IMG_END]`), 28 px per token after a 2x2 spatial merge. PixtralProcessor needs torchvision.
Header rule: tokens.py; tiny model: tiny.py.

The tiny model carries mistralai/Mistral-Small-3.1-24B-Instruct-2503's published chat_template.json
template (vlmtrain/real_models/). It writes an assistant turn as `content` when that is a string, else
as `content[0]['text']` only, so assistant turns are passed as one string (`string_content_roles`). Its
system branch tests `messages[0] is string` (the message, not its content: never true), so it always
reads `messages[0]['content'][0]['text']`: a string system turn raises and a second text part would be
lost, so system turns are passed as one text part holding all their texts (`one_part_roles`). With no
system turn it writes its default system prompt, which holds the date (`strftime_now("%Y-%m-%d")`:
the run's template_date)."""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.mistral3 import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = Family(
    name="mistral3",
    model_types=("mistral3",),
    image_token="[IMG]",
    image_related_tokens=("[IMG_BREAK]", "[IMG_END]"),
    fsdp_wrap_classes=("MistralDecoderLayer", "PixtralAttentionLayer"),
    model_class="Mistral3ForConditionalGeneration",
    processor_class="PixtralProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    needs_torchvision=True,
    template=RealTemplate(
        "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
        "its chat_template.json: transformers' processor test; a training script's copy",
    ),
    string_content_roles=("assistant",),
    one_part_roles=("system",),
)
