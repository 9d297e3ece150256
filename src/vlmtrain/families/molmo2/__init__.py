"""Molmo2 (allenai/Molmo2-4B, -8B; Molmo2ForConditionalGeneration, native in transformers): the
template writes `<|image|>` for each image; Molmo2Processor expands it to a low-resolution view and the
overlapping crops' high-resolution view, runs of `<im_patch>` rows closed by `<im_col>` (header rule in
tokens.py). The image processor exists only torchvision-backed. The model attends both ways among the
image tokens (`mm_token_type_ids`, required in training), so packing is refused. LoRA covers only the
language model. Tiny model: tiny.py.

Its template differs from a chat template in three ways, each handled here (`Molmo2Family`):
- It writes every image of the conversation before the first turn (`<|image|>`, or `Image 1<|image|>Image
  2<|image|>...`), counting them over all messages, so the turns before an answer render differently when
  a later turn holds an image. Turns are found on the record with its image parts moved into the first
  turn, which renders the same text (image parts write nothing where they stand).
- It closes no assistant turn (the next user turn opens with `<|im_end|>\\n`) and writes a history answer
  after " <|im_start|>assistant\\n", while its generation prompt is "<|im_start|>assistant\\n" (no space):
  the final answer follows the inference prompt and gets EOS (`<|im_end|>`) appended
  (`eos_after_final_answer`); an earlier answer is trained through the `<|im_end|>` that follows it
  (`history_stop`, the checkpoint's EOS).
- Molmo2Processor prepends BOS (`<|im_end|>` on the checkpoints) to a text that lacks it; the family
  writes it into the text itself, so counts and labels see the same tokens.
It takes no system turn (the template raises on any role but alternating user/assistant), so records with
one are refused (`supports_system`). Video is refused: frames carry timestamps and pooling of their own.

Template: unverified. The one copy found is a Hub download of allenai/Molmo2-4B's `chat_template.jinja`
committed to a third-party repository; transformers notes pending Hub changes to these templates (BOS),
so the tiny model carries that copy as the family's approximation (ORIGIN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import Family
from vlmtrain.families.molmo2 import tiny, tokens


def images_first(messages: list[dict]) -> list[dict]:
    """The messages with every image part moved to the start of the first turn (Molmo2's template renders
    them all before the first turn either way; this keeps each prefix of the turns rendering them too):

        [user [text A], assistant [B], user [image, text C]] -> [user [image, text A], assistant [B], user [text C]]
    """
    images = [p for m in messages for p in m["content"] if p["type"] == "image"]
    out = [{**m, "content": [p for p in m["content"] if p["type"] != "image"]} for m in messages]
    if out:
        out[0] = {**out[0], "content": images + out[0]["content"]}
    return out


@dataclass
class Molmo2Family(Family):
    """Turns found with images first, the final answer after the inference prompt, BOS in the text (see
    the module docstring)."""

    def render_spans(self, processor, record):
        messages = images_first(record["messages"])
        text = self.render(processor, messages, add_generation_prompt=False)
        turns = [k for k, m in enumerate(messages) if m["role"] == "assistant"]
        spans = [self._answer(processor, record, messages, text, k) for k in turns]
        if turns and turns[-1] == len(messages) - 1:  # the final answer follows the inference prompt
            start, end = spans[-1]
            prompt = self.render(processor, messages[: turns[-1]], add_generation_prompt=True)
            text = prompt + text[start:end]
            spans[-1] = (len(prompt), len(text))
        return text, spans

    def _answer(self, processor, record, messages, text, k) -> tuple[int, int]:
        """Answer k's text in the whole render: after the render of the turns before it and the opener the
        template writes for it (that of an empty answer), through the render of the turns up to it."""
        empty = {"role": "assistant", "content": []}
        opened = self.render(processor, [*messages[:k], empty], add_generation_prompt=False)
        through = self.render(processor, messages[: k + 1], add_generation_prompt=False)
        if not (through.startswith(opened) and text.startswith(through)):
            raise VlmTrainError(
                f"record {record.get('id')!r}: the {self.name} chat template does not render turns as a prefix "
                "of the whole conversation, so assistant turns cannot be located"
            )
        return len(opened), len(through)

    def assistant_spans(self, processor, record, prompt=False):
        text, spans = super().assistant_spans(processor, record, prompt)
        bos = processor.tokenizer.bos_token or processor.tokenizer.eos_token
        if bos and not text.startswith(bos):  # Molmo2Processor would prepend it
            text = bos + text
            spans = [(a + len(bos), b + len(bos)) for a, b in spans]
        return text, spans


FAMILY = Molmo2Family(
    name="molmo2",
    model_types=("molmo2",),
    image_token="<im_patch>",
    image_related_tokens=(
        "<im_col>",
        "<im_start>",
        "<low_res_im_start>",
        "<im_end>",
        "<|image|>",
        "<im_low>",
    ),
    fsdp_wrap_classes=("Molmo2DecoderLayer", "Molmo2VisionEncoderLayer"),
    model_class="Molmo2ForConditionalGeneration",
    processor_class="Molmo2Processor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    image_backends=("torchvision",),
    supports_flash_attention_2=False,  # the model refuses it: FA2 drops the bidirectional image mask
    supports_system=False,
    eos_after_final_answer=True,
    history_stop="<|im_end|>",
    packing=None,
    packing_refusal="Molmo2 attends both ways among the image tokens of a row (one block from mm_token_type_ids "
    "over the whole row), so a packed sample's image tokens would attend to another sample's",
    video_refusal="Molmo2Processor writes each sampled frame with its timestamp and pools frames 3 x 3 with its "
    "own video processor's sampling; vlmtrain has no exact rule for that yet",
)
