"""PaliGemma: prefix-LM, no chat template. The processor builds `<image>*N <bos> prefix \\n` + `suffix <eos>`
and returns `token_type_ids` (0 prefix, 1 suffix) and `labels` (suffix + EOS only) itself.

A record maps to prefix = its system and user texts (joined by newlines), suffix = its one assistant
turn, which must come last; multi-turn and text-only records are refused (the processor needs images).
Counts: tokens.py (the image part; the prompt rewrite is not modelled, so `vlmtrain check` uses the
processor with stand-in images); tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.encoding.records import check_image_count, decode_images
from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import IGNORE_INDEX, Family
from vlmtrain.families.paligemma import tiny, tokens
from vlmtrain.families.real_template import NO_CHAT_TEMPLATE


def _text(message: dict) -> str:
    return "".join(p["text"] for p in message["content"] if p["type"] == "text")


@dataclass
class PaliGemmaFamily(Family):
    def prefix_and_suffix(self, record: dict) -> tuple[str, str]:
        msgs = record["messages"]
        roles = [m["role"] for m in msgs]
        rid = record.get("id")
        if roles.count("assistant") != 1 or roles[-1] != "assistant":
            raise VlmTrainError(
                f"record {rid!r}: PaliGemma trains on one prompt and one answer; found roles {roles}",
            )

        return "\n".join(t for t in map(_text, msgs[:-1]) if t), _text(msgs[-1])

    def encode_one(self, processor, record: dict, train_on_prompt: bool = False) -> dict:
        images = decode_images(record.get("images") or [], record.get("id"))
        if not images:
            raise VlmTrainError(
                f"record {record.get('id')!r}: PaliGemma needs at least one image; found none"
            )
        check_image_count(record, images)
        prefix, suffix = self.prefix_and_suffix(record)
        # One `<image>` per image at the start, as the processor expects (it expands each to N tokens).
        text = processor.image_token * len(images) + prefix
        out = dict(processor(text=[text], images=[images], suffix=[suffix], return_tensors="pt"))
        if train_on_prompt:
            labels = out["input_ids"].clone()
            labels[out["input_ids"] == processor.image_token_id] = IGNORE_INDEX
            out["labels"] = labels
        return out

    def encode_prompt(self, processor, record: dict) -> dict:
        """A prompt record (no assistant turn) -> `<image>*N <bos> prefix \\n`, ready to generate from."""
        images = decode_images(record.get("images") or [], record.get("id"))
        if not images:
            raise VlmTrainError(
                f"record {record.get('id')!r}: PaliGemma needs at least one image; found none"
            )
        check_image_count(record, images)
        roles = [m["role"] for m in record["messages"]]
        if "assistant" in roles:
            raise VlmTrainError(
                f"record {record.get('id')!r}: PaliGemma takes one prompt without earlier answers; found roles {roles}"
            )
        prefix = "\n".join(t for t in map(_text, record["messages"]) if t)
        text = processor.image_token * len(images) + prefix
        return dict(processor(text=[text], images=[images], return_tensors="pt"))

    def render(self, processor, messages, add_generation_prompt):
        raise VlmTrainError("PaliGemma has no chat template; records are encoded as prefix + suffix")

    @property
    def template_note(self) -> str:
        """google/paligemma-3b-pt-224 publishes no chat template: its processor builds the prompt."""
        return NO_CHAT_TEMPLATE


FAMILY = PaliGemmaFamily(
    name="paligemma",
    model_types=("paligemma",),
    image_token="<image>",
    fsdp_wrap_classes=("GemmaDecoderLayer", "Gemma2DecoderLayer", "SiglipEncoderLayer"),
    model_class="PaliGemmaForConditionalGeneration",
    processor_class="PaliGemmaProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    image_counts_size_independent=True,
    multi_turn=False,
    supports_text_only=False,
    packing=None,
    packing_refusal="it is a prefix-LM: image and prompt tokens attend to each other in both directions "
    "(token_type_ids), which per-sample causal masking of a packed row cannot express",
)
