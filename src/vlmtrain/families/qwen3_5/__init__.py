"""Qwen3.5, dense and MoE (`qwen3_5`, `qwen3_5_moe`): Qwen3-VL's processor, token layout and header rule
(see qwen3_vl/), a hybrid language model and a thinking chat template.

Language model: most decoder layers are Gated DeltaNet linear attention (`linear_attn.in_proj_qkv`,
`in_proj_z`, `in_proj_a`, `in_proj_b`, `out_proj`), every fourth one full attention (`self_attn.q_proj`
...); every layer is a `Qwen3_5DecoderLayer` (MoE: `Qwen3_5MoeDecoderLayer`, fused experts plus a
shared expert). LoRA therefore targets the full-attention and MLP projections and the linear-attention
input (qkv, z) and output projections, all inside `model.language_model`.

Labels: the template writes an (empty) think block only on assistant turns after the last user query,
and earlier assistant turns as bare content, so a turn renders differently once a later user turn
follows it; each turn is therefore found in the whole conversation's render
(`base.WholeConversationFamily`, the one mechanism Gemma 4 uses too) instead of rendering growing
prefixes, and the final answer follows the generation prompt of its history. Records are rendered in
the template's non-thinking mode (`template_kwargs`: `enable_thinking=False`, Qwen3.5's documented switch): the generation prompt then ends with the empty
think block, "<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n", so training and `predict` prompts agree
and the labels are exactly each answer plus <|im_end|>. Videos: Qwen3-VL's rule (the same processor class
and video processor, `<t seconds>` per temporal patch).
No packing: the linear-attention layers carry state across sample boundaries in a packed row.
"""

from __future__ import annotations

from vlmtrain.families.base import LM_PROJ_NAMES, WholeConversationFamily
from vlmtrain.families.qwen3_5 import tiny
from vlmtrain.families.qwen3_vl import FAMILY as QWEN3_VL
from vlmtrain.families.real_template import RealTemplate

LINEAR_ATTENTION_PROJ = ("in_proj_qkv", "in_proj_z", "out_proj")


FAMILY = QWEN3_VL.derive(
    WholeConversationFamily,
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
    # the 9B and 35B-A3B files are not held; the 4B's (same series) is
    template=RealTemplate("Qwen/Qwen3.5-4B", "llama.cpp models/templates; Liger-Kernel"),
    template_kwargs={"enable_thinking": False},
    tiny=tiny.TINY,
)
