"""LLaVA-OneVision (llava-hf/llava-onevision-qwen2-*-ov-hf): `<image>` expanded by anyres-max tiling with
image_newline, or to the base tile + 1 for each image of a multi-image record (tokens.py).

The images of a record go to the processor as one nested list (`images_arg`), so it knows the record is
multi-image (`batch_num_images`, which the model reads too) exactly as the checkpoint was trained. pixel
values are (images, tiles, 3, H, W) with `image_sizes`: the model reads the real tile count from those,
so zero-padding tiles in collate is safe. The checkpoint's template writes the assistant role as
"<|im_start|>assistant \\n" but its generation prompt as "<|im_start|>assistant\\n"; training and
`predict` both use the former (see `render`), so a fine-tuned model is prompted as it was trained.
Tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import Family, render_template, to_template_messages
from vlmtrain.families.llava_next import FAMILY as LLAVA_NEXT
from vlmtrain.families.llava_onevision import tiny, tokens

_PROBE = "\x00"  # a text no template alters, marking where an assistant turn's content starts


@dataclass
class LlavaOnevisionFamily(Family):
    """The record's images as one sample of the processor's batch, and the assistant header as the
    template writes it before an answer (see the module docstring)."""

    def images_arg(self, images):
        return [images]  # one record: one sample of the processor's batch

    def render(self, processor, messages, add_generation_prompt):
        if not add_generation_prompt:
            return super().render(processor, messages, False)
        # The assistant header exactly as the template writes it before an assistant turn's content.
        probe = {"role": "assistant", "content": [{"type": "text", "text": _PROBE}]}
        text = render_template(processor, to_template_messages(messages) + [probe], False)
        return text[: text.index(_PROBE)]


FAMILY = LLAVA_NEXT.derive(
    LlavaOnevisionFamily,
    name="llava_onevision",
    model_types=("llava_onevision",),
    image_related_tokens=("<video>",),
    model_class="LlavaOnevisionForConditionalGeneration",
    processor_class="LlavaOnevisionProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
)
