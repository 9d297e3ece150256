"""Qwen3.5, dense and MoE (`qwen3_5`, `qwen3_5_moe`): Qwen3-VL's processor, token layout and header rule
(see qwen3_vl/), a hybrid language model and a thinking chat template.

Language model: most decoder layers are Gated DeltaNet linear attention (`linear_attn.in_proj_qkv`,
`in_proj_z`, `in_proj_a`, `in_proj_b`, `out_proj`), every fourth one full attention (`self_attn.q_proj`
...); every layer is a `Qwen3_5DecoderLayer` (MoE: `Qwen3_5MoeDecoderLayer`, fused experts plus a
shared expert). LoRA therefore targets the full-attention and MLP projections and the linear-attention
input (qkv, z) and output projections, all inside `model.language_model`.

Labels: the template writes an (empty) think block only on assistant turns after the last user query,
and earlier assistant turns as bare content, so a turn renders differently once a later user turn
follows it; `assistant_span` therefore finds each turn in the whole conversation's render (see
there) instead of rendering growing prefixes. Records are rendered in the template's non-thinking mode
(`enable_thinking=False`, Qwen3.5's documented switch): the generation prompt then ends with the empty
think block, "<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n", so training and `predict` prompts agree
and the labels are exactly each answer plus <|im_end|>. Video parts are refused (not supported yet).
No packing: the linear-attention layers carry state across sample boundaries in a packed row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import LM_PROJ_NAMES, Family, render_template, to_template_messages
from vlmtrain.families.qwen3_5 import tiny
from vlmtrain.families.qwen3_vl import FAMILY as QWEN3_VL

LINEAR_ATTENTION_PROJ = ("in_proj_qkv", "in_proj_z", "out_proj")


@dataclass
class Qwen3_5Family(Family):
    def render(self, processor, messages, add_generation_prompt):
        return render_template(
            processor, to_template_messages(messages), add_generation_prompt, enable_thinking=False
        )

    def assistant_span(self, processor, record, text, k):
        """Assistant turn k starts after what the template writes before it (the render of
        messages[:k], a prefix of the whole render because no assistant turn in it follows the last
        user query) plus the part of the generation prompt the whole render repeats there
        ("<|im_start|>assistant\\n", and the empty think block on the last turns), and ends with its
        <|im_end|>: found in the whole conversation's render, where the template writes it as it will
        be trained, not in a render of the turns through it."""
        messages = record["messages"]
        before = self.render(processor, messages[:k], add_generation_prompt=False) if k else ""
        prompt = self.render(processor, messages[:k], add_generation_prompt=True)[len(before) :]
        if not text.startswith(before) or not prompt:
            raise VlmTrainError(
                f"record {record.get('id')!r}: the {self.name} chat template does not render the turns "
                f"before assistant turn {k} as a prefix of the whole conversation"
            )
        start = len(before) + len(os.path.commonprefix([prompt, text[len(before) :]]))
        end = text.find(self.tiny_end_of_turn, start)
        if end < 0:
            raise VlmTrainError(
                f"record {record.get('id')!r}: assistant turn {k} is not closed by {self.tiny_end_of_turn}"
            )
        return start, end + len(self.tiny_end_of_turn)


FAMILY = QWEN3_VL.derive(
    Qwen3_5Family,
    name="qwen3_5",
    model_types=("qwen3_5", "qwen3_5_moe"),
    fsdp_wrap_classes=(
        "Qwen3_5DecoderLayer",
        "Qwen3_5VisionBlock",
        "Qwen3_5MoeDecoderLayer",
        "Qwen3_5MoeVisionBlock",
    ),
    model_class="Qwen3_5ForConditionalGeneration",
    model_classes={"qwen3_5_moe": "Qwen3_5MoeForConditionalGeneration"},
    # Measured: with packing the tiny model's logits and gradients differ from the padded batch, and a
    # token's output changes when another sample precedes it in the row.
    packing=None,
    packing_refusal="its Gated DeltaNet linear-attention layers run one recurrent state along the whole "
    "row, so a packed sample would read the state left by the samples before it",
    lora_projections=LM_PROJ_NAMES + LINEAR_ATTENTION_PROJ,
    tiny=tiny.TINY,
)
